//! A real adversarial peer against an honest victim with an observer behind it.
//!
//! Topology: adversary → victim ← observer, and a forger → victim. The adversary is an autonet
//! peer that publishes correctly signed
//! junk: bytes that are not CBOR, and an envelope far over the size limit. The forger is a raw
//! libp2p peer whose messages claim the victim's observer as author and carry no signature. The
//! victim must reject all of it before relaying, so the observer, connected only through the
//! victim, never sees any; both attackers' scores fall, they are banned, and the adversary's
//! redials are refused until the ban expires. A third attacker (`bad_signer`) writes gossipsub
//! frames by hand whose signatures do not verify.

use std::time::Duration;

use autonet_p2p::envelope::{ENVELOPE_VERSION, Envelope, MAX_ENVELOPE_BYTES};
use autonet_p2p::testnet::{Peer, Received, accept_all, local_config, poll_until};
use autonet_p2p::{DhtMode, GossipTopic, Keypair, NetworkConfig, Status};
use libp2p::Multiaddr;
use serde::Serialize;

use crate::bad_signer::{BadSigner, Forgery};
use crate::forger::{Forger, ForgerCommand};

const BAN: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(250);

#[derive(Serialize)]
struct RawEnvelope {
    v: u16,
    at: u64,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
}

fn oversized_envelope() -> Vec<u8> {
    let raw = RawEnvelope {
        v: ENVELOPE_VERSION,
        at: 0,
        body: vec![0xab; MAX_ENVELOPE_BYTES + 10_000],
    };
    let mut out = Vec::new();
    ciborium::into_writer(&raw, &mut out).unwrap();
    out
}

async fn status(peer: &Peer) -> Status {
    peer.client.status().await.unwrap()
}

/// A local config for a DHT client dialling `victim_addr`: the victim's routing table (the only
/// way attackers and the observer could learn of each other) never lists it.
fn dht_client_config(victim_addr: &Multiaddr) -> NetworkConfig {
    let mut config = local_config(Keypair::generate_ed25519(), vec![victim_addr.clone()]);
    config.dht_mode = DhtMode::Client;
    config
}

/// Starts the victim (bans last [`BAN`]) and an observer connected only through it; returns
/// the victim, its address and the observer.
async fn victim_and_observer() -> anyhow::Result<(Peer, Multiaddr, Peer)> {
    let mut victim_config = local_config(Keypair::generate_ed25519(), vec![]);
    victim_config.bans.ban_duration = BAN;
    let victim = Peer::start(victim_config, accept_all()).await?;
    let victim_addr = victim.tcp_addr().unwrap();
    let observer = Peer::start(dht_client_config(&victim_addr), accept_all()).await?;
    Ok((victim, victim_addr, observer))
}

/// Waits until the victim sees `peers` peers subscribed to `topic`.
async fn wait_until_subscribed(victim: &Peer, topic: GossipTopic, peers: usize) {
    let subscribed = poll_until(Duration::from_secs(60), POLL, || async {
        let s = status(victim).await;
        let t = s.topics.iter().find(|t| t.name == topic.name())?;
        (t.subscribed_peers >= peers).then_some(())
    })
    .await;
    assert!(
        subscribed.is_some(),
        "victim never saw {peers} peers subscribe to {}",
        topic.name()
    );
}

