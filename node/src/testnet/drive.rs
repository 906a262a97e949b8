//! `autonet testnet drive`: the conductor of a multi-process dev network.
//!
//! It reads every peer's status endpoint (address in `<data-dir>/status.addr`) and mines the
//! next empty block on the dev chain only when every peer's role has acted on the head and none
//! waits on the network — the block board of `autonet simulate`, across processes — so a seeded
//! run reaches the same outcome as the simulation however loaded the machine is. A peer that
//! cannot be reached (starting, or killed and restarting) holds the chain until it answers, up to
//! `--stall-ms` once every peer has answered once. It prints every peer's progress lines, kills
//! peers with SIGKILL at the phases `--kill` names (whoever started them restarts them from their
//! data dirs: `scripts/local-testnet` does), and when every epoch is published, its mint root is
//! final and every reward and mint is claimed, prints the simulation's report read from the chain.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autonet_actors::roles::events::EpochRecord;
use autonet_actors::roles::protocol_log::progress_line;
use autonet_contracts::pending::PendingStore;
use autonet_contracts::{Backend, Chain, Role, RpcChain, RpcConfig, discover};
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::setup::Testnet;
use crate::conductor::{BlockPacer, Goal, Pace, reached};
use crate::peer::status::RoleStatus;
use crate::simulate::network::PeerInfo;
use crate::simulate::report::{Inputs, Report, build_from};

/// `autonet testnet drive`.
#[derive(Debug, Clone, Args)]
pub struct DriveArgs {
    /// The directory `autonet testnet setup` wrote.
    #[arg(long, env = "AUTONET_TESTNET_DIR", value_name = "DIR")]
    pub dir: PathBuf,
    /// Shortest time between empty blocks, in milliseconds.
    #[arg(long, default_value_t = 10, env = "AUTONET_TESTNET_BLOCK_MS", value_parser = clap::value_parser!(u64).range(1..=crate::cli::bounds::MAX_MS))]
    pub block_ms: u64,
    /// Mine anyway after this long without a block (a peer that stays away cannot stop the
    /// chain), once every peer has answered once.
    #[arg(long, default_value_t = 20_000, env = "AUTONET_TESTNET_STALL_MS", value_parser = clap::value_parser!(u64).range(1..=crate::cli::bounds::MAX_MS))]
    pub stall_ms: u64,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 900, env = "AUTONET_TESTNET_TIMEOUT_S", value_parser = clap::value_parser!(u64).range(1..=crate::cli::bounds::MAX_SECONDS))]
    pub timeout_s: u64,
    /// SIGKILL peer NAME right after its first protocol event of PHASE (`commit`, `reveal`,
    /// `aggregate`, `vote`, …), e.g. `solver-1@commit`; repeat or separate with commas.
    #[arg(long, value_delimiter = ',', value_name = "NAME@PHASE")]
    pub kill: Vec<String>,
    /// Print the report as JSON (progress lines go to stderr).
    #[arg(long, env = "AUTONET_TESTNET_JSON")]
    pub json: bool,
}

/// What the driver knows of one peer.
#[derive(Debug, Default)]
struct Watch {
    pid: Option<u32>,
    cursor: usize,
    seen: bool,
    /// `None` while unreachable.
    ready_at: Option<(u64, bool)>,
}

#[derive(Debug)]
struct Kill {
    peer: String,
    phase: String,
    done: bool,
}

fn parse_kills(specs: &[String], t: &Testnet) -> anyhow::Result<Vec<Kill>> {
    specs
        .iter()
        .map(|s| {
            let (peer, phase) = s
                .split_once('@')
                .with_context(|| format!("--kill {s:?}: expected NAME@PHASE"))?;
            if !t.peers.iter().any(|p| p.name == peer) {
                bail!("--kill {s:?}: no peer named {peer:?} in this testnet");
            }
            Ok(Kill {
                peer: peer.into(),
                phase: phase.into(),
                done: false,
            })
        })
        .collect()
}

