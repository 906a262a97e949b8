//! Mail between two peers: it arrives once however often it is sent, and it waits in the
//! sender's durable outbox, across a restart of the sender's store, for a receiver that is not
//! up yet.

use std::sync::Arc;

use autonet_agents::mail::envelope::seal;
use autonet_agents::mail::{MAIL_SERVICE, MailAck, Sent};
use autonet_agents::{Inbox, Mailer};
use std::time::Duration;

use autonet_p2p::testnet::poll_until;
use autonet_p2p::{Keypair, RpcResponse};
use autonet_store::Store;

use crate::node::{DEADLINE, Node, config, message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_mail_arrives_once_however_often_it_is_sent() -> anyhow::Result<()> {
    let (da, db) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = Node::start(Keypair::generate_ed25519(), vec![], da.path()).await?;
    let b = Node::start(Keypair::generate_ed25519(), a.peer.addrs.clone(), db.path()).await?;
    let bob = b.addr("bob");
    let sent = a.mailer.send(&bob, message("m1", "alice", "hello")).await?;
    assert!(matches!(sent, Sent::Queued(_)), "{sent:?}");
    let got = b.wait_inbox("bob", 1).await;
    assert_eq!(got[0].1.source, a.addr("alice").to_string());
    assert_eq!(got[0].1.data["text"], "hello");
    a.wait_outbox_empty().await;
    // The sender retries (a crash before it recorded the acknowledgement): same id, queued
    // and acknowledged again, kept once.
    a.mailer.send(&bob, message("m1", "alice", "hello")).await?;
    a.wait_outbox_empty().await;
    // The same signed envelope delivered again by hand: answered as a duplicate.
    let mut m = message("m1", "alice", "hello");
    m.source = a.addr("alice").to_string();
    m.target = "bob".into();
    let envelope = seal(&a.peer.keypair, &a.addr("alice"), &bob, &m)?;
    let answer = a
        .peer
        .client
        .rpc(b.peer.peer_id, MAIL_SERVICE, envelope)
        .await?;
    let RpcResponse::Ok { body } = answer else {
        panic!("{answer:?}")
    };
    let ack: MailAck = ciborium::from_reader(&body[..])?;
    assert_eq!(ack, MailAck::Duplicate);
    assert_eq!(b.inbox.count("bob")?, 1);
    // A local recipient gets it straight away, without the outbox.
    let sent = a
        .mailer
        .send(&a.addr("carol"), message("m2", "alice", "hi"))
        .await?;
    assert!(matches!(sent, Sent::Local(_)), "{sent:?}");
    assert_eq!(a.inbox.count("carol")?, 1);
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_survives_a_restart_and_reaches_a_receiver_started_later() -> anyhow::Result<()>
{
    let (da, db) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = Node::start(Keypair::generate_ed25519(), vec![], da.path()).await?;
    let b_key = Keypair::generate_ed25519();
    let bob = autonet_agents::AgentAddr::remote(b_key.public().to_peer_id(), "bob")?;
    a.mailer
        .send(&bob, message("m1", "alice", "while you were out"))
        .await?;
    assert_eq!(a.mailer.outbox_len().await?, 1);
    // The sender's mail stops and its store closes (as in a crash); nothing was delivered.
    let Node {
        peer,
        store_path,
        inbox,
        mailer,
        directory,
    } = a;
    mailer.stop().await;
    directory.stop();
    drop((mailer, inbox));
    // A blocking store call of the stopped tasks may still hold the database for a moment.
    let store = poll_until(DEADLINE, Duration::from_millis(20), || async {
        Store::open(&store_path).ok()
    })
    .await
    .expect("the store reopens");
    let store = Arc::new(store);
    let inbox = Inbox::new(store.clone());
    let mailer = Mailer::start(
        peer.client.clone(),
        peer.keypair.clone(),
        store,
        Arc::new(inbox),
        config(),
    )
    .await?;
    assert_eq!(mailer.outbox_len().await?, 1);
    // The receiver comes up now; the reopened outbox delivers.
    let b = Node::start(b_key, peer.addrs.clone(), db.path()).await?;
    let got = b.wait_inbox("bob", 1).await;
    assert_eq!(got[0].1.data["text"], "while you were out");
    crate::node::poll_empty(&mailer).await;
    mailer.stop().await;
    peer.stop().await;
    b.stop().await;
    Ok(())
}
