//! `autonet bench gossip`: gossip delivery latency across N in-process peers, in units of the
//! emulated per-hop delay measured in the same run, and memory per peer.
//!
//! Link latency: the `netem` qdisc is not available on every kernel (it is not in this sandbox),
//! so the delay is emulated in-process. By default (`--emulation link`) every TCP connection of
//! every peer hands its inbound bytes on `--hop-delay-ms` after reading them
//! (`autonet_p2p::link_delay`): a one-way latency on every link for all traffic, as netem on
//! loopback would give. `--emulation hold` is the older, cruder model: each peer holds every
//! gossip message before validating (and so relaying) it, control traffic undelayed. The
//! baseline is the measured delivery latency between two direct neighbours with the same delay:
//! one hop, including the real processing cost.
//!
//! What is measured, in two phases on the same network:
//! 1. **Latency** (the result): `--messages` messages from random peers at a steady `--rate`
//!    well below saturation, so that a message meets an idle network and its latency is
//!    propagation (hops × delay + processing), not time spent queued behind earlier messages.
//!    p50/p99 over every (message, receiving peer) pair, in hops.
//! 2. **Saturation throughput**: `--burst` messages published at once; deliveries per second
//!    from the first publish to the last receipt. The latency phase's offered load is reported
//!    as a fraction of it. The burst's own percentiles are queueing times, printed for contrast.
//!
//! It also counts the copies gossipsub received (duplicates included) and the process CPU time
//! per delivery during the latency phase: on one machine all peers share its cores.

use std::time::Duration;

use anyhow::Context;
use autonet_p2p::GossipTopic;
use autonet_p2p::testnet::{Testnet, TestnetOptions};
use clap::Args;

use super::gossip_probe::{
    Batch, XorShift, copies_received, load_average, percentile, publish_batch, rss_bytes, settle,
    topology,
};
use super::{BenchReport, Measurement};

#[derive(Debug, Args)]
pub struct GossipBench {
    /// Peers besides the bootstrap peer.
    #[arg(long, default_value_t = 100, value_parser = crate::cli::bounds::count(1..=2_000))]
    pub peers: usize,
    /// Messages of the latency phase, published from random peers at --rate.
    #[arg(long, default_value_t = 100, value_parser = crate::cli::bounds::count(1..=1_000_000))]
    pub messages: usize,
    /// Publish rate of the latency phase, in messages per second over the whole network. Keep it
    /// well below the saturation throughput the bench prints, or latency measures queueing.
    #[arg(long, default_value_t = 4.0, value_parser = crate::cli::bounds::rate)]
    pub rate: f64,
    /// Messages published all at once to measure the saturation throughput (0 skips it).
    #[arg(long, default_value_t = 50, value_parser = crate::cli::bounds::count(0..=1_000_000))]
    pub burst: usize,
    /// Emulated one-way delay per gossip hop, in milliseconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub hop_delay_ms: u64,
    /// Where the delay is applied: `link` delays every byte on every TCP link (like netem);
    /// `hold` holds each gossip message before its application validates it (data path only).
    #[arg(long, value_enum, default_value_t = Emulation::Link)]
    pub emulation: Emulation,
    /// Time dilation K (time-warped network emulation): the hop delay, the protocol timers
    /// (gossipsub heartbeat, DHT walks, score and peer checks) and the publish interval all run K
    /// times slower in wall time, and latencies are reported in emulated time (wall time / K).
    /// Each peer then gets K times the CPU per emulated second: C cores with K emulate a network
    /// on C x K cores. 1 is real time. All peers of this bench share one machine's cores, while a
    /// deployed network has at least a core per peer; see BENCHMARKS.md for a check that K and
    /// cores trade one for one.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub time_dilation: u32,
    /// Connections each peer keeps (the `--target-peers` of `autonet join`).
    #[arg(long, default_value_t = autonet_p2p::peer_manager::DEFAULT_TARGET_PEERS,
          value_parser = clap::value_parser!(u16).range(8..=1_000))]
    pub target_peers: u16,
}

