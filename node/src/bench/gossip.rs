//! `autonet bench gossip`: gossip delivery latency across N in-process peers, in units of the
//! emulated per-hop delay measured in the same run, and memory per peer.
//!
//! Link latency: the `netem` qdisc is not available on every kernel (it is not in this sandbox),
//! so the delay is emulated in the harness: each peer holds every gossip message for
//! `--hop-delay-ms` before its application sees and validates it, and so before relaying it
//! (`autonet_p2p::testnet::Peer::start_with_hop_delay`). The baseline is the measured delivery
//! latency between two direct neighbours with the same delay: one hop, including the real
//! processing cost. The result is p50/p99 of every (message, receiving peer) latency divided by
//! that hop.

use std::time::Duration;

use anyhow::Context;
use autonet_p2p::GossipTopic;
use autonet_p2p::testnet::{Testnet, TestnetOptions, poll_until};
use clap::Args;

use super::{BenchReport, Measurement};

#[derive(Debug, Args)]
pub struct GossipBench {
    /// Peers besides the bootstrap peer.
    #[arg(long, default_value_t = 100)]
    pub peers: usize,
    /// Messages published from random peers.
    #[arg(long, default_value_t = 50)]
    pub messages: usize,
    /// Emulated one-way delay per gossip hop, in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub hop_delay_ms: u64,
}

impl GossipBench {
    pub fn run(&self) -> anyhow::Result<BenchReport> {
        anyhow::ensure!(
            self.peers >= 2 && self.messages >= 1,
            "need --peers >= 2 and --messages >= 1"
        );
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(self.measure())
    }

    fn options(&self, peers: usize) -> TestnetOptions {
        let mut options = TestnetOptions::new(peers);
        options.hop_delay = Duration::from_millis(self.hop_delay_ms);
        options
    }

    async fn measure(&self) -> anyhow::Result<BenchReport> {
        let topic = GossipTopic::Tasks;
        let rss_before = rss_bytes();

        // Baseline: one hop between two direct neighbours.
        let pair = Testnet::start(self.options(1)).await?;
        pair.wait_for_mesh(topic, 1, Duration::from_secs(120))
            .await?;
        let samples = 20;
        for i in 0..samples {
            pair.bootstrap
                .client
                .publish(topic, format!("hop {i}").into_bytes())
                .await?;
        }
        let receiver = &pair.peers[0];
        poll_until(
            Duration::from_secs(120),
            Duration::from_millis(50),
            || async { (receiver.inbox.len() >= samples).then_some(()) },
        )
        .await
        .context("baseline messages were not delivered")?;
        let mut hop: Vec<u64> = receiver
            .inbox
            .snapshot()
            .iter()
            .map(|r| r.received_at_micros.saturating_sub(r.sent_at_micros))
            .collect();
        let one_hop = percentile(&mut hop, 50.0).max(1);
        pair.stop().await;

        // The network.
        let net = Testnet::start(self.options(self.peers)).await?;
        net.wait_for_mesh(topic, 2, Duration::from_secs(600))
            .await?;
        let publishers: Vec<_> = net.peers.iter().collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut sent = Vec::new();
        for i in 0..self.messages {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let idx = usize::try_from(state % publishers.len() as u64).unwrap_or(0);
            let publisher = publishers.get(idx).context("no publisher")?;
            let body = format!("bench {i}").into_bytes();
            publisher.client.publish(topic, body.clone()).await?;
            sent.push((publisher.peer_id, body));
        }
        let expected = sent.len() * self.peers;
        let delivered = || {
            net.all()
                .map(|p| {
                    sent.iter()
                        .filter(|(f, b)| *f != p.peer_id && p.inbox.contains_body(b))
                        .count()
                })
                .sum::<usize>()
        };
        poll_until(
            Duration::from_secs(600),
            Duration::from_millis(200),
            || async { (delivered() == expected).then_some(()) },
        )
        .await
        .with_context(|| format!("only {} of {expected} deliveries", delivered()))?;
        let rss_after = rss_bytes();
        let mut latencies: Vec<u64> = net
            .all()
            .flat_map(|p| p.inbox.snapshot())
            .map(|r| r.received_at_micros.saturating_sub(r.sent_at_micros))
            .collect();
        let p50 = percentile(&mut latencies, 50.0);
        let p99 = percentile(&mut latencies, 99.0);
        net.stop().await;

        let micros = Duration::from_micros;
        let hops = |v: u64| v as f64 / one_hop as f64;
        let mut report = BenchReport::new(
            "gossip",
            format!(
                "{} peers + bootstrap over TCP on 127.0.0.1, gossipsub D=6, {} messages from random \
                 publishers, emulated hop delay {} ms (in the harness; see --help)",
                self.peers, self.messages, self.hop_delay_ms
            ),
            Measurement::new(
                "one hop between neighbours (median)",
                micros(one_hop),
                1,
                "hop",
            ),
            Measurement::new(
                "p99 delivery latency to all peers",
                micros(p99),
                latencies.len() as u64,
                "delivery",
            ),
        );
        report.notes.push(format!(
            "p50 delivery latency: {:.1} ms = {:.2} hops",
            p50 as f64 / 1000.0,
            hops(p50)
        ));
        report.notes.push(format!(
            "p99 delivery latency: {:.1} ms = {:.2} hops (target <= 4)",
            p99 as f64 / 1000.0,
            hops(p99)
        ));
        if let (Some(before), Some(after)) = (rss_before, rss_after) {
            let per_peer = after.saturating_sub(before) / (self.peers as u64 + 1);
            report.notes.push(format!(
                "RSS per peer: {:.2} MiB (process RSS {:.0} MiB at the end)",
                per_peer as f64 / 1048576.0,
                after as f64 / 1048576.0
            ));
        }
        Ok(report)
    }
}

/// The p-th percentile (nearest rank) of `values` (sorted in place); 0 when empty.
fn percentile(values: &mut [u64], p: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Resident set size of this process, from /proc (None elsewhere).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
