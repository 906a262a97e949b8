//! Application RPCs between two in-process peers: a registered service answers; an oversized
//! request is refused by the codec without harming the server; a service nobody registered is
//! reported as such at once; a service with its own budget counts requests apart from the
//! node's; bad input penalised three times bans the sender (score below the ban threshold).

use std::time::Duration;

use autonet_p2p::rpc::MAX_RPC_REQUEST_BYTES;
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
use autonet_p2p::{Client, InboundRpc, Keypair, RequestBudget, RpcResponse};
use prometheus_client::registry::Registry;
use tokio::sync::mpsc;

/// Registers `service` on `server` and answers each of its requests with `answer`'s response
/// (and a penalty of the sender when it says so).
async fn serve(
    server: &Client,
    service: &str,
    budget: Option<RequestBudget>,
    answer: fn(&InboundRpc) -> (RpcResponse, bool),
) -> anyhow::Result<()> {
    let (tx, mut requests) = mpsc::channel::<InboundRpc>(16);
    server.serve_rpc(service, tx, budget).await?;
    let app = server.clone();
    tokio::spawn(async move {
        while let Some(rpc) = requests.recv().await {
            let (response, penalize) = answer(&rpc);
            let _ = app.answer_rpc(rpc.id, response).await;
            if penalize {
                let _ = app
                    .penalize(rpc.peer, autonet_p2p::PeerAction::Malformed)
                    .await;
            }
        }
    });
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_answers_refuses_oversize_and_bans_after_penalties() -> anyhow::Result<()> {
    let (server, mut events, event_loop) = autonet_p2p::new(
        local_config(Keypair::generate_ed25519(), vec![]),
        &mut Registry::default(),
    )?;
    tokio::spawn(event_loop.run());
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let echo = |rpc: &InboundRpc| {
        let body = rpc.body.iter().rev().copied().collect();
        (RpcResponse::Ok { body }, false)
    };
    serve(&server, "echo", None, echo).await?;
    let refuse = |_: &InboundRpc| {
        let reason = "bad input".to_string();
        (RpcResponse::Error { reason }, true)
    };
    serve(&server, "strict", None, refuse).await?;
    // Two requests per peer, never refilled.
    let budget = RequestBudget {
        burst: 2,
        per_second: 0,
    };
    serve(&server, "budgeted", Some(budget), echo).await?;
    let server_addr = server.listen_addrs().await?.remove(0);
    let client = Peer::start(
        local_config(Keypair::generate_ed25519(), vec![server_addr.clone()]),
        accept_all(),
    )
    .await?;
    let sid = server.peer_id();
    client.client.dial(server_addr.clone()).await?;

    let echo = client.client.rpc(sid, "echo", b"abc".to_vec()).await?;
    assert_eq!(
        echo,
        RpcResponse::Ok {
            body: b"cba".to_vec()
        }
    );
    let other = client.client.rpc(sid, "nope", Vec::new()).await?;
    assert!(
        matches!(other, RpcResponse::Unavailable { .. }),
        "{other:?}"
    );

    // The service's own budget: two answers, then RateLimited; the node's budget is untouched.
    for _ in 0..2 {
        let answer = client.client.rpc(sid, "budgeted", b"ab".to_vec()).await?;
        assert!(matches!(answer, RpcResponse::Ok { .. }), "{answer:?}");
    }
    let over = client.client.rpc(sid, "budgeted", b"ab".to_vec()).await?;
    assert_eq!(over, RpcResponse::RateLimited);
    let echo = client.client.rpc(sid, "echo", b"ab".to_vec()).await?;
    assert!(matches!(echo, RpcResponse::Ok { .. }), "{echo:?}");

    let huge = vec![0u8; usize::try_from(MAX_RPC_REQUEST_BYTES)? + 1];
    assert!(client.client.rpc(sid, "echo", huge).await.is_err());
    // The server still answers afterwards.
    poll_until(
        Duration::from_secs(60),
        Duration::from_millis(250),
        || async {
            let _ = client.client.dial(server_addr.clone()).await;
            matches!(
                client.client.rpc(sid, "echo", b"x".to_vec()).await,
                Ok(RpcResponse::Ok { .. })
            )
            .then_some(())
        },
    )
    .await
    .expect("server answers after an oversized request");

    for _ in 0..3 {
        let _ = client.client.rpc(sid, "strict", Vec::new()).await;
    }
    let me = client.peer_id.to_string();
    poll_until(
        Duration::from_secs(60),
        Duration::from_millis(250),
        || async {
            server
                .status()
                .await
                .is_ok_and(|s| s.bans.iter().any(|b| b.peer == me))
                .then_some(())
        },
    )
    .await
    .expect("the penalised client is banned");
    client.stop().await;
    let _ = server.shutdown().await;
    Ok(())
}