/// Runs the driver and prints the report.
pub fn run(args: &DriveArgs) -> anyhow::Result<()> {
    let testnet = Testnet::read(&args.dir)?;
    let kills = parse_kills(&args.kill, &testnet)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(drive(args, &testnet, kills))?;
    // Kept beside the testnet for scripts (`scripts/local-testnet --fetch-models` reads the
    // model ids from it).
    let path = args.dir.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    if !report.complete {
        bail!("the testnet did not complete: {}", report.incomplete_reason);
    }
    Ok(())
}

async fn drive(args: &DriveArgs, t: &Testnet, kills: Vec<Kill>) -> anyhow::Result<Report> {
    let rpc = RpcChain::connect(
        &t.rpc_url,
        Vec::new(),
        PendingStore::in_memory(),
        RpcConfig::default(),
    )
    .await
    .with_context(|| format!("cannot use the chain at {}", t.rpc_url))?;
    let chain = discover(rpc, t.governor).await?;
    let start = Instant::now();
    let mut watches: Vec<Watch> = t.peers.iter().map(|_| Watch::default()).collect();
    let mut seen = Seen {
        json: args.json,
        kills,
        epochs: BTreeMap::new(),
        proposed: BTreeMap::new(),
        faults: Vec::new(),
    };
    let mut pacer = BlockPacer::new(
        Duration::from_millis(args.block_ms),
        Duration::from_millis(args.stall_ms),
    );
    let outcome = loop {
        let head = chain.block_number().await?;
        let now = start.elapsed().as_secs_f64();
        for (peer, w) in t.peers.iter().zip(watches.iter_mut()) {
            match poll(peer, w).await {
                Some(status) => seen.take(peer, w, status, head, now)?,
                None => w.ready_at = None,
            }
        }
        let goal = Goal {
            epochs: t.epochs,
            epochs_seen: seen.epochs.len(),
            expected_mints: seen.epochs.values().map(|e| e.mint_agents).sum(),
        };
        if reached(&chain, goal, t.peers.iter().map(|p| p.address))
            .await?
            .is_some()
        {
            break Ok(());
        }
        if start.elapsed() > Duration::from_secs(args.timeout_s) {
            break Err(timed_out(args, t, &watches, head, seen.epochs.len()));
        }
        let ready = watches
            .iter()
            .all(|w| w.ready_at.is_some_and(|(a, wait)| a >= head && !wait));
        let all_seen = watches.iter().all(|w| w.seen);
        match pacer.decide(head, ready, all_seen) {
            Pace::Wait => {}
            pace => {
                if pace == Pace::MineStalled {
                    tracing::warn!(head, "testnet clock: stall timeout");
                }
                chain.backend().mine(1).await?;
                pacer.mined();
            }
        }
        tokio::time::sleep(Duration::from_millis(args.block_ms.clamp(5, 50))).await;
    };
    let peers: Vec<PeerInfo> = t
        .peers
        .iter()
        .map(|p| {
            let role = Role::parse(&p.role).unwrap_or(Role::Solver);
            PeerInfo {
                name: p.name.clone(),
                role,
                address: p.address,
                byzantine: None,
                initial_stake: role.min_stake(),
            }
        })
        .collect();
    let inputs = Inputs {
        peers: &peers,
        epochs: seen.epochs.into_values().collect(),
        fault_events: seen.faults,
        run: "testnet",
        seed: t.seed,
        model: "substrate".into(),
        seconds: start.elapsed().as_secs_f64(),
    };
    build_from(&chain, inputs, outcome).await
}

/// What the driver has seen of the peers so far.
struct Seen {
    json: bool,
    kills: Vec<Kill>,
    /// Published epochs, first report of each.
    epochs: BTreeMap<u64, EpochRecord>,
    /// When each epoch's task was proposed (seconds since the start).
    proposed: BTreeMap<u64, f64>,
    /// Injected faults, for the report.
    faults: Vec<(String, String)>,
}

