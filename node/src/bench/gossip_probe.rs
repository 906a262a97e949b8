//! Measuring helpers of `autonet bench gossip`: publishing a batch of messages at a given pace,
//! waiting for every delivery, and reading latencies, gossipsub copy counts and memory.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;
use autonet_p2p::GossipTopic;
use autonet_p2p::testnet::{Testnet, poll_until};

/// The deliveries of one batch of messages.
#[derive(Debug)]
pub(crate) struct Batch {
    /// Publish-to-receipt latency of every (message, receiving peer), in µs.
    pub latencies: Vec<u64>,
    /// From the first publish to the last receipt, in µs.
    pub span_micros: u64,
}

impl Batch {
    /// Deliveries per second over the whole batch.
    pub(crate) fn deliveries_per_second(&self) -> f64 {
        self.latencies.len() as f64 / (self.span_micros.max(1) as f64 / 1e6)
    }

    /// The batch in the emulated time of a run dilated by `k` (wall time / `k`).
    pub(crate) fn in_emulated_time(mut self, k: u32) -> Self {
        let k = u64::from(k.max(1));
        self.latencies.iter_mut().for_each(|l| *l /= k);
        self.span_micros /= k;
        self
    }
}

/// A small deterministic generator for picking publishers (the same sequence on every run).
#[derive(Debug)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new() -> Self {
        Self(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n.max(1) as u64).unwrap_or(0)
    }
}

/// Publishes `count` messages labelled `label` from random non-bootstrap peers, one every
/// `interval` (all at once when zero), and waits until every other peer has received each.
pub(crate) async fn publish_batch(
    net: &Testnet,
    rng: &mut XorShift,
    label: &str,
    count: usize,
    interval: Duration,
) -> anyhow::Result<Batch> {
    let topic = GossipTopic::Tasks;
    // Deliveries so far, counted cheaply (every peer records each message once), so that polling
    // steals little CPU from the network being measured.
    let inbox_total = || net.all().map(|p| p.inbox.len()).sum::<usize>();
    let before = inbox_total();
    let mut bodies = HashSet::with_capacity(count);
    let mut ticker = tokio::time::interval(interval.max(Duration::from_nanos(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..count {
        if !interval.is_zero() {
            ticker.tick().await;
        }
        let publisher = net
            .peers
            .get(rng.below(net.peers.len()))
            .context("no publisher")?;
        let body = format!("{label} {i}").into_bytes();
        publisher.client.publish(topic, body.clone()).await?;
        bodies.insert(body);
    }
    let expected = count * net.peers.len();
    poll_until(
        Duration::from_secs(600),
        Duration::from_millis(50),
        || async { (inbox_total() >= before + expected).then_some(()) },
    )
    .await
    .with_context(|| {
        format!(
            "{label}: only {} of {expected} deliveries",
            inbox_total() - before
        )
    })?;
    let received: Vec<_> = net
        .all()
        .flat_map(|p| p.inbox.snapshot())
        .filter(|r| bodies.contains(&r.body))
        .collect();
    anyhow::ensure!(
        received.len() == expected,
        "{label}: {} deliveries of the batch's messages, expected {expected}",
        received.len()
    );
    let first_sent = received.iter().map(|r| r.sent_at_micros).min().unwrap_or(0);
    let last_received = received
        .iter()
        .map(|r| r.received_at_micros)
        .max()
        .unwrap_or(0);
    Ok(Batch {
        latencies: received
            .iter()
            .map(|r| r.received_at_micros.saturating_sub(r.sent_at_micros))
            .collect(),
        span_micros: last_received.saturating_sub(first_sent),
    })
}

/// Gossip message copies received by all peers so far, duplicates included (gossipsub's
/// `topic_msg_recv_counts_unfiltered` counter, summed over topics and peers).
pub(crate) fn copies_received(net: &Testnet) -> u64 {
    net.all()
        .map(|p| {
            let mut text = String::new();
            if let Ok(registry) = p.registry.lock() {
                let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
            }
            text.lines()
                .filter(|l| l.starts_with("gossipsub_topic_msg_recv_counts_unfiltered_total"))
                .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
                .sum::<f64>() as u64
        })
        .sum()
}

/// The p-th percentile (nearest rank) of `values` (sorted in place); 0 when empty.
pub(crate) fn percentile(values: &mut [u64], p: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Resident set size of this process, from /proc (None elsewhere).
pub(crate) fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The 1-minute load average, from /proc (None elsewhere): other work on the machine competes
/// with the peers for CPU.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Connections and mesh peers on `topic` of every peer, in the order of [`Testnet::all`].
pub(crate) async fn degrees(net: &Testnet, topic: GossipTopic) -> (Vec<u64>, Vec<u64>) {
    let (mut connected, mut mesh) = (Vec::new(), Vec::new());
    for peer in net.all() {
        if let Ok(status) = peer.client.status().await {
            connected.push(status.connected_peers.len() as u64);
            let on_topic = status.topics.iter().find(|t| t.name == topic.name());
            mesh.push(on_topic.map_or(0, |t| t.mesh_peers as u64));
        }
    }
    (connected, mesh)
}

/// Waits until peers hold at most `max_connections` on average (the peer manager has pruned the
/// connections every joining peer's Kademlia bootstrap opened), every mesh on `topic` has at
/// least `min_mesh` peers again, and the total connection count has stayed within 1% for
/// `stable_for` (pruning and the dials back up to the target have died down, so that the phases
/// after this measure the network, not its churn). Returns how long that took.
pub(crate) async fn settle(
    net: &Testnet,
    topic: GossipTopic,
    max_connections: usize,
    min_mesh: usize,
    stable_for: Duration,
) -> anyhow::Result<Duration> {
    let started = std::time::Instant::now();
    let deadline = started + Duration::from_secs(600);
    let mut stable_since: Option<(std::time::Instant, u64)> = None;
    loop {
        let (connected, mesh) = degrees(net, topic).await;
        // On average: walks keep opening connections that live out their grace period.
        let total = connected.iter().sum::<u64>();
        let pruned = total <= (max_connections * connected.len()) as u64;
        let meshed = mesh.iter().all(|&m| m >= min_mesh as u64);
        let now = std::time::Instant::now();
        stable_since = match stable_since {
            _ if !(pruned && meshed) => None,
            Some((since, at)) if total.abs_diff(at) * 100 <= at => {
                if now.duration_since(since) >= stable_for {
                    return Ok(started.elapsed());
                }
                Some((since, at))
            }
            _ => Some((now, total)),
        };
        if now >= deadline {
            anyhow::bail!(
                "the overlay did not settle to <= {max_connections} connections per peer on \
                 average (steady for {stable_for:?}) in 600 s: {}",
                topology(net, topic).await
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The overlay's shape right now: connections and mesh peers on `topic` per peer
/// (min / median / max over all peers). A peer with few connections is reached only through
/// the few mesh peers it has, or by lazy gossip at a heartbeat.
pub(crate) async fn topology(net: &Testnet, topic: GossipTopic) -> String {
    let (mut connected, mut mesh) = degrees(net, topic).await;
    let spread = |v: &mut Vec<u64>| {
        let (min, max) = (v.iter().min().copied(), v.iter().max().copied());
        format!(
            "{}/{}/{}",
            min.unwrap_or(0),
            percentile(v, 50.0),
            max.unwrap_or(0)
        )
    };
    format!(
        "connections per peer (min/median/max) {}, mesh peers on {topic} {}",
        spread(&mut connected),
        spread(&mut mesh)
    )
}
