//! `autonet agent serve`: a node's agent runtime as a long-running process — the agents kept in
//! its data dir (restored at start, so a crash loses none), the embedded model (or configured
//! providers) with the constitution's preamble and guard, the node's built-in tools and any MCP
//! servers given, and the agent API (WebSocket) that `autonet agent …` and `autonet agents`
//! talk to.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use autonet_agents::api::ws::{Access, router};
use autonet_agents::mcp::McpTools;
use autonet_agents::runtime::{
    NO_OWNER, Outbound, Providers, RemoteFinder, Runtime, RuntimeConfig, RuntimeDeps,
};
use autonet_agents::{
    AgentDefinition, Directory, EventType, InboxError, InboxMessage, LocalDelivery, Mailer,
    MailerConfig, Posted, ToolBox,
};
use autonet_p2p::Multiaddr;
use autonet_p2p::testnet::poll_until;
use clap::Args;

use crate::config::Config;

/// Flags of `autonet agent serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the agent API listens (WebSocket at ws://ADDR/ws). Loopback by default; another
    /// address needs --token-file.
    #[arg(long, env = "AUTONET_AGENT_LISTEN", default_value = "127.0.0.1:7700")]
    pub listen: SocketAddr,
    /// File whose first line is the owner's token (full scope); clients send it as
    /// `Authorization: Bearer <token>` or `?token=`.
    #[arg(long, env = "AUTONET_AGENT_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// A token scoped to one agent's subtree: `AGENT=FILE` (repeatable).
    #[arg(long = "scoped-token", value_name = "AGENT=FILE")]
    pub scoped_tokens: Vec<String>,
    /// Agent definitions (TOML files) to register at start, besides those kept in the store.
    #[arg(long = "agent", value_name = "FILE")]
    pub agents: Vec<PathBuf>,
    /// Activate the agents given with --agent (their schedules and inbox triggers run them).
    #[arg(long)]
    pub activate: bool,
    /// An MCP server over streamable HTTP whose tools agents may use (repeatable).
    #[arg(long = "mcp-http", value_name = "URL")]
    pub mcp_http: Vec<String>,
    /// An MCP server started as a child process (stdio): the command and its arguments,
    /// space-separated (repeatable).
    #[arg(long = "mcp-stdio", value_name = "COMMAND")]
    pub mcp_stdio: Vec<String>,
    /// The most tokens one model turn may generate.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=8192))]
    pub max_tokens: u32,
    /// The most seconds one tool call may take.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub tool_timeout: u64,
    /// Join the overlay listening here (repeatable, e.g. /ip4/0.0.0.0/tcp/4002): agents on
    /// other peers can then delegate to this node's agents (found by their capabilities through
    /// the DHT) and send them mail, and this node's agents reach theirs.
    #[arg(long = "p2p-listen", value_name = "MULTIADDR")]
    pub p2p_listen: Vec<Multiaddr>,
    /// Overlay peers to join through (each ending in /p2p/<peer id>); joins the overlay even
    /// without --p2p-listen (then on any free TCP port).
    #[arg(
        long,
        env = "AUTONET_BOOTSTRAP",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    pub bootstrap: Vec<Multiaddr>,
    /// The owner's chain address: the root of every agent's lineage, which other peers check
    /// before they do delegated work [default: the zero address, no owner].
    #[arg(long, env = "AUTONET_AGENT_OWNER", value_name = "ADDRESS")]
    pub owner: Option<alloy::primitives::Address>,
    /// Flag every answer on the charter's six axes with the agent's model before its trace is
    /// signed (the seed's binary-flag prompt: one short model call per answer, at most four per
    /// run); without it the substrate scores traces with its keyword embedder.
    #[arg(long)]
    pub flag_traces: bool,
}

/// The overlay side of a serving node: mail to and from other peers' agents, and the cards
/// its agents are found by.
struct Overlay {
    client: autonet_p2p::Client,
    mailer: Mailer,
    directory: Directory,
    delivery: Arc<LateDelivery>,
}

/// Mail that arrives before the runtime has restored its agents is asked to come again later
/// (the sender's outbox keeps it), never refused.
#[derive(Default)]
struct LateDelivery(std::sync::OnceLock<Runtime>);

impl LocalDelivery for LateDelivery {
    fn deliver(&self, message: InboxMessage) -> Result<Posted, InboxError> {
        match self.0.get() {
            Some(runtime) => runtime.deliver(message),
            None => Err(InboxError::Unavailable(
                "the agent runtime is starting".into(),
            )),
        }
    }
}

