//! 50 in-process peers over TCP that know only the bootstrap address.

use std::collections::HashSet;
use std::time::Duration;

use autonet_p2p::testnet::{Testnet, TestnetOptions, poll_until};
use autonet_p2p::{GossipTopic, RecordKey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PEERS: usize = 50;
const MESSAGES: usize = 100;
const RECORDS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_peers_deliver_every_message_and_record_to_all() -> anyhow::Result<()> {
    let options = TestnetOptions::new(PEERS);
    let mesh_n_high = options.gossip.mesh_n_high;
    let net = Testnet::start(options).await?;
    let topic = GossipTopic::Tasks;
    net.wait_for_mesh(topic, 2, Duration::from_secs(180))
        .await?;

    // Nobody is meshed with everyone. A mesh can exceed D_high between two heartbeats (GRAFTs
    // accepted since the last one), so the bound checked is twice D_high, not D_high itself.
    for peer in net.all() {
        let status = peer.client.status().await?;
        let mesh = status
            .topics
            .iter()
            .find(|t| t.name == topic.name())
            .unwrap();
        assert!(
            mesh.mesh_peers <= 2 * mesh_n_high,
            "{} > 2 * D_high",
            mesh.mesh_peers
        );
        assert!(mesh.mesh_peers < PEERS, "full mesh");
    }

    let mut rng = StdRng::seed_from_u64(7);
    let mut sent = Vec::new();
    for i in 0..MESSAGES {
        let publisher = &net.peers[rng.random_range(0..PEERS)];
        let body = format!("message {i} from {}", publisher.peer_id).into_bytes();
        let published = poll_until(Duration::from_secs(60), Duration::from_millis(200), || {
            let body = body.clone();
            async move { publisher.client.publish(topic, body).await.ok() }
        })
        .await;
        assert!(
            published.is_some(),
            "publisher never found a peer to publish to"
        );
        sent.push((publisher.peer_id, body));
    }

    let all_delivered = poll_until(
        Duration::from_secs(300),
        Duration::from_millis(500),
        || async {
            let missing = net
                .all()
                .flat_map(|peer| {
                    sent.iter().filter(move |(from, body)| {
                        *from != peer.peer_id && !peer.inbox.contains_body(body)
                    })
                })
                .count();
            (missing == 0).then_some(())
        },
    )
    .await;
    if all_delivered.is_none() {
        for peer in net.all() {
            eprintln!("{} received {}", peer.peer_id, peer.inbox.len());
        }
        panic!("not every message reached every peer");
    }

    // Records: stored by random peers, read by every peer.
    let mut keys: Vec<RecordKey> = Vec::new();
    for i in 0..RECORDS {
        let writer = &net.peers[rng.random_range(0..PEERS)];
        let value = format!("record {i}").into_bytes();
        let key = poll_until(Duration::from_secs(60), Duration::from_millis(500), || {
            let value = value.clone();
            async move { writer.client.put_record(value).await.ok() }
        })
        .await
        .expect("put_record never reached a quorum");
        keys.push(key);
    }
    let readers = net.all().map(|peer| {
        let keys = keys.clone();
        async move {
            let mut got = HashSet::new();
            for key in &keys {
                let value =
                    poll_until(Duration::from_secs(120), Duration::from_millis(500), || {
                        let key = key.clone();
                        async move { peer.client.get_record(key).await.ok() }
                    })
                    .await;
                if let Some(value) = value {
                    assert!(autonet_p2p::records::is_valid_record(key, &value));
                    got.insert(key.clone());
                }
            }
            (peer.peer_id, got.len())
        }
    });
    let results = futures::future::join_all(readers).await;
    for (peer, n) in &results {
        assert_eq!(
            *n, RECORDS,
            "peer {peer} read only {n} of {RECORDS} records"
        );
    }
    net.stop().await;
    Ok(())
}