impl Seen {
    /// Takes one peer's new status: its seat, progress lines, the kills they make due, and the
    /// epochs it published.
    fn take(
        &mut self,
        peer: &super::setup::TestnetPeer,
        w: &mut Watch,
        status: RoleStatus,
        head: u64,
        now: f64,
    ) -> anyhow::Result<()> {
        w.seen = true;
        w.ready_at = Some(match status.seats.as_slice() {
            [] => (u64::MAX, false),
            seats => (
                seats.iter().map(|s| s.1).min().unwrap_or(0),
                seats.iter().any(|s| s.2),
            ),
        });
        for e in &status.entries {
            progress(
                self.json,
                &progress_line(now, e.epoch, &e.phase, &e.peer, &e.text),
            );
            if e.phase == "propose" {
                self.proposed.entry(e.epoch).or_insert(now);
            }
            for k in self
                .kills
                .iter_mut()
                .filter(|k| !k.done && k.peer == peer.name && k.phase == e.phase)
            {
                sigkill(status.pid)?;
                k.done = true;
                w.ready_at = None;
                let line = format!("[{now:>6.1}s] SIGKILL {} after {}", peer.name, k.phase);
                progress(self.json, &line);
                let what = format!(
                    "block {head}: SIGKILL after {} (restarted from its data dir)",
                    k.phase
                );
                self.faults.push((peer.name.clone(), what));
            }
        }
        for mut r in status.epochs {
            if let std::collections::btree_map::Entry::Vacant(slot) = self.epochs.entry(r.epoch) {
                r.started_at = self.proposed.get(&r.epoch).copied().unwrap_or_default();
                r.published_at = now;
                slot.insert(r);
            }
        }
        Ok(())
    }
}

/// Why the run gave up: the time limit, and which peers were holding the chain.
fn timed_out(
    args: &DriveArgs,
    t: &Testnet,
    watches: &[Watch],
    head: u64,
    published: usize,
) -> String {
    let holding: Vec<&str> = t
        .peers
        .iter()
        .zip(watches)
        .filter(|(_, w)| w.ready_at.is_none_or(|(a, wait)| a < head || wait))
        .map(|(p, _)| p.name.as_str())
        .collect();
    format!(
        "timed out after {}s at block {head}; {published} of {} epochs published; holding the chain: {holding:?}",
        args.timeout_s, t.epochs
    )
}

fn progress(json: bool, line: &str) {
    if json {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// Every epoch published, every mint claimed, nothing left to claim, every epoch's model
/// registered (as `simulate` ends).
/// Reads a peer's status; resets its cursor when the process changed (a restart).
async fn poll(peer: &super::setup::TestnetPeer, w: &mut Watch) -> Option<RoleStatus> {
    let addr = std::fs::read_to_string(peer.data_dir.join(crate::peer::STATUS_ADDR_FILE)).ok()?;
    let addr = addr.trim();
    let mut status: RoleStatus =
        serde_json::from_str(&http_get(addr, &format!("/role?since={}", w.cursor)).await?).ok()?;
    if w.pid != Some(status.pid) {
        if w.cursor > 0 {
            status = serde_json::from_str(&http_get(addr, "/role?since=0").await?).ok()?;
        }
        w.pid = Some(status.pid);
    }
    w.cursor = status.entries_total;
    Some(status)
}

/// A minimal HTTP/1.0 GET to a localhost endpoint; the body of a 200 answer.
async fn http_get(addr: &str, path: &str) -> Option<String> {
    let io = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        Some(buf)
    };
    let buf = tokio::time::timeout(Duration::from_secs(5), io)
        .await
        .ok()??;
    let text = String::from_utf8(buf).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.split_whitespace()
        .nth(1)
        .filter(|code| *code == "200")
        .map(|_| body.to_string())
}

fn sigkill(pid: u32) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .context("cannot run kill")?;
    if !status.success() {
        bail!("kill -9 {pid} failed");
    }
    Ok(())
}
