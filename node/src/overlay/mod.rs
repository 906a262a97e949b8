//! `autonet bootstrap` and `autonet join`: run a long-lived overlay node.
//!
//! Both commands load the node key from the data dir, keep DHT records in `<data-dir>/p2p.redb`,
//! print the peer id and listen addresses on stdout, serve the status JSON (and, with
//! `--metrics`, Prometheus metrics) on localhost, and stop cleanly on Ctrl-C or SIGTERM: every
//! connection is closed and the store is closed, within a few seconds. Both run a shard host
//! (`autonet_actors::shards`): they hold model shards under `<data-dir>/shards`, serve them, and
//! repair under-replicated ones.
//!
//! Until the protocol actors land, the node's application accepts every well-formed envelope and
//! keeps the last [`http::RECENT_MESSAGES`] in memory for the status endpoint. With
//! `--inference jepa` the node is an inference peer: [`inference`] answers plan requests over
//! the RPC protocol; [`plan_client`] is the asking side used by `autonet infer --peer`.

pub mod constitution;
pub mod heartbeat;
pub mod http;
pub mod inference;
pub mod plan_client;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use autonet_p2p::{DhtMode, Multiaddr, NetworkConfig, NetworkEvent};
use clap::Args;
use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::identity;

/// File of the DHT record store inside the data dir.
pub const DHT_STORE_FILE: &str = "p2p.redb";

/// Options shared by `bootstrap` and `join`. Each is also a key of the config file's
/// `[network]` or `[inference]` table.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Status endpoint (HTTP JSON, localhost only); port 0 picks a free port
    /// [default: 127.0.0.1:0].
    #[arg(long, env = "AUTONET_STATUS", value_name = "ADDR")]
    pub status: Option<SocketAddr>,
    /// Serve Prometheus metrics (libp2p's and autonet's, and a role peer's role metrics) at
    /// http://ADDR/metrics; a non-loopback ADDR (for a scraper on another host) is served with
    /// a warning, the page has no authentication.
    #[arg(long, env = "AUTONET_METRICS", value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Connections to keep: above a third more, the node disconnects the peers it needs least
    /// (outside its gossip meshes, then those it dialed itself, then the lowest scores) down to
    /// this; below three quarters of it, it dials peers it knows from the DHT. Gossip meshes need
    /// 6 to 12 peers per topic [default: 32].
    #[arg(
        long,
        env = "AUTONET_TARGET_PEERS",
        value_parser = clap::value_parser!(u16).range(8..=1_000),
        value_name = "N"
    )]
    pub target_peers: Option<u16>,
    /// Log a one-line summary (peers, mesh, epoch, phase) every SECS seconds; 0 turns it off
    /// [default: 60].
    #[arg(long, env = "AUTONET_SUMMARY_SECS", value_name = "SECS")]
    pub summary_secs: Option<u32>,
    /// Warn when the node has no peer this many seconds after it started dialling its
    /// bootstrap peers [default: 30].
    #[arg(
        long,
        env = "AUTONET_BOOTSTRAP_TIMEOUT",
        value_parser = clap::value_parser!(u32).range(1..=3_600),
        value_name = "SECS"
    )]
    pub bootstrap_timeout: Option<u32>,
    /// Most disk the node's model shards take, in GiB [default: 10].
    #[arg(
        long,
        env = "AUTONET_SHARD_QUOTA_GIB",
        value_parser = clap::value_parser!(u64).range(1..=1 << 20),
        value_name = "GIB"
    )]
    pub shard_quota_gib: Option<u64>,
    /// A public address to announce besides those the node learns, e.g. the router's address
    /// of a port forward (repeat the flag for several).
    #[arg(
        long = "external-addr",
        env = "AUTONET_EXTERNAL_ADDR",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    pub external_addrs: Option<Vec<Multiaddr>>,
    /// Be an inference peer: answer plan requests of `autonet infer --peer` with this model
    /// (trained as the JEPA flags say before the node starts listening).
    #[arg(long, env = "AUTONET_INFERENCE", value_name = "MODEL")]
    pub inference: Option<InferenceModel>,
    /// Graph set, device and training steps of the served JEPA model.
    #[command(flatten, next_help_heading = "Inference model (with --inference)")]
    pub jepa: crate::jepa::JepaArgs,
}