/// Joins the overlay as this node's identity; serves mail and cards.
async fn join_overlay(
    args: &ServeArgs,
    config: &Config,
    keypair: autonet_p2p::Keypair,
    store: Arc<autonet_store::Store>,
) -> anyhow::Result<Overlay> {
    let mut network = crate::overlay::network_config(config, keypair.clone());
    network.listen = if args.p2p_listen.is_empty() {
        vec!["/ip4/0.0.0.0/tcp/0".parse()?]
    } else {
        args.p2p_listen.clone()
    };
    network.bootstrap = args.bootstrap.clone();
    let (client, mut events, event_loop) = autonet_p2p::new(
        network,
        &mut prometheus_client::registry::Registry::default(),
    )?;
    tokio::spawn(event_loop.run());
    let delivery = Arc::new(LateDelivery::default());
    let mailer = Mailer::start(
        client.clone(),
        keypair.clone(),
        store,
        delivery.clone(),
        MailerConfig::default(),
    )
    .await?;
    let on_connect = mailer.clone();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let autonet_p2p::NetworkEvent::PeerConnected(peer) = event {
                on_connect.peer_connected(peer);
            }
        }
    });
    let directory = Directory::start(client.clone(), keypair).await?;
    Ok(Overlay {
        client,
        mailer,
        directory,
        delivery,
    })
}

