//! `autonet agent …`: the agent layer from the command line. `agent mcp` serves the node's
//! built-in tools (infer, model_status, balance, post_message, delegate, submit_trace) as an MCP
//! server, over stdio or streamable HTTP, for any MCP client (an IDE, another agent runtime).

pub mod client;
pub mod guard;
mod node_api;
pub mod serve;
pub mod setup;

pub use guard::ConstitutionGuard;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use autonet_agents::mcp::{HttpOptions, router, serve_stdio};
use autonet_agents::{BuiltinTools, ToolBox};
use clap::{Args, Subcommand};

use crate::config::Config;
pub use node_api::{AGENT_STORE_FILE, NodeTools};
pub(crate) use node_api::{infer_json, model_status_json};

/// `autonet agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AgentCommand,
}

/// The `autonet agent` subcommands; each variant's doc comment is its `--help` text.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Serve the node's built-in tools over MCP: on stdin/stdout (--stdio, for a client that
    /// starts this command) or over streamable HTTP at http://ADDR/mcp (--listen; loopback by
    /// default; another address needs --token-file, whose first line clients send as
    /// `Authorization: Bearer <token>`). Messages posted with post_message are kept in the
    /// inbox in <data-dir>/agents.redb.
    Mcp(McpArgs),
    /// Run this node's agents: the agents kept in <data-dir>/agents.redb (restored at start) and
    /// any given with --agent, on the embedded model, with the constitution's preamble and guard,
    /// and the agent API (WebSocket at ws://ADDR/ws) the other `agent` commands talk to.
    Serve(serve::ServeArgs),
    /// List the agents of a running `agent serve`.
    List(client::ClientArgs),
    /// Register an agent from a TOML definition file.
    New(client::NewArgs),
    /// Start a run of an agent now (with --task replacing its task prompt).
    Run(client::RunArgs),
    /// Post a message to an agent's inbox (a trigger: an active agent runs).
    Send(client::SendArgs),
    /// Hand a task to another agent: a local id, a capability (this node's agents first, then
    /// agent cards on other peers, found through the DHT) or `<peer-id>/<agent-id>`. The result
    /// comes back to the delegating agent's inbox (--from) as a `completed` or `failed` message.
    Delegate(client::DelegateArgs),
    /// Show the messages waiting in an agent's inbox.
    Inbox(client::AgentIdArgs),
    /// Show an agent's finished runs.
    Logs(client::AgentIdArgs),
    /// Stop every run of an agent now.
    Kill(client::AgentIdArgs),
}

/// Flags of `autonet agent mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Serve on stdin and stdout (the client starts this command).
    #[arg(long, conflicts_with_all = ["listen", "token_file"])]
    pub stdio: bool,
    /// Serve streamable HTTP at this address (port 0: any free port; the address is printed).
    #[arg(
        long,
        env = "AUTONET_AGENT_MCP_LISTEN",
        default_value = "127.0.0.1:8792"
    )]
    pub listen: SocketAddr,
    /// File whose first line is the bearer token clients must send (required off loopback).
    #[arg(long, env = "AUTONET_AGENT_MCP_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The world model (CBOR) `infer` answers from [default: the charter world].
    #[arg(long, env = "AUTONET_AGENT_MCP_WORLD", value_name = "FILE")]
    pub world: Option<PathBuf>,
    /// The role whose key and stake `balance` reports (with `chain.rpc_url` and
    /// `chain.governor` configured).
    #[arg(long, env = "AUTONET_KEY_ROLE", value_enum)]
    pub role: Option<crate::peer::RoleArg>,
    /// The most seconds one tool call may take.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub call_timeout: u64,
}

/// Runs `autonet agents` (the live event stream).
pub fn events(args: &client::ClientArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(client::events(args))
}

/// Runs `autonet agent …`.
pub fn run(args: &AgentArgs, config: &Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    match &args.command {
        AgentCommand::Mcp(mcp) => runtime.block_on(serve_mcp(mcp, config)),
        AgentCommand::Serve(serve) => runtime.block_on(serve::serve(serve, config)),
        AgentCommand::List(c) => runtime.block_on(client::list(c)),
        AgentCommand::New(c) => runtime.block_on(client::new(c)),
        AgentCommand::Run(c) => runtime.block_on(client::run(c)),
        AgentCommand::Send(c) => runtime.block_on(client::send(c)),
        AgentCommand::Delegate(c) => runtime.block_on(client::delegate(c)),
        AgentCommand::Inbox(c) => runtime.block_on(client::simple(c, "inbox")),
        AgentCommand::Logs(c) => runtime.block_on(client::simple(c, "history")),
        AgentCommand::Kill(c) => runtime.block_on(client::simple(c, "kill")),
    }
}

fn read_token(path: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    Ok(token)
}

async fn serve_mcp(args: &McpArgs, config: &Config) -> anyhow::Result<()> {
    let node = NodeTools::open(config, args.world.as_deref(), args.role)?;
    let mut tools = ToolBox::new(Duration::from_secs(args.call_timeout));
    tools.add(Arc::new(BuiltinTools::new(Arc::new(node))));
    let tools = Arc::new(tools);
    if args.stdio {
        // stdout carries the protocol: nothing else may be printed there.
        return serve_stdio(tools)
            .await
            .context("the MCP stdio server failed");
    }
    let token = args.token_file.as_deref().map(read_token).transpose()?;
    let loopback = args.listen.ip().is_loopback();
    if !loopback && token.is_none() {
        bail!(
            "serving on {} (not loopback) needs --token-file: anyone could use the node's tools otherwise",
            args.listen
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let allowed_hosts = if loopback {
        Vec::new()
    } else {
        // Off loopback the token guards the door; clients name the host as they reach it.
        vec![addr.ip().to_string(), addr.to_string()]
    };
    let app = router(
        tools,
        HttpOptions {
            token,
            allowed_hosts,
        },
    );
    // Tests and scripts read the address from this line (the port may have been 0).
    println!("serving MCP at http://{addr}/mcp");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("the MCP server failed")
}