/// How the hop delay is emulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Emulation {
    /// Every byte on every TCP link arrives `--hop-delay-ms` late (netem-like).
    Link,
    /// Every gossip message is held before validation and relay; control traffic is not delayed.
    Hold,
}

impl GossipBench {
    pub fn run(&self) -> anyhow::Result<BenchReport> {
        anyhow::ensure!(
            self.peers >= 2 && self.messages >= 1,
            "need --peers >= 2 and --messages >= 1"
        );
        anyhow::ensure!(
            self.rate.is_finite() && self.rate > 0.0,
            "--rate must be a positive number of messages per second"
        );
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(self.measure())
    }

    fn options(&self, peers: usize) -> TestnetOptions {
        let mut options = TestnetOptions::new(peers);
        // What a deployed node runs (heartbeat 1 s, a DHT walk a minute, score checks every
        // second), not the tests' short timers: with 100 peers in one process, test-speed
        // timers alone keep a core busy.
        options.production_timers = true;
        options.time_dilation = self.time_dilation;
        options.peer_targets = autonet_p2p::PeerTargets::around(usize::from(self.target_peers));
        let delay = Duration::from_millis(self.hop_delay_ms);
        match self.emulation {
            Emulation::Link => options.link_delay = Some(delay),
            Emulation::Hold => options.hop_delay = delay,
        }
        options
    }