/// Publishes the card of every agent that offers a capability, now and whenever agents are
/// registered or removed.
fn publish_cards(runtime: &Runtime, directory: &Directory) {
    let mut events = runtime.events().subscribe();
    let (runtime, directory) = (runtime.clone(), directory.clone());
    tokio::spawn(async move {
        for agent in runtime.list() {
            publish_card(&runtime, &directory, &agent.id).await;
        }
        loop {
            match events.recv().await {
                Ok(e) if e.event_type == EventType::AgentRegistered => {
                    publish_card(&runtime, &directory, &e.source).await;
                }
                Ok(e) if e.event_type == EventType::AgentUnregistered => {
                    directory.unpublish(&e.source).await;
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

async fn publish_card(runtime: &Runtime, directory: &Directory, agent: &str) {
    match runtime.card(agent) {
        Ok(Some(card)) => {
            if let Err(e) = directory.publish(card).await {
                tracing::warn!(%agent, error = %e, "cannot publish the agent's card");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(%agent, error = %e, "no card for the agent"),
    }
}

fn access(args: &ServeArgs) -> anyhow::Result<Access> {
    let owner_token = args
        .token_file
        .as_deref()
        .map(super::read_token)
        .transpose()?;
    if owner_token.is_none() && !args.listen.ip().is_loopback() {
        bail!(
            "--listen {} is not a loopback address: give --token-file so only the owner can drive the agents",
            args.listen
        );
    }
    let mut scoped = BTreeMap::new();
    for spec in &args.scoped_tokens {
        let (agent, file) = spec
            .split_once('=')
            .with_context(|| format!("--scoped-token {spec:?}: expected AGENT=FILE"))?;
        scoped.insert(
            super::read_token(std::path::Path::new(file))?,
            agent.to_string(),
        );
    }
    if owner_token.is_none() && !scoped.is_empty() {
        bail!(
            "--scoped-token needs --token-file (without an owner token every session has full scope)"
        );
    }
    Ok(Access {
        owner_token,
        scoped,
    })
}

/// The agent store file in the data dir.
pub const AGENT_STORE: &str = "agents.redb";

/// Starts the runtime with the node's tools and model; restores the kept agents.
pub async fn start_runtime(args: &ServeArgs, config: &Config) -> anyhow::Result<Runtime> {
    Ok(start(args, config).await?.0)
}

/// The runtime, and the overlay when --p2p-listen or --bootstrap asks for one.
async fn start(args: &ServeArgs, config: &Config) -> anyhow::Result<(Runtime, Option<Overlay>)> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let store_path = config.data_dir.join(AGENT_STORE);
    let store = Arc::new(
        autonet_store::Store::open(&store_path)
            .with_context(|| format!("cannot open the agent store {}", store_path.display()))?,
    );
    let identity = crate::identity::load_or_create(&config.data_dir)?;
    let key = super::setup::trace_key(&identity.p2p_keypair()?)?;
    let overlay = if args.p2p_listen.is_empty() && args.bootstrap.is_empty() {
        None
    } else {
        Some(join_overlay(args, config, identity.p2p_keypair()?, Arc::clone(&store)).await?)
    };
    let mut tools = ToolBox::new(Duration::from_secs(args.tool_timeout));
    // The node's built-in tools, over the runtime's own store (messages and delegation go
    // through the runtime once it runs).
    let node = Arc::new(super::NodeTools::with_store(
        config,
        (
            autonet_models::substrate::World::charter_v1(),
            "charter".to_string(),
        ),
        None,
        Arc::clone(&store),
    )?);
    tools.add(Arc::new(autonet_agents::BuiltinTools::new(node.clone())));
    for url in &args.mcp_http {
        let mcp = McpTools::http(url, None)
            .await
            .with_context(|| format!("cannot reach the MCP server {url}"))?;
        tools.add(Arc::new(mcp));
    }
    for command in &args.mcp_stdio {
        let mut words = command.split_whitespace();
        let program = words.next().context("--mcp-stdio needs a command")?;
        let rest: Vec<String> = words.map(str::to_string).collect();
        let mcp = McpTools::stdio(program, &rest, &[])
            .await
            .with_context(|| format!("cannot start the MCP server {command:?}"))?;
        tools.add(Arc::new(mcp));
    }
    let provider = super::setup::embedded(autonet_llm::Limits::default())?;
    let runtime = Runtime::start(RuntimeDeps {
        store: Arc::clone(&store),
        providers: Providers::single(provider),
        tools,
        key,
        guard: Some(Arc::new(super::ConstitutionGuard::shipped()?)),
        outbound: overlay
            .as_ref()
            .map(|o| Arc::new(o.mailer.clone()) as Arc<dyn Outbound>),
        directory: overlay
            .as_ref()
            .map(|o| Arc::new(o.directory.clone()) as Arc<dyn RemoteFinder>),
        self_address: overlay.as_ref().map(|o| o.client.peer_id().to_string()),
        preamble: Some(super::setup::preamble()?),
        config: RuntimeConfig {
            max_tokens_per_turn: args.max_tokens,
            owner: args
                .owner
                .map(|a| format!("{a:#x}"))
                .unwrap_or_else(|| NO_OWNER.to_string()),
            flag_traces: args.flag_traces,
            ..RuntimeConfig::default()
        },
    })
    .await?;
    node.attach(runtime.clone());
    let restored = runtime.restore().await?;
    for path in &args.agents {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let def =
            AgentDefinition::from_toml(&text).with_context(|| format!("{}", path.display()))?;
        let id = def.id.clone();
        if !restored.contains(&id) {
            runtime.register(def).await?;
        }
        if args.activate {
            runtime.activate(&id)?;
        }
    }
    if let Some(o) = &overlay {
        // From now on mail from other peers lands (what came earlier waits in their outboxes).
        let _ = o.delivery.0.set(runtime.clone());
        publish_cards(&runtime, &o.directory);
    }
    Ok((runtime, overlay))
}

/// Runs `autonet agent serve` until Ctrl-C.
pub async fn serve(args: &ServeArgs, config: &Config) -> anyhow::Result<()> {
    let access = access(args)?;
    let (runtime, overlay) = start(args, config).await?;
    if let Some(o) = &overlay {
        // Stderr, one line per address: scripts and tests read where to reach this peer.
        let addrs = poll_until(
            Duration::from_secs(10),
            Duration::from_millis(50),
            || async {
                let a = o.client.listen_addrs().await.ok()?;
                (!a.is_empty()).then_some(a)
            },
        )
        .await
        .context("the overlay did not start listening")?;
        let me = o.client.peer_id();
        for addr in addrs {
            // Listen addresses may carry the peer id already.
            let full = if autonet_p2p::peer_id_of(&addr).is_some() {
                addr.to_string()
            } else {
                format!("{addr}/p2p/{me}")
            };
            eprintln!("agent overlay: {full}");
        }
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let bound = listener.local_addr()?;
    // Stderr: a supervisor reads the address from here; stdout stays free.
    eprintln!(
        "agent API: ws://{bound}/ws ({} agents)",
        runtime.list().len()
    );
    tokio::select! {
        served = axum::serve(listener, router(runtime.clone(), access)) => served.context("the agent API stopped")?,
        _ = tokio::signal::ctrl_c() => {}
    }
    runtime.shutdown();
    if let Some(o) = overlay {
        o.mailer.stop().await;
        o.directory.stop();
        let _ = o.client.shutdown().await;
    }
    Ok(())
}