/// Models an inference peer can serve.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum InferenceModel {
    /// VL-JEPA latent plans.
    Jepa,
}

/// `autonet bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Multiaddrs to listen on (repeat the flag for several)
    /// [default: /ip4/0.0.0.0/tcp/4001,/ip4/0.0.0.0/udp/4001/quic-v1].
    #[arg(
        long,
        env = "AUTONET_LISTEN",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    pub listen: Option<Vec<Multiaddr>>,
    /// Status and metrics endpoints, connection target, inference.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// `autonet join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// Bootstrap peers, each ending in /p2p/<peer id> (repeat the flag for several); needed here
    /// or as `network.bootstrap` in the config file.
    #[arg(
        long,
        env = "AUTONET_BOOTSTRAP",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    pub bootstrap: Option<Vec<Multiaddr>>,
    /// Multiaddrs to listen on [default: /ip4/0.0.0.0/tcp/0,/ip4/0.0.0.0/udp/0/quic-v1].
    #[arg(
        long,
        env = "AUTONET_LISTEN",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    pub listen: Option<Vec<Multiaddr>>,
    /// Answer DHT queries and hold records for others (`server`, a full peer) or only query
    /// (`client`, a light peer) [default: server].
    #[arg(long, env = "AUTONET_DHT_MODE", value_name = "MODE")]
    pub dht_mode: Option<DhtModeArg>,
    /// Status and metrics endpoints, connection target, inference.
    #[command(flatten)]
    pub node: NodeArgs,
    /// The staked protocol role to take, its chain and plan.
    #[command(flatten, next_help_heading = "Protocol role (with --role)")]
    pub role: crate::peer::RoleOpts,
}

/// DHT mode flag value.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum DhtModeArg {
    /// Answer DHT queries and hold records for others (a full peer).
    Server,
    /// Only query the DHT (a light peer).
    Client,
}

impl DhtModeArg {
    /// The overlay's mode.
    pub fn mode(self) -> DhtMode {
        match self {
            DhtModeArg::Server => DhtMode::Server,
            DhtModeArg::Client => DhtMode::Client,
        }
    }
}

/// Runs a bootstrap node until Ctrl-C (its settings are all in `config`).
pub fn bootstrap(config: &Config) -> anyhow::Result<()> {
    run(config, Vec::new(), DhtMode::Server)
}

/// Joins the network through the configured bootstrap peers and runs until Ctrl-C; with a
/// configured role, as that role's protocol peer.
pub fn join(config: &Config) -> anyhow::Result<()> {
    anyhow::ensure!(
        !config.network.bootstrap.is_empty(),
        "join needs a bootstrap peer: --bootstrap MULTIADDR or network.bootstrap in the config file"
    );
    if let Some(role) = config.role.role {
        return crate::peer::join(role, config);
    }
    run(
        config,
        config.network.bootstrap.clone(),
        config.network.dht_mode.mode(),
    )
}

/// The overlay settings of `config` for `keypair` (its listen addresses, bootstrap peers, DHT
/// mode and store, peer targets and limits).
pub fn network_config(config: &Config, keypair: autonet_p2p::Keypair) -> NetworkConfig {
    let net = &config.network;
    let mut network = NetworkConfig::new(keypair);
    network.listen = net.listen.clone();
    network.bootstrap = net.bootstrap.clone();
    network.external_addrs = net.external_addrs.clone();
    network.dht_mode = net.dht_mode.mode();
    network.dht_store_path = Some(config.data_dir.join(DHT_STORE_FILE));
    network.peers = autonet_p2p::PeerTargets::around(usize::from(net.target_peers));
    network.limits = net.limits.clone();
    network.nat = net.nat.clone();
    network.agent_version = crate::integrity::agent_version();
    network
}

