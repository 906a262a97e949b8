//! Hostile envelopes: garbage, oversized, forged and replayed ones are refused, nothing reaches
//! the inbox, and the peer that delivered them is penalized (a forger is banned at once).

use std::time::Duration;

use autonet_agents::AgentAddr;
use autonet_agents::mail::envelope::{MAX_ENVELOPE_BYTES, seal};
use autonet_agents::mail::{MAIL_SERVICE, MailAck};
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
use autonet_p2p::{Client, Keypair, PeerId, RpcResponse};

use crate::node::{DEADLINE, Node, message};

/// Delivers `bytes` to `to`'s mail service; the receiver's answer, if it came.
async fn deliver(from: &Client, to: PeerId, bytes: Vec<u8>) -> Option<MailAck> {
    match from.rpc(to, MAIL_SERVICE, bytes).await {
        Ok(RpcResponse::Ok { body }) => ciborium::from_reader(&body[..]).ok(),
        _ => None,
    }
}

async fn attacker(b: &Node) -> anyhow::Result<Peer> {
    let peer = Peer::start(
        local_config(Keypair::generate_ed25519(), b.peer.addrs.clone()),
        accept_all(),
    )
    .await?;
    peer.client.dial(b.peer.addrs[0].clone()).await?;
    Ok(peer)
}

fn refused(ack: Option<MailAck>, what: &str) {
    assert!(matches!(ack, Some(MailAck::Refused(_))), "{what}: {ack:?}");
}

async fn wait_banned(b: &Node, peer: PeerId) {
    let who = peer.to_string();
    poll_until(DEADLINE, Duration::from_millis(100), || async {
        let status = b.peer.client.status().await.ok()?;
        status.bans.iter().any(|x| x.peer == who).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{who} was not banned"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_envelopes_are_refused_and_their_peers_penalized() -> anyhow::Result<()> {
    let (da, db) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = Node::start(Keypair::generate_ed25519(), vec![], da.path()).await?;
    let b = Node::start(Keypair::generate_ed25519(), a.peer.addrs.clone(), db.path()).await?;
    let bob = b.addr("bob");

    // Garbage and oversized bytes: refused, the sender's score drops.
    let junk = attacker(&b).await?;
    let ack = deliver(&junk.client, b.peer.peer_id, b"\xff\x00garbage".to_vec()).await;
    refused(ack, "garbage");
    let ack = deliver(
        &junk.client,
        b.peer.peer_id,
        vec![0; MAX_ENVELOPE_BYTES + 1],
    )
    .await;
    refused(ack, "oversized");
    let penalized = poll_until(DEADLINE, Duration::from_millis(100), || async {
        let score = b.peer.client.peer_score(junk.peer_id).await.ok()??;
        (score < 0.0).then_some(score)
    })
    .await;
    assert!(penalized.is_some(), "the sender of garbage kept its score");

    // A forged signature: an envelope in the attacker's name signed with another key.
    let forger = attacker(&b).await?;
    let from = AgentAddr::remote(forger.peer_id, "eve")?;
    let mut m = message("f1", &from.to_string(), "forged");
    m.target = "bob".into();
    let forged = seal(&Keypair::generate_ed25519(), &from, &bob, &m)?;
    refused(
        deliver(&forger.client, b.peer.peer_id, forged).await,
        "forged",
    );
    wait_banned(&b, forger.peer_id).await;

    // A replay: a's genuine envelope delivered by another peer (wrong sender).
    let replayer = attacker(&b).await?;
    let alice = a.addr("alice");
    let mut m = message("r1", &alice.to_string(), "replayed");
    m.target = "bob".into();
    let genuine = seal(&a.peer.keypair, &alice, &bob, &m)?;
    refused(
        deliver(&replayer.client, b.peer.peer_id, genuine).await,
        "replayed",
    );
    wait_banned(&b, replayer.peer_id).await;

    // Mis-addressed: a's genuine envelope for a third peer, delivered to b by a.
    let elsewhere = AgentAddr::remote(junk.peer_id, "bob")?;
    let misaddressed = seal(&a.peer.keypair, &alice, &elsewhere, &m)?;
    refused(
        deliver(&a.peer.client, b.peer.peer_id, misaddressed).await,
        "mis-addressed",
    );

    assert_eq!(b.inbox.count("bob")?, 0);
    for p in [junk, forger, replayer] {
        p.stop().await;
    }
    a.stop().await;
    b.stop().await;
    Ok(())
}
