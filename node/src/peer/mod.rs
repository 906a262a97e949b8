//! `autonet join --role R`: a peer that takes a staked protocol role in a network on an EVM chain.
//!
//! Bird's-eye view: the peer reads the network [`plan`] (Governor, project, epochs, phases),
//! unlocks its role key from `<data-dir>/keys/<role>.json`, stakes the role's minimum if its
//! address is not staked yet and binds its PeerId to the address on chain (both once; a restart
//! finds them done), then runs the role with `autonet_actors::roles::peer` on an `RpcChain`.
//! Everything that matters lives under the data dir and is picked up again after a restart or a
//! `kill -9`: `state.redb` (role stages, commitments, salts, bundles, models), `chain.redb`
//! (transactions in flight, resubmitted on start), `p2p.redb` (DHT records), `node_key`,
//! [`secret`] (`protocol_secret`). Progress lines are printed per phase; the [`status`] endpoint
//! serves the same as JSON; with `--metrics ADDR`, [`metrics`] serves the overlay's and the role's
//! Prometheus metrics. Ctrl-C or SIGTERM stops the role, closes the network and the stores.

pub mod metrics;
pub mod plan;
pub mod secret;
pub mod status;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, bail};
use autonet_actors::roles::board::Board;
use autonet_actors::roles::peer::{self, PeerParts, PeerSetup, start_peer};
use autonet_contracts::pending::PendingStore;
use autonet_contracts::{Chain, Contracts, ProtocolView, Role, RpcChain, RpcConfig, discover};
use clap::Args;

use crate::chain::keystore;
use crate::config::Config;

/// Written on start: the status endpoint's address (`host:port`), for tools on this machine.
pub const STATUS_ADDR_FILE: &str = "status.addr";
/// Written on start: this process's id (`autonet testnet drive --kill` signals it).
pub const PID_FILE: &str = "join.pid";

/// The staked roles `--role` takes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RoleArg {
    /// Draws task batches and hidden held-out sets when it leads an epoch.
    Proposer,
    /// Trains its slice of each task, commits, reveals, serves its bundle.
    Solver,
    /// Recomputes and scores every revealed bundle, votes, confirms mint roots.
    Coordinator,
    /// Merges accepted bundles, posts the epoch mint root, publishes the model.
    Aggregator,
}

impl RoleArg {
    /// The contracts' role it stakes as.
    pub fn role(self) -> Role {
        match self {
            RoleArg::Proposer => Role::Proposer,
            RoleArg::Solver => Role::Solver,
            RoleArg::Coordinator => Role::Coordinator,
            RoleArg::Aggregator => Role::Aggregator,
        }
    }

    /// Lower-case name, as on the command line and in keystore file names.
    pub fn name(self) -> &'static str {
        match self {
            RoleArg::Proposer => "proposer",
            RoleArg::Solver => "solver",
            RoleArg::Coordinator => "coordinator",
            RoleArg::Aggregator => "aggregator",
        }
    }
}

/// `autonet join` flags of a peer with a protocol role. Each is also a key of the config file:
/// `role`, `name`, `plan` and `tick_ms` of `[role]`, the others of `[chain]`.
#[derive(Debug, Clone, Args, Default)]
pub struct RoleOpts {
    /// Take this staked role. Needs --rpc-url, --plan and the role's keystore in
    /// <data-dir>/keys/<role>.json (`autonet key create --role R`, funded with ATN for the
    /// stake). Without --role, join only relays and stores for the overlay.
    #[arg(long, env = "AUTONET_ROLE", value_enum)]
    pub role: Option<RoleArg>,
    /// JSON-RPC endpoint of the chain the network runs on.
    #[arg(long, env = "AUTONET_RPC_URL", value_name = "URL")]
    pub rpc_url: Option<String>,
    /// Refuse a chain endpoint that reports another chain id.
    #[arg(long, env = "AUTONET_CHAIN_ID", value_parser = clap::value_parser!(u64).range(1..))]
    pub chain_id: Option<u64>,
    /// The network plan (JSON: Governor, project, epochs, proposers, phases, rewards), as
    /// written by `autonet testnet setup` or published by the project.
    #[arg(long, env = "AUTONET_PLAN", value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// File whose first line is the keystore password [default: $AUTONET_KEY_PASSWORD].
    #[arg(long, env = "AUTONET_KEY_PASSWORD_FILE", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Name in progress lines and reports [default: the role].
    #[arg(long, env = "AUTONET_PEER_NAME")]
    pub name: Option<String>,
    /// How often the role looks at the chain head, in milliseconds [default: 100].
    #[arg(long, env = "AUTONET_TICK_MS", value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub tick_ms: Option<u64>,
    /// When this build's core fingerprint differs from the one governance published
    /// (`autonet integrity`), run as an unstaked peer only instead of refusing to start.
    #[arg(long, env = "AUTONET_ALLOW_UNVERIFIED")]
    pub allow_unverified: bool,
}

