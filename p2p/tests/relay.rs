//! Circuit relay v2 and hole punching in-process, over real TCP on 127.0.0.1: a relay node R,
//! a "NATed" node B that reserves a slot on R, and a node A that reaches B only through R's
//! `/p2p-circuit` address. (Real NATs are in `scripts/nat-test`, on network namespaces.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers fail loudly.

use std::time::Duration;

use autonet_p2p::testnet::local_config;
use autonet_p2p::{
    Client, DhtMode, Keypair, Multiaddr, NetworkConfig, RelayUse, RpcResponse, Status,
};
use tokio::sync::mpsc;

/// Starts a node and spawns its event loop; the event receiver is drained in the background.
fn start(config: NetworkConfig) -> Client {
    // RUST_LOG=libp2p_relay=debug shows the relay's side of a failure.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut registry = prometheus_client::registry::Registry::default();
    let (client, mut events, event_loop) = autonet_p2p::new(config, &mut registry).expect("node");
    tokio::spawn(event_loop.run());
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    client
}

/// Starts the relay on a port picked first, so that its external address can be configured.
async fn start_relay(mut config: NetworkConfig) -> Client {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().expect("valid");
    config.listen = vec![addr.clone()];
    config.external_addrs = vec![addr];
    start(config)
}

/// Polls `client`'s status until `ok` holds for it, or fails after a generous deadline.
async fn wait_for(client: &Client, what: &str, ok: impl Fn(&Status) -> bool) -> Status {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = client.status().await.expect("status");
        if ok(&status) {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Relay R, then B (reserving on R, reachable by nobody else: a DHT client, so no one learns
/// its direct address), then A. Returns A, B, B's relayed address, and the relay's handle (a
/// node stops once every handle is dropped).
async fn relay_and_two_peers(hole_punching: bool) -> (Client, Client, Multiaddr, Client) {
    // A relay serves reservations only with a confirmed external address (libp2p's relay
    // server advertises its protocol only then): a public node's, as configured on a bootstrap.
    let relay = start_relay(local_config(Keypair::generate_ed25519(), Vec::new())).await;
    let relay_addr = relay.listen_addrs().await.expect("relay listens")[0].clone();

    let mut b = local_config(Keypair::generate_ed25519(), vec![relay_addr.clone()]);
    b.dht_mode = DhtMode::Client;
    b.nat.use_relays = RelayUse::Always;
    b.nat.hole_punching = hole_punching;
    let b = start(b);
    let b_status = wait_for(&b, "B's relay reservation", |s| {
        s.listen_addrs.iter().any(|a| a.contains("/p2p-circuit"))
    })
    .await;
    let circuit = b_status
        .listen_addrs
        .iter()
        .find(|a| a.contains("/p2p-circuit"))
        .expect("circuit address")
        .parse()
        .expect("valid multiaddr");

    let mut a = local_config(Keypair::generate_ed25519(), vec![relay_addr]);
    a.dht_mode = DhtMode::Client;
    a.nat.use_relays = RelayUse::Never;
    a.nat.hole_punching = hole_punching;
    let a = start(a);
    // Dial through the relay once A's own connection to it is up (the circuit request travels
    // over it).
    let relay_id = relay.peer_id().to_string();
    wait_for(&a, "A connected to the relay", |s| {
        s.connected_peers.contains(&relay_id)
    })
    .await;
    (a, b, circuit, relay)
}

fn connections_to(status: &Status, peer: &str) -> Vec<bool> {
    status
        .connections
        .iter()
        .filter(|c| c.peer == peer)
        .map(|c| c.relayed)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_reaches_a_reserved_peer_through_the_relay_and_requests_flow() {
    let (a, b, circuit, _relay) = relay_and_two_peers(false).await;
    let b_id = b.peer_id().to_string();
    let (tx, mut rx) = mpsc::channel(4);
    b.serve_rpc("echo", tx, None).await.expect("serve");
    let responder = b.clone();
    tokio::spawn(async move {
        while let Some(request) = rx.recv().await {
            let body = request.body.clone();
            let _ = responder
                .answer_rpc(request.id, RpcResponse::Ok { body })
                .await;
        }
    });

    a.dial(circuit).await.expect("dial through the relay");
    let status = wait_for(&a, "a relayed connection to B", |s| {
        connections_to(s, &b_id) == vec![true]
    })
    .await;
    assert!(status.connected_peers.contains(&b_id));

    let answer = a
        .rpc(b.peer_id(), "echo", b"over the relay".to_vec())
        .await
        .expect("rpc over the relayed connection");
    assert_eq!(
        answer,
        RpcResponse::Ok {
            body: b"over the relay".to_vec()
        }
    );
    // A relayed-only peer is kept: still connected, still relayed.
    let status = a.status().await.expect("status");
    assert_eq!(connections_to(&status, &b_id), vec![true]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hole_punching_upgrades_the_relayed_connection_and_the_relayed_one_is_closed() {
    let (a, b, circuit, _relay) = relay_and_two_peers(true).await;
    let b_id = b.peer_id().to_string();
    a.dial(circuit).await.expect("dial through the relay");
    // On loopback the punch itself is trivial; what is tested is the whole path: DCUtR over
    // the circuit, the direct connection, and the relayed one closed because of it.
    let status = wait_for(&a, "only a direct connection to B", |s| {
        connections_to(s, &b_id) == vec![false]
    })
    .await;
    // Either side may close the relayed connection first; the other then sees it close.
    let b_status = b.status().await.expect("status");
    let closed =
        status.counters.relayed_closed_for_direct + b_status.counters.relayed_closed_for_direct;
    assert!(closed >= 1, "{status:?} {b_status:?}");
    let punched = status.counters.hole_punches_succeeded + b_status.counters.hole_punches_succeeded;
    assert!(punched >= 1, "{status:?} {b_status:?}");
}
