//! Constitution documents over the overlay: every node answers [`CONSTITUTION_SERVICE`] with
//! the documents it holds (the shipped one), by content id; [`fetch`] asks a peer and adopts the
//! answer only if it hashes to the id asked for and decodes within the bounds (a peer that
//! serves other bytes is penalised and nothing is adopted).

use autonet_actors::protocol::constitution::document::{DEFAULT_DOCUMENT, MAX_DOCUMENT_BYTES};
use autonet_actors::protocol::constitution::{Constitution, ConstitutionId, content_id};
use autonet_p2p::{Client, P2pError, PeerAction, PeerId, RpcResponse};

/// The RPC service name; the request body is the 32-byte content id.
pub const CONSTITUTION_SERVICE: &str = "constitution/1";

/// Serves `documents` (their bytes) by content id from now on.
pub async fn serve(client: &Client, documents: Vec<Vec<u8>>) -> Result<(), P2pError> {
    let held: Vec<(ConstitutionId, Vec<u8>)> =
        documents.into_iter().map(|d| (content_id(&d), d)).collect();
    let (tx, mut requests) = tokio::sync::mpsc::channel(16);
    client.serve_rpc(CONSTITUTION_SERVICE, tx, None).await?;
    let client = client.clone();
    tokio::spawn(async move {
        while let Some(rpc) = requests.recv().await {
            let found = held
                .iter()
                .find(|(id, _)| id.as_slice() == rpc.body.as_slice());
            let response = match found {
                Some((_, doc)) => RpcResponse::Ok { body: doc.clone() },
                None => RpcResponse::Error {
                    reason: "no constitution with that id here".into(),
                },
            };
            let _ = client.answer_rpc(rpc.id, response).await;
        }
    });
    Ok(())
}

/// Serves the shipped document.
pub async fn serve_shipped(client: &Client) -> Result<(), P2pError> {
    serve(client, vec![DEFAULT_DOCUMENT.as_bytes().to_vec()]).await
}

/// Asks `peer` for the constitution `id`; a document that does not hash to `id` or does not
/// decode is an error (and lowers the peer's score).
pub async fn fetch(
    client: &Client,
    peer: PeerId,
    id: &ConstitutionId,
) -> anyhow::Result<Constitution> {
    let response = client.rpc(peer, CONSTITUTION_SERVICE, id.to_vec()).await?;
    let body = match response {
        RpcResponse::Ok { body } => body,
        RpcResponse::Error { reason } | RpcResponse::Unavailable { reason } => {
            anyhow::bail!("{peer} has no constitution {}: {reason}", hex::encode(id))
        }
        other => anyhow::bail!(
            "{peer} did not serve constitution {}: {other:?}",
            hex::encode(id)
        ),
    };
    if body.len() > MAX_DOCUMENT_BYTES {
        let _ = client.penalize(peer, PeerAction::Malformed).await;
        anyhow::bail!(
            "{peer} sent a {} byte constitution, over the bound",
            body.len()
        );
    }
    match Constitution::decode_verified(&body, id) {
        Ok(doc) => Ok(doc),
        Err(e) => {
            let _ = client.penalize(peer, PeerAction::Lied).await;
            Err(anyhow::anyhow!("{peer} sent a bad constitution: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use autonet_p2p::Keypair;
    use autonet_p2p::testnet::{Peer, accept_all, local_config};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_peer_serves_the_shipped_constitution_and_a_lie_is_refused() {
        let a = Peer::start(
            local_config(Keypair::generate_ed25519(), vec![]),
            accept_all(),
        )
        .await
        .unwrap();
        let boot = a.addrs[0].clone();
        let b = Peer::start(
            local_config(Keypair::generate_ed25519(), vec![boot]),
            accept_all(),
        )
        .await
        .unwrap();
        serve_shipped(&a.client).await.unwrap();
        let id = content_id(DEFAULT_DOCUMENT.as_bytes());
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        let doc = loop {
            match fetch(&b.client, a.peer_id, &id).await {
                Ok(doc) => break doc,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!("not yet: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(doc, Constitution::shipped().unwrap());
        // An id the peer does not hold: a clear error.
        let err = fetch(&b.client, a.peer_id, &[7; 32]).await.unwrap_err();
        assert!(err.to_string().contains("has no constitution"), "{err}");
        // A peer that answers the id with other bytes (a raw service that ignores the id):
        // refused with the hash error, nothing adopted.
        let (tx, mut requests) = tokio::sync::mpsc::channel(4);
        a.client
            .serve_rpc(CONSTITUTION_SERVICE, tx, None)
            .await
            .unwrap();
        let liar = a.client.clone();
        tokio::spawn(async move {
            while let Some(rpc) = requests.recv().await {
                let body = DEFAULT_DOCUMENT
                    .replace("version = 1", "version = 2")
                    .into_bytes();
                let _ = liar.answer_rpc(rpc.id, RpcResponse::Ok { body }).await;
            }
        });
        let err = fetch(&b.client, a.peer_id, &id).await.unwrap_err();
        assert!(err.to_string().contains("not to the expected id"), "{err}");
        a.stop().await;
        b.stop().await;
    }
}