/// Runs a peer with a protocol role until Ctrl-C or SIGTERM (its settings are all in `config`).
pub fn join(role: RoleArg, config: &Config) -> anyhow::Result<()> {
    let Some(rpc_url) = config.chain.rpc_url.clone() else {
        bail!(
            "--role needs --rpc-url URL or chain.rpc_url in the config file (the chain the network runs on)"
        );
    };
    let Some(plan_path) = config.role.plan.clone() else {
        bail!(
            "--role needs --plan FILE or role.plan in the config file (the network plan, see `autonet testnet setup`)"
        );
    };
    if config.inference.model.is_some() {
        bail!("--inference cannot be combined with --role yet");
    }
    let plan = plan::PlanFile::read(&plan_path)?;
    if crate::integrity::role_gate(config, &rpc_url, plan.governor)?
        == crate::integrity::Gate::UnstakedOnly
    {
        println!(
            "unverified build: running as an unstaked peer only (no {})",
            role.name()
        );
        let mut unstaked = config.clone();
        unstaked.role.role = None;
        return crate::overlay::join(&unstaked);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(config, role, &rpc_url, plan))
}

/// The role account's view of the suite behind `governor` at `rpc_url`, its pending
/// transactions kept in the data dir.
async fn connect(
    config: &Config,
    signer: &PrivateKeySigner,
    rpc_url: &str,
    governor: Address,
) -> anyhow::Result<Contracts<RpcChain>> {
    let data_dir = config.data_dir.as_path();
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let pending = PendingStore::open(&data_dir.join(crate::chain::CHAIN_STORE_FILE))
        .with_context(|| format!("cannot open the chain store in {}", data_dir.display()))?;
    let cfg = RpcConfig {
        expected_chain_id: config.chain.chain_id,
        ..Default::default()
    };
    let rpc = RpcChain::connect(rpc_url, vec![signer.clone()], pending, cfg)
        .await
        .with_context(|| format!("cannot use the chain at {rpc_url}"))?;
    discover(rpc, governor)
        .await
        .with_context(|| format!("no autonet suite found from Governor {governor}"))
}

async fn run(
    config: &Config,
    role_arg: RoleArg,
    rpc_url: &str,
    plan: plan::PlanFile,
) -> anyhow::Result<()> {
    let data_dir = config.data_dir.as_path();
    let role = role_arg.role();
    let name = config
        .role
        .name
        .clone()
        .unwrap_or_else(|| role_arg.name().into());
    let password = keystore::password(config.chain.password_file.as_deref())?;
    let signer = keystore::load(&keystore::key_path(data_dir, role_arg.name())?, &password)?;
    let me = signer.address();
    let chain = Arc::new(connect(config, &signer, rpc_url, plan.governor).await?);
    println!("{name}: {} {me} on {rpc_url}", role_arg.name());
    ensure_staked(&chain, me, role).await?;
    let id = crate::identity::load_or_create(data_dir)?;
    let keypair = id.p2p_keypair()?;
    ensure_bound(&chain, &signer, &keypair).await?;
    // The constitution's rule tier: a role signs only with the key its PeerId is bound to.
    let owner = chain
        .peer_owner(keypair.public().to_peer_id().to_bytes().into())
        .await?;
    crate::constitution::check_signing(
        role_arg.name(),
        me,
        (owner != Address::ZERO).then_some(owner),
    )?;
    let secret = secret::load_or_create(data_dir)?;
    let board = Board::default();
    let log = crate::logging::protocol_log()?.begin_run();
    let parts = PeerParts {
        name: name.clone(),
        address: me,
        secret,
        chain: chain.clone(),
        model: crate::model_kind::ModelKind::Substrate.build()?,
        plan: Arc::new(plan.network_plan()),
        board: board.clone(),
        run: log.id(),
        conduct: Arc::new(autonet_actors::roles::conduct::Honest),
    };
    let network = crate::overlay::network_config(config, keypair.clone());
    let setup = PeerSetup {
        role,
        data_dir: data_dir.to_path_buf(),
        tick: Duration::from_millis(config.role.tick_ms),
        keep_models: autonet_actors::shards::HostConfig::new(data_dir).keep_versions,
        shard_quota_bytes: config.shards.quota_bytes(),
    };
    let peer = start_peer(parts, setup, network)
        .await
        .context("cannot start the role")?;
    println!("peer id: {}", peer.peer_id);
    crate::overlay::constitution::serve_shipped(&peer.client).await?;
    for addr in &peer.addrs {
        println!("listening on {addr}");
    }
    let me_status = status::Identity {
        name: name.clone(),
        role: role_arg.name().into(),
        address: me,
        peer_id: peer.peer_id.to_string(),
    };
    // The node's one status server: the overlay's routes and this role's `/role`.
    let token = crate::overlay::http::load_or_create_token(data_dir)?;
    let role_routes = status::routes(me_status, board, log.clone());
    let dashboard = crate::dashboard::node::spawn(crate::dashboard::node::NodeSources {
        name: name.clone(),
        client: peer.client.clone(),
        log: Some(log.clone()),
        shards: Some(peer.shards.clone()),
    });
    let status_addr = crate::overlay::http::spawn_status(
        config.network.status,
        peer.client.clone(),
        crate::overlay::http::Recent::default(),
        token,
        Some(role_routes),
        dashboard,
    )
    .await
    .context("--status (the status page and dashboard; choose a free address with --status)")?;
    write_file(&data_dir.join(STATUS_ADDR_FILE), &status_addr.to_string())?;
    write_file(&data_dir.join(PID_FILE), &std::process::id().to_string())?;
    println!("status: http://{status_addr}/status (overlay), http://{status_addr}/role (role)");
    println!("dashboard: http://{status_addr}/");
    let role_metrics = metrics::serve_if(config.network.metrics, &peer.metrics).await?;
    let signal = crate::overlay::wait_for_signal();
    crate::overlay::heartbeat::Heartbeat::new(&config.network)
        .spawn(peer.client.clone(), Some(log.clone()));
    println!("{name}: running (Ctrl-C stops)");
    let collector = async {
        match role_metrics {
            Some(m) => metrics::run(m, chain.clone(), me, &peer).await,
            None => std::future::pending().await,
        }
    };
    print_progress_until_signal(&log, signal, collector).await;
    tracing::info!("shutting down");
    let _ = std::fs::remove_file(data_dir.join(STATUS_ADDR_FILE));
    peer.stop().await;
    let _ = writeln!(std::io::stdout(), "stopped");
    Ok(())
}

