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

/// Options shared by `bootstrap` and `join`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Status endpoint (HTTP JSON, localhost only); port 0 picks a free port.
    #[arg(
        long,
        env = "AUTONET_STATUS",
        default_value = "127.0.0.1:0",
        value_name = "ADDR"
    )]
    pub status: SocketAddr,
    /// Serve Prometheus metrics (libp2p's and autonet's) at http://ADDR/metrics (localhost only).
    #[arg(long, env = "AUTONET_METRICS", value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Connections to keep: above a third more, the node disconnects the peers it needs least
    /// (outside its gossip meshes, then those it dialed itself, then the lowest scores) down to
    /// this; below three quarters of it, it dials peers it knows from the DHT. Gossip meshes need
    /// 6 to 12 peers per topic.
    #[arg(
        long,
        env = "AUTONET_TARGET_PEERS",
        default_value_t = autonet_p2p::peer_manager::DEFAULT_TARGET_PEERS,
        value_parser = clap::value_parser!(u16).range(8..=1_000),
        value_name = "N"
    )]
    pub target_peers: u16,
    /// Be an inference peer: answer plan requests of `autonet infer --peer` with this model
    /// (trained as the JEPA flags say before the node starts listening).
    #[arg(long, env = "AUTONET_INFERENCE", value_name = "MODEL")]
    pub inference: Option<InferenceModel>,
    #[command(flatten, next_help_heading = "Inference model (with --inference)")]
    pub jepa: crate::jepa::JepaArgs,
}

/// Models an inference peer can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InferenceModel {
    /// VL-JEPA latent plans.
    Jepa,
}

/// `autonet bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Multiaddrs to listen on (repeat the flag for several).
    #[arg(
        long,
        env = "AUTONET_LISTEN",
        value_delimiter = ',',
        default_values = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"],
        value_name = "MULTIADDR"
    )]
    pub listen: Vec<Multiaddr>,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// `autonet join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// Bootstrap peers, each ending in /p2p/<peer id> (repeat the flag for several).
    #[arg(
        long,
        env = "AUTONET_BOOTSTRAP",
        value_delimiter = ',',
        required = true,
        value_name = "MULTIADDR"
    )]
    pub bootstrap: Vec<Multiaddr>,
    /// Multiaddrs to listen on.
    #[arg(
        long,
        env = "AUTONET_LISTEN",
        value_delimiter = ',',
        default_values = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"],
        value_name = "MULTIADDR"
    )]
    pub listen: Vec<Multiaddr>,
    /// Answer DHT queries and hold records for others (`server`, a full peer) or only query
    /// (`client`, a light peer).
    #[arg(
        long,
        env = "AUTONET_DHT_MODE",
        default_value = "server",
        value_name = "MODE"
    )]
    pub dht_mode: DhtModeArg,
    #[command(flatten)]
    pub node: NodeArgs,
    #[command(flatten, next_help_heading = "Protocol role (with --role)")]
    pub role: crate::peer::RoleOpts,
}

/// DHT mode flag value.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DhtModeArg {
    Server,
    Client,
}

/// Runs a bootstrap node until Ctrl-C.
pub fn bootstrap(args: &BootstrapArgs, config: &Config) -> anyhow::Result<()> {
    run(
        config,
        args.listen.clone(),
        Vec::new(),
        DhtMode::Server,
        &args.node,
    )
}

/// Joins the network through the given bootstrap peers and runs until Ctrl-C.
pub fn join(args: &JoinArgs, config: &Config) -> anyhow::Result<()> {
    if let Some(role) = args.role.role {
        return crate::peer::join(args, role, config);
    }
    let mode = match args.dht_mode {
        DhtModeArg::Server => DhtMode::Server,
        DhtModeArg::Client => DhtMode::Client,
    };
    run(
        config,
        args.listen.clone(),
        args.bootstrap.clone(),
        mode,
        &args.node,
    )
}

fn run(
    config: &Config,
    listen: Vec<Multiaddr>,
    bootstrap: Vec<Multiaddr>,
    dht_mode: DhtMode,
    args: &NodeArgs,
) -> anyhow::Result<()> {
    for addr in std::iter::once(&args.status).chain(args.metrics.iter()) {
        anyhow::ensure!(
            addr.ip().is_loopback(),
            "{addr} is not a loopback address; the status and metrics endpoints serve localhost only"
        );
    }
    let plans = match args.inference {
        Some(InferenceModel::Jepa) => {
            let prepared = crate::jepa::load_or_train(&args.jepa, &config.data_dir)?;
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
    let keypair = id.p2p_keypair()?;
    let mut network = NetworkConfig::new(keypair);
    network.listen = listen;
    network.bootstrap = bootstrap;
    network.dht_mode = dht_mode;
    network.dht_store_path = Some(config.data_dir.join(DHT_STORE_FILE));
    network.peers = autonet_p2p::PeerTargets::around(usize::from(args.target_peers));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(network, args, &config.data_dir, plans))
}

async fn serve(
    network: NetworkConfig,
    args: &NodeArgs,
    data_dir: &std::path::Path,
    plans: Option<inference::PlanServer>,
) -> anyhow::Result<()> {
    let mut registry = Registry::default();
    let (client, mut events, event_loop) = autonet_p2p::new(network, &mut registry)?;
    let loop_task = tokio::spawn(event_loop.run());
    // Every long-lived node holds and serves model shards (under <data dir>/shards) and repairs
    // under-replicated ones.
    let shards = autonet_actors::shards::ShardHost::start(
        client.clone(),
        autonet_actors::shards::HostConfig::new(data_dir),
    )
    .await?;
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
                NetworkEvent::Request(rpc) => match &plans {
                    Some(server) if inference::PlanServer::serves(&rpc.service) => {
                        tokio::spawn(server.clone().handle(app_client.clone(), rpc));
                    }
                    _ => {
                        let reason = format!("this node serves no {:?}", rpc.service);
                        let response = autonet_p2p::RpcResponse::Unavailable { reason };
                        let _ = app_client.answer_rpc(rpc.id, response).await;
                    }
                },
                _ => {}
            }
        }
    });

    println!("peer id: {}", client.peer_id());
    for addr in client.listen_addrs().await? {
        println!("listening on {addr}");
    }
    let registry = Arc::new(Mutex::new(registry));
    let token = http::load_or_create_token(data_dir)?;
    let status_addr = http::spawn_status(args.status, client.clone(), recent, token).await?;
    println!(
        "status token: {}",
        data_dir.join(http::TOKEN_FILE).display()
    );
    println!("status: http://{status_addr}/status");
    if let Some(addr) = args.metrics {
        let addr = http::spawn_metrics(addr, registry.clone()).await?;
        println!("metrics: http://{addr}/metrics");
    }

    wait_for_signal().await;
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

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