    /// How the run's time relates to wall time, for the report's title.
    fn dilation_note(&self) -> String {
        if self.time_dilation == 1 {
            return String::new();
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let emulated = cores * self.time_dilation as usize;
        format!(
            "; time dilated {k}x: all delays and timers run {k}x slower in wall time and times are \
             emulated time, so the {cores} cores here emulate {emulated} cores ({:.2} per peer)",
            emulated as f64 / (self.peers + 1) as f64,
            k = self.time_dilation,
        )
    }

    /// Median latency between two direct neighbours: one hop, processing included.
    async fn one_hop(&self) -> anyhow::Result<u64> {
        let options = self.options(1);
        let spacing = options.dilated(Duration::from_millis(self.hop_delay_ms.max(1) * 3));
        let pair = Testnet::start(options).await?;
        pair.wait_for_mesh(GossipTopic::Tasks, 1, Duration::from_secs(120))
            .await?;
        let mut hop = publish_batch(&pair, &mut XorShift::new(), "hop", 20, spacing)
            .await?
            .in_emulated_time(self.time_dilation);
        pair.stop().await;
        Ok(percentile(&mut hop.latencies, 50.0).max(1))
    }

    async fn measure(&self) -> anyhow::Result<BenchReport> {
        let rss_before = rss_bytes();
        let one_hop = self.one_hop().await?;
        let observed = self.observe().await?;
        Ok(self.report(one_hop, rss_before, observed))
    }

    /// Starts the network of `--peers`, lets it settle, and runs the latency phase and the burst.
    async fn observe(&self) -> anyhow::Result<Observed> {
        let options = self.options(self.peers);
        let high_watermark = options.peer_targets.high_watermark;
        // Steady for five peer checks (a second each), and the idle window, in emulated time.
        let (steady, idle_window) = (
            options.dilated(Duration::from_secs(5)),
            options.dilated(Duration::from_secs(3)),
        );
        let net = Testnet::start(options).await?;
        net.wait_for_mesh(GossipTopic::Tasks, 2, Duration::from_secs(600))
            .await?;
        // Background CPU of the idle network (heartbeats, DHT random walks, pings), so that the
        // CPU per delivery below can be read net of it.
        let shape_joined = topology(&net, GossipTopic::Tasks).await;
        let settled_in = settle(&net, GossipTopic::Tasks, high_watermark, 4, steady).await?;
        let shape_before = topology(&net, GossipTopic::Tasks).await;
        let idle_before = crate::process::cpu_time();
        tokio::time::sleep(idle_window).await;
        let idle_cpu = crate::process::cpu_time()
            .saturating_sub(idle_before)
            .as_secs_f64()
            / idle_window.as_secs_f64();
        let mut rng = XorShift::new();
        let started = std::time::Instant::now();
        let (cpu_before, copies_before) = (crate::process::cpu_time(), copies_received(&net));
        let interval = Duration::try_from_secs_f64(f64::from(self.time_dilation) / self.rate)
            .context("--rate is too small: the publish interval does not fit a duration")?;
        let paced = publish_batch(&net, &mut rng, "paced", self.messages, interval)
            .await?
            .in_emulated_time(self.time_dilation);
        let cpu = crate::process::cpu_time().saturating_sub(cpu_before);
        let paced_wall = started.elapsed();
        let copies = copies_received(&net).saturating_sub(copies_before);
        let shape_after = topology(&net, GossipTopic::Tasks).await;
        let load = load_average();
        let burst = if self.burst > 0 {
            Some(
                publish_batch(&net, &mut rng, "burst", self.burst, Duration::ZERO)
                    .await?
                    .in_emulated_time(self.time_dilation),
            )
        } else {
            None
        };
        let rss_after = rss_bytes();
        net.stop().await;
        Ok(Observed {
            high_watermark,
            shapes: [shape_joined, shape_before, shape_after],
            settled_in,
            idle_cpu,
            paced,
            cpu,
            paced_wall,
            copies,
            load,
            burst,
            rss_after,
        })
    }

    /// The report: p99 latency against one hop, and the notes on overlay, load and memory.
    fn report(&self, one_hop: u64, rss_before: Option<u64>, mut o: Observed) -> BenchReport {
        let deliveries = o.paced.latencies.len() as u64;
        let p99 = percentile(&mut o.paced.latencies, 99.0);
        let mut report = BenchReport::new(
            "gossip",
            format!(
                "{} peers + bootstrap over TCP on 127.0.0.1, gossipsub D=6, {} messages from \
                 random publishers at {} msg/s, emulated hop delay {} ms ({}; see --help){}",
                self.peers,
                self.messages,
                self.rate,
                self.hop_delay_ms,
                match self.emulation {
                    Emulation::Link => "on every TCP link",
                    Emulation::Hold => "held before validation",
                },
                self.dilation_note()
            ),
            Measurement::new(
                "one hop between neighbours (median)",
                Duration::from_micros(one_hop),
                1,
                "hop",
            ),
            Measurement::new(
                "p99 delivery latency to all peers",
                Duration::from_micros(p99),
                deliveries,
                "delivery",
            ),
        );
        let offered = self.rate * self.peers as f64;
        report.notes = self.latency_notes(&mut o, one_hop, offered);
        if let Some(burst) = o.burst {
            report
                .notes
                .extend(saturation_notes(burst, offered, self.peers, one_hop));
        }
        if let (Some(before), Some(after)) = (rss_before, o.rss_after) {
            let per_peer = after.saturating_sub(before) / (self.peers as u64 + 1);
            report.notes.push(format!(
                "RSS per peer: {:.2} MiB (process RSS {:.0} MiB at the end)",
                per_peer as f64 / 1048576.0,
                after as f64 / 1048576.0
            ));
        }
        report
    }

    /// Lines on the overlay's shape, the latency phase in hops, and its load and CPU cost.
    fn latency_notes(&self, o: &mut Observed, one_hop: u64, offered: f64) -> Vec<String> {
        let mut notes = Vec::new();
        let deliveries = o.paced.latencies.len() as u64;
        let p50 = percentile(&mut o.paced.latencies, 50.0);
        let p99 = percentile(&mut o.paced.latencies, 99.0);
        let hops = |v: u64| v as f64 / one_hop as f64;
        let ms = |v: u64| v as f64 / 1000.0;
        let [shape_joined, shape_before, shape_after] = &o.shapes;
        notes.push(format!("overlay when the mesh formed: {shape_joined}"));
        notes.push(format!(
            "overlay after pruning to <= {} connections on average and a steady \
             count ({:.1} s later): {shape_before}",
            o.high_watermark,
            o.settled_in.as_secs_f64()
        ));
        notes.push(format!("overlay after the latency phase: {shape_after}"));
        let tail: Vec<String> = [90.0, 95.0, 99.0, 99.9, 100.0]
            .iter()
            .map(|&p| format!("p{p}: {:.1}", hops(percentile(&mut o.paced.latencies, p))))
            .collect();
        notes.push(format!("delivery latency in hops, {}", tail.join(", ")));
        notes.push(format!(
            "p50 delivery latency: {:.1} ms = {:.2} hops",
            ms(p50),
            hops(p50)
        ));
        notes.push(format!(
            "p99 delivery latency: {:.1} ms = {:.2} hops (target <= 4)",
            ms(p99),
            hops(p99)
        ));
        notes.push(format!(
            "offered load: {} msg/s x {} receivers = {offered:.0} deliveries/s",
            self.rate, self.peers
        ));
        let per_delivery = deliveries.max(1) as f64;
        // CPU spent on the messages: the phase's process CPU less the idle network's background.
        let message_cpu = (o.cpu.as_secs_f64() - o.idle_cpu * o.paced_wall.as_secs_f64()).max(0.0);
        notes.push(format!(
            "copies received per delivery (duplicates included): {:.2}; process CPU per \
             delivery: {:.0} us, per copy: {:.0} us, net of the idle network's {:.0}% of a core \
             (1-min load average {})",
            o.copies as f64 / per_delivery,
            message_cpu * 1e6 / per_delivery,
            message_cpu * 1e6 / o.copies.max(1) as f64,
            o.idle_cpu * 100.0,
            o.load.map_or("unknown".into(), |l| format!("{l:.2}"))
        ));
        notes
    }
}

/// What the latency and burst phases on the large network observed.
struct Observed {
    /// The peer manager's connection ceiling.
    high_watermark: usize,
    /// The overlay when the mesh formed, once it settled, and after the latency phase.
    shapes: [String; 3],
    /// How long the overlay took to settle.
    settled_in: Duration,
    /// CPU of the idle network, in cores.
    idle_cpu: f64,
    /// The latency phase's deliveries.
    paced: Batch,
    /// Process CPU time of the latency phase.
    cpu: Duration,
    /// Its wall time.
    paced_wall: Duration,
    /// Gossip copies received during it (duplicates included).
    copies: u64,
    /// The 1-minute load average after it.
    load: Option<f64>,
    /// The burst's deliveries (none with `--burst 0`).
    burst: Option<Batch>,
    /// Process RSS at the end.
    rss_after: Option<u64>,
}

/// Lines on the burst phase: the saturation throughput and the queueing it causes.
fn saturation_notes(mut burst: Batch, offered: f64, peers: usize, one_hop: u64) -> Vec<String> {
    let saturation = burst.deliveries_per_second();
    let count = burst.latencies.len() / peers.max(1);
    let p50 = percentile(&mut burst.latencies, 50.0);
    let p99 = percentile(&mut burst.latencies, 99.0);
    vec![
        format!(
            "saturation: {count} messages at once delivered at {saturation:.0} deliveries/s \
             = {:.1} msg/s to all peers; the latency phase offered {:.0}% of it",
            saturation / peers.max(1) as f64,
            100.0 * offered / saturation
        ),
        format!(
            "burst latency (queueing, not propagation): p50 {:.1} ms = {:.1} hops, p99 {:.1} ms \
             = {:.1} hops",
            p50 as f64 / 1000.0,
            p50 as f64 / one_hop as f64,
            p99 as f64 / 1000.0,
            p99 as f64 / one_hop as f64
        ),
    ]
}
