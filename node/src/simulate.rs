//! `autonet simulate`: N peers of the network on this machine, over the real overlay, ending in a
//! report.
//!
//! Until the protocol issue lands, a simulation runs the overlay harness
//! (`autonet_p2p::testnet`): a bootstrap peer and N peers that know only its address, all in this
//! process on 127.0.0.1. It waits for the gossip meshes, publishes one message per peer from
//! publishers picked by the seed, stores records in the DHT and reads each back from every peer,
//! then reports what it saw. The embedded chain, the substrate engine and the training protocol
//! join the simulation with their issues.

use std::time::{Duration, Instant};

use anyhow::Context;
use autonet_p2p::testnet::{Testnet, TestnetOptions, poll_until};
use autonet_p2p::{GossipTopic, RecordKey};
use clap::Args;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Number of peers to start besides the bootstrap peer (all in this process, on 127.0.0.1).
    #[arg(long, default_value_t = 8, env = "AUTONET_SIM_PEERS")]
    pub peers: usize,
    /// Seed that makes a run reproducible (which peers publish and store records).
    #[arg(long, default_value_t = 0, env = "AUTONET_SIM_SEED")]
    pub seed: u64,
}

/// A small deterministic generator (xorshift64*), enough to pick publishers from a seed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Runs the overlay simulation and prints its report.
pub fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.peers >= 1, "--peers must be at least 1");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(simulate(args))
}

async fn simulate(args: &SimulateArgs) -> anyhow::Result<()> {
    println!(
        "autonet simulate (peers = {} + bootstrap, seed = {})",
        args.peers, args.seed
    );
    println!("Scope: the overlay only (the chain, substrate and protocol are not in this build).");
    let started = Instant::now();
    let net = Testnet::start(TestnetOptions::new(args.peers)).await?;
    println!(
        "started {} peers in {:.1}s",
        args.peers + 1,
        started.elapsed().as_secs_f64()
    );
    let topic = GossipTopic::Tasks;
    let min_mesh = 1.min(args.peers);
    net.wait_for_mesh(topic, min_mesh, Duration::from_secs(300))
        .await?;
    let mut meshes = Vec::new();
    for peer in net.all() {
        let status = peer.client.status().await?;
        let mesh = status
            .topics
            .iter()
            .find(|t| t.name == topic.name())
            .map_or(0, |t| t.mesh_peers);
        meshes.push((mesh, status.connected_peers.len()));
    }
    let (min, max) = meshes
        .iter()
        .fold((usize::MAX, 0), |(lo, hi), (m, _)| (lo.min(*m), hi.max(*m)));
    let avg_conn = meshes.iter().map(|(_, c)| *c).sum::<usize>() as f64 / meshes.len() as f64;
    println!(
        "meshes formed after {:.1}s: mesh size {min}..{max}, {avg_conn:.1} connections per peer",
        started.elapsed().as_secs_f64()
    );

    let mut rng = args.seed.wrapping_add(0x9e37_79b9_7f4a_7c15) | 1;
    let peers: Vec<_> = net.peers.iter().collect();
    let mut sent = Vec::new();
    for i in 0..peers.len() {
        let idx = usize::try_from(next(&mut rng) % peers.len() as u64).unwrap_or(0);
        let publisher = peers.get(idx).context("no publisher")?;
        let body = format!("sim message {i}").into_bytes();
        publisher.client.publish(topic, body.clone()).await?;
        sent.push((publisher.peer_id, body));
    }
    let expected = sent.len() * (peers.len());
    let publish_at = Instant::now();
    let count = || {
        net.all()
            .map(|p| {
                sent.iter()
                    .filter(|(from, b)| *from != p.peer_id && p.inbox.contains_body(b))
                    .count()
            })
            .sum::<usize>()
    };
    let complete = poll_until(
        Duration::from_secs(120),
        Duration::from_millis(200),
        || async { (count() == expected).then_some(()) },
    )
    .await;
    println!(
        "gossip: {} messages, {}/{expected} deliveries{}",
        sent.len(),
        count(),
        match complete {
            Some(()) => format!(" (all within {:.1}s)", publish_at.elapsed().as_secs_f64()),
            None => " (incomplete after 120s)".to_string(),
        }
    );

    let mut keys: Vec<RecordKey> = Vec::new();
    for i in 0..3usize {
        let idx = usize::try_from(next(&mut rng) % peers.len() as u64).unwrap_or(0);
        let writer = peers.get(idx).context("no writer")?;
        keys.push(
            writer
                .client
                .put_record(format!("sim record {i}").into_bytes())
                .await?,
        );
    }
    let mut reads = 0;
    for peer in net.all() {
        for key in &keys {
            if peer.client.get_record(key.clone()).await.is_ok() {
                reads += 1;
            }
        }
    }
    println!(
        "dht: {} records, {reads}/{} reads succeeded",
        keys.len(),
        keys.len() * (peers.len() + 1)
    );
    net.stop().await;
    println!("done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
