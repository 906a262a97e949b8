//! The peer manager: Kademlia's join connects every peer of a small network to every other, and
//! gossipsub's streams keep those connections alive; the peer manager prunes them back to the
//! target without cutting anybody off, and gossip still reaches every peer.

use std::time::Duration;

use autonet_p2p::testnet::{Testnet, TestnetOptions, poll_until};
use autonet_p2p::{GossipTopic, PeerTargets};

const PEERS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excess_connections_are_pruned_and_gossip_still_reaches_everyone() -> anyhow::Result<()> {
    // Low enough that every peer must prune (joining connects it to ~12), high enough that the
    // pruned overlay stays connected: pruning is local, so with at most 3 per peer among 13 the
    // graph sometimes split in two, and no walk runs here to heal it. Below 3, a peer dials back.
    let targets = PeerTargets {
        low_watermark: 3,
        target: 4,
        high_watermark: 6,
        grace: Duration::from_secs(1),
    };
    let mut options = TestnetOptions::new(PEERS);
    options.peer_targets = targets.clone();
    // No random walk during the test: each would reconnect a peer to most of the others.
    options.random_walk_interval = Some(Duration::from_secs(3600));
    let net = Testnet::start(options).await?;

    // Joining connects peers to nearly everyone (each join runs a Kademlia bootstrap).
    let degrees = || async {
        let mut degrees = Vec::new();
        for peer in net.all() {
            degrees.push(peer.client.status().await.ok()?.connected_peers.len());
        }
        Some(degrees)
    };
    let pruned = poll_until(
        Duration::from_secs(120),
        Duration::from_millis(250),
        || async {
            let d = degrees().await?;
            d.iter()
                .all(|&n| (1..=targets.high_watermark).contains(&n))
                .then_some(d)
        },
    )
    .await;
    let Some(pruned) = pruned else {
        panic!(
            "connections never came down to {} per peer: {:?}",
            targets.high_watermark,
            degrees().await
        );
    };
    let total_pruned: u64 = {
        let mut total = 0;
        for peer in net.all() {
            total += peer.client.status().await?.counters.peers_pruned;
        }
        total
    };
    assert!(total_pruned > 0, "nothing was pruned: {pruned:?}");

    // Every peer still gets every message: nobody was cut off.
    let topic = GossipTopic::Tasks;
    net.wait_for_mesh(topic, 1, Duration::from_secs(60)).await?;
    for (i, publisher) in net.peers.iter().enumerate().step_by(4) {
        let body = format!("after pruning {i}").into_bytes();
        let published = poll_until(Duration::from_secs(30), Duration::from_millis(200), || {
            let body = body.clone();
            async move { publisher.client.publish(topic, body).await.ok() }
        })
        .await;
        assert!(published.is_some(), "peer {i} could not publish");
        let everyone = poll_until(
            Duration::from_secs(60),
            Duration::from_millis(100),
            || async {
                net.all()
                    .filter(|p| p.peer_id != publisher.peer_id)
                    .all(|p| p.inbox.contains_body(&body))
                    .then_some(())
            },
        )
        .await;
        assert!(everyone.is_some(), "message {i} did not reach every peer");
    }
    net.stop().await;
    Ok(())
}