fn run(config: &Config, bootstrap: Vec<Multiaddr>, dht_mode: DhtMode) -> anyhow::Result<()> {
    let plans = match config.inference.model {
        Some(InferenceModel::Jepa) => {
            let prepared = crate::jepa::load_or_train(&config.inference, &config.data_dir, false)?;
            let server = inference::PlanServer::new(prepared.pipeline);
            println!(
                "inference: serving jepa plans (model {}, checkpoint {} {})",
                hex::encode(server.model_id()),
                prepared.origin.name(),
                prepared.checkpoint.display()
            );
            Some(server)
        }
        None => None,
    };
    let id = identity::load_or_create(&config.data_dir)?;
    let mut network = network_config(config, id.p2p_keypair()?);
    let mut net = config.network.clone();
    net.bootstrap = bootstrap.clone();
    let heartbeat = heartbeat::Heartbeat::new(&net);
    network.bootstrap = bootstrap;
    network.dht_mode = dht_mode;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let endpoints = Endpoints {
        status: config.network.status,
        metrics: config.network.metrics,
        heartbeat,
        shard_quota_bytes: config.shards.quota_bytes(),
    };
    runtime.block_on(serve(network, endpoints, &config.data_dir, plans))
}

/// Where the local HTTP endpoints listen, and what the log's heartbeat reports.
#[derive(Debug, Clone)]
struct Endpoints {
    status: SocketAddr,
    metrics: Option<SocketAddr>,
    heartbeat: heartbeat::Heartbeat,
    shard_quota_bytes: u64,
}

async fn serve(
    network: NetworkConfig,
    args: Endpoints,
    data_dir: &std::path::Path,
    plans: Option<inference::PlanServer>,
) -> anyhow::Result<()> {
    let mut registry = Registry::default();
    let (client, mut events, event_loop) = autonet_p2p::new(network, &mut registry)?;
    let loop_task = tokio::spawn(event_loop.run());
    // Every long-lived node holds and serves model shards (under <data dir>/shards) and repairs
    // under-replicated ones.
    let mut host_config = autonet_actors::shards::HostConfig::new(data_dir);
    host_config.quota_bytes = args.shard_quota_bytes;
    let shards = autonet_actors::shards::ShardHost::start(client.clone(), host_config).await?;
    if let Some(server) = plans {
        server.serve(&client).await?;
    }
    constitution::serve_shipped(&client).await?;
    let recent = http::Recent::default();
    let app_recent = recent.clone();
    let app_client = client.clone();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                NetworkEvent::Message(message) => {
                    app_recent.push(&message);
                    let _ = app_client
                        .report_validation(
                            message.id,
                            message.propagation_source,
                            autonet_p2p::MessageAcceptance::Accept,
                        )
                        .await;
                }
                NetworkEvent::PeerBanned { peer, duration } => {
                    tracing::warn!(%peer, secs = duration.as_secs(), "peer banned");
                }
                _ => {}
            }
        }
    });

    let signal = wait_for_signal();
    args.heartbeat.clone().spawn(client.clone(), None);
    println!("peer id: {}", client.peer_id());
    for addr in client.listen_addrs().await? {
        println!("listening on {addr}");
    }
    let registry = Arc::new(Mutex::new(registry));
    let token = http::load_or_create_token(data_dir)?;
    let dashboard = crate::dashboard::node::spawn(crate::dashboard::node::NodeSources {
        shards: Some(shards.clone()),
        ..crate::dashboard::node::NodeSources::overlay(client.clone())
    });
    let status_addr =
        http::spawn_status(args.status, client.clone(), recent, token, None, dashboard)
            .await
            .context(
                "--status (the status page and dashboard; choose a free address with --status)",
            )?;
    println!(
        "status token: {}",
        data_dir.join(http::TOKEN_FILE).display()
    );
    println!("status: http://{status_addr}/status");
    println!("dashboard: http://{status_addr}/");
    if let Some(addr) = args.metrics {
        let addr = http::spawn_metrics(addr, registry.clone())
            .await
            .context("--metrics (choose a free address)")?;
        println!("metrics: http://{addr}/metrics");
    }

    signal.await;
    tracing::info!("shutting down");
    shards.shutdown().await;
    match tokio::time::timeout(Duration::from_secs(3), client.shutdown()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(%err, "network stopped with an error"),
        Err(_) => tracing::warn!("network did not stop within 3 s; exiting anyway"),
    }
    loop_task.abort();
    println!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are registered when this is called, not when
/// the future is first polled: call it before telling anyone that the node runs, so a signal
/// sent right after is caught instead of killing the process.
pub(crate) fn wait_for_signal() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            return Box::pin(async move {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            });
        }
    }
    Box::pin(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