/// Publishes an honest marker from `victim` and waits until `observer` (connected only through
/// the victim) has it, so the relay path works; returns everything the observer received, for the
/// caller to check that nothing from the adversary is among it.
async fn honest_marker_crosses(
    victim: &Peer,
    observer: &Peer,
    topic: GossipTopic,
) -> Vec<Received> {
    let marker = b"honest marker".to_vec();
    let published = poll_until(Duration::from_secs(30), POLL, || async {
        victim.client.publish(topic, marker.clone()).await.ok()
    })
    .await;
    assert!(published.is_some());
    let seen = poll_until(Duration::from_secs(60), POLL, || async {
        observer.inbox.contains_body(&marker).then_some(())
    })
    .await;
    assert!(seen.is_some(), "observer never got the honest marker");
    observer.inbox.snapshot()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_is_not_relayed_and_the_adversary_is_banned() -> anyhow::Result<()> {
    let (victim, victim_addr, observer) = victim_and_observer().await?;
    let adversary = Peer::start(dht_client_config(&victim_addr), accept_all()).await?;
    let forger = Forger::start(victim_addr.clone(), observer.peer_id)?;

    let topic = GossipTopic::Tasks;
    // The victim sees the observer, the adversary and the forger subscribed.
    wait_until_subscribed(&victim, topic, 3).await;

    let junk: Vec<Vec<u8>> = vec![
        b"\xff\xfe\xfd definitely not CBOR".to_vec(),
        b"\xa1\x61v".to_vec(), // truncated map
        oversized_envelope(),
    ];
    for data in &junk {
        let sent = poll_until(Duration::from_secs(30), POLL, || async {
            adversary
                .client
                .publish_bytes(topic, data.clone())
                .await
                .ok()
        })
        .await;
        assert!(sent.is_some(), "adversary could not publish");
    }
    let forged = b"forged: claims the observer wrote it".to_vec();
    for i in 0..3u8 {
        let mut body = forged.clone();
        body.push(i);
        forger
            .commands
            .send(ForgerCommand::Publish(topic, body))
            .await?;
    }

    // Both attackers are banned once their scores fall below the threshold.
    let banned = poll_until(Duration::from_secs(60), POLL, || async {
        let s = status(&victim).await;
        let is_banned = |p: &libp2p::PeerId| s.bans.iter().any(|b| b.peer == p.to_string());
        (is_banned(&adversary.peer_id) && is_banned(&forger.peer_id)).then_some(s)
    })
    .await;
    let Some(banned) = banned else {
        let s = status(&victim).await;
        let a = victim.client.peer_score(adversary.peer_id).await?;
        let f = victim.client.peer_score(forger.peer_id).await?;
        panic!("attackers were not banned: scores {a:?} {f:?}, victim {s:#?}");
    };
    assert!(
        banned.counters.messages_invalid >= 2,
        "{:?}",
        banned.counters
    );
    let score = victim.client.peer_score(adversary.peer_id).await?;
    assert!(
        score.is_some_and(|s| s < -80.0),
        "adversary score {score:?}"
    );
    assert!(
        !banned
            .connected_peers
            .contains(&adversary.peer_id.to_string())
    );

    // Redials during the ban are refused.
    let refused = poll_until(Duration::from_secs(15), POLL, || async {
        let _ = adversary.client.dial(victim_addr.clone()).await;
        let s = status(&victim).await;
        (s.counters.connections_refused_banned >= 1
            && !s.connected_peers.contains(&adversary.peer_id.to_string()))
        .then_some(())
    })
    .await;
    assert!(
        refused.is_some(),
        "banned adversary's redial was not refused"
    );

    // An honest message from the victim reaches the observer; no junk ever did.
    for received in honest_marker_crosses(&victim, &observer, topic).await {
        assert!(!junk.contains(&received.body), "junk reached the observer");
        assert!(
            !received.body.starts_with(b"forged"),
            "forged message reached the observer"
        );
    }
    let observer_status = status(&observer).await;
    assert_eq!(observer_status.counters.messages_invalid, 0);
    for attacker in [adversary.peer_id, forger.peer_id] {
        assert!(
            !observer_status
                .connected_peers
                .contains(&attacker.to_string())
        );
    }

    // After the ban period the adversary may connect again.
    let readmitted = poll_until(
        BAN + Duration::from_secs(60),
        Duration::from_millis(500),
        || async {
            let _ = adversary.client.dial(victim_addr.clone()).await;
            let s = status(&victim).await;
            s.connected_peers
                .contains(&adversary.peer_id.to_string())
                .then_some(())
        },
    )
    .await;
    assert!(
        readmitted.is_some(),
        "adversary still refused after the ban period"
    );

    forger.stop().await;
    adversary.stop().await;
    observer.stop().await;
    victim.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incompatible_protocol_version_is_disconnected() -> anyhow::Result<()> {
    let host = Peer::start(
        local_config(Keypair::generate_ed25519(), vec![]),
        accept_all(),
    )
    .await?;
    let addr = host.tcp_addr().unwrap();
    let mut old = local_config(Keypair::generate_ed25519(), vec![addr]);
    old.protocol_version = "/autonet/0.9.0".to_string();
    let old = Peer::start(old, accept_all()).await?;
    // Whichever side reads the other's identify first bans it and hangs up (the other side may
    // never get to read the identify), so the check is: a mismatch was seen and the two stay apart.
    let dropped = poll_until(Duration::from_secs(60), POLL, || async {
        let (h, o) = (status(&host).await, status(&old).await);
        (h.counters.version_mismatches + o.counters.version_mismatches >= 1
            && !h.connected_peers.contains(&old.peer_id.to_string())
            && !o.connected_peers.contains(&host.peer_id.to_string()))
        .then_some(())
    })
    .await;
    assert!(
        dropped.is_some(),
        "peer with another protocol version stayed connected"
    );
    old.stop().await;
    host.stop().await;
    Ok(())
}

/// Gossip whose signature does not verify (payload changed after signing, another author
/// claimed, garbage signature), written on a raw `/meshsub/1.1.0` stream by a peer that is
/// otherwise an ordinary gossipsub member: the victim drops it before its application and its
/// mesh ever see it, the observer behind the victim never gets it, and the signer's score falls
/// until it is banned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badly_signed_gossip_is_not_relayed_and_its_sender_is_banned() -> anyhow::Result<()> {
    let (victim, victim_addr, observer) = victim_and_observer().await?;
    let signer = BadSigner::start(victim_addr, victim.peer_id)?;

    let topic = GossipTopic::Tasks;
    wait_until_subscribed(&victim, topic, 2).await;
    let score_before = victim.client.peer_score(signer.peer_id).await?;
    assert!(
        score_before.is_some_and(|s| s >= 0.0),
        "the signer starts in good standing: {score_before:?}"
    );

    // Well-formed envelopes that the victim's application accepts: only the signature is wrong.
    let forgeries = [
        Forgery::TamperedPayload,
        Forgery::ImpersonatedAuthor(observer.peer_id),
        Forgery::GarbageSignature,
    ];
    let mut batch = Vec::new();
    for (i, how) in forgeries.into_iter().enumerate() {
        let body = format!("badly signed #{i}: {how:?}").into_bytes();
        batch.push((how, topic, Envelope::new(body).encode()?));
    }
    signer.send(batch).await?;

    let banned = poll_until(Duration::from_secs(60), POLL, || async {
        let s = status(&victim).await;
        s.bans
            .iter()
            .any(|b| b.peer == signer.peer_id.to_string())
            .then_some(s)
    })
    .await;
    let Some(banned) = banned else {
        let score = victim.client.peer_score(signer.peer_id).await?;
        panic!("the bad signer was not banned: score {score:?}");
    };
    let score = victim.client.peer_score(signer.peer_id).await?;
    assert!(score.is_some_and(|s| s < -80.0), "signer score {score:?}");
    assert!(
        !banned.connected_peers.contains(&signer.peer_id.to_string()),
        "banned signer still connected"
    );
    assert_eq!(
        banned.counters.messages_invalid, 0,
        "nothing badly signed reached the victim's application"
    );

    // The path victim → observer works, and carried none of the forgeries.
    for received in honest_marker_crosses(&victim, &observer, topic).await {
        assert!(
            !received.body.starts_with(b"badly signed"),
            "a badly signed message reached the observer"
        );
    }
    assert!(
        !victim
            .inbox
            .snapshot()
            .iter()
            .any(|r| r.body.starts_with(b"badly signed")),
        "a badly signed message reached the victim's application"
    );

    signer.stop().await;
    observer.stop().await;
    victim.stop().await;
    Ok(())
}