/// Prints the protocol log's progress lines until `signal` (Ctrl-C or SIGTERM), driving
/// `collector` (the metrics updates) meanwhile.
async fn print_progress_until_signal(
    log: &autonet_actors::roles::protocol_log::RunLog,
    mut signal: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
    collector: impl Future<Output = ()>,
) {
    tokio::pin!(collector);
    let mut shown = 0;
    // JSON logs carry the protocol events already: one stream, not both.
    let print = crate::logging::progress_lines();
    loop {
        for e in log.entries_since(shown) {
            // A closed stdout (the terminal went away) must not stop the peer.
            if print {
                let _ = writeln!(std::io::stdout(), "{}", e.progress_line());
            }
            shown += 1;
        }
        tokio::select! {
            _ = &mut signal => break,
            _ = &mut collector => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

/// Stakes the role's minimum unless the address is staked already (in this role).
async fn ensure_staked(
    chain: &Contracts<RpcChain>,
    me: alloy::primitives::Address,
    role: Role,
) -> anyhow::Result<()> {
    let stake = chain.stake_of(me).await?;
    if stake.amount > U256::ZERO {
        if stake.role != role as u8 {
            bail!(
                "{me} is staked in role {} on chain, not as {role:?}; unstake it first or use that role's key",
                stake.role
            );
        }
        println!(
            "stake: {} (already staked)",
            autonet_contracts::Atn(stake.amount)
        );
        return Ok(());
    }
    let need = role.min_stake();
    let have = chain.atn_balance(me).await?;
    if have < need {
        bail!(
            "{me} holds {}; staking as {role:?} needs {} (fund the address first)",
            autonet_contracts::Atn(have),
            autonet_contracts::Atn(need)
        );
    }
    crate::constitution::check_stake(&format!("{role:?}"), need, have)?;
    chain
        .stake(me, role, need)
        .await
        .context("staking failed")?;
    println!("stake: {} (staked now)", autonet_contracts::Atn(need));
    Ok(())
}

/// Binds this node's PeerId to the role address on chain unless it is bound already, so other
/// peers accept its gossip. Claims of the PeerId by other addresses (squatters: their Ed25519
/// signatures do not verify) neither block nor outrank this node's claim.
async fn ensure_bound(
    chain: &Contracts<RpcChain>,
    signer: &PrivateKeySigner,
    keypair: &autonet_p2p::Keypair,
) -> anyhow::Result<()> {
    let registered = peer::ensure_bound(chain, signer, keypair)
        .await
        .context("binding the PeerId on chain failed")?;
    if registered {
        println!("peer binding: registered");
    } else {
        println!("peer binding: on chain already");
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
