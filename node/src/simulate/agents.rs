//! `simulate --agents N`: agents at work beside the training network, whose traces become its
//! training data in the same run.
//!
//! N agents (pipeline agents: a tool call, then the embedded model) run on the first solver's
//! peer: its identity signs their traces and its overlay client announces them on the `traces`
//! topic. Their tools are the node's built-in tools reached over MCP: the simulation serves them
//! on a loopback streamable-HTTP endpoint and the agents connect as MCP clients, as any agent of
//! a node does. The chain clock is held (a seat on the block board) until every proposer has
//! filed every trace, so the first task built after the agents ran draws from the live pool.

use std::collections::BTreeSet;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Context, bail};
use autonet_agents::builtin::{NodeError, NodeResult};
use autonet_agents::mcp::{HttpOptions, McpTools, router};
use autonet_agents::runtime::{Providers, Runtime, RuntimeConfig, RuntimeDeps};
use autonet_agents::trace::SignedTrace;
use autonet_agents::{
    AgentDefinition, BuiltinTools, EventType, Mode, NodeApi, Priority, Step, ToolBox,
};
use autonet_contracts::Chain;
use autonet_models::substrate::{World, keyword::KeywordEmbedder};
use autonet_p2p::{Client, GossipTopic, Keypair};
use serde::Serialize;
use serde_json::json;

use super::network::SimChain;

/// The block-board seat that holds the chain until the agents' traces are filed.
pub const AGENTS_SEAT: &str = "agents";

/// What the agents did, in the report.
#[derive(Debug, Clone, Serialize)]
pub struct AgentsReport {
    /// The peer the agents ran on.
    pub host: String,
    /// One line per agent.
    pub agents: Vec<AgentLine>,
    /// Per epoch: how many batch items came from the agents' traces.
    pub epochs: Vec<EpochTraces>,
}

/// One agent's work.
#[derive(Debug, Clone, Serialize)]
pub struct AgentLine {
    /// Its id.
    pub agent: String,
    /// Its runs.
    pub runs: u64,
    /// Its recorded traces (content ids, hex).
    pub traces: Vec<String>,
    /// Turns in those traces.
    pub turns: usize,
    /// Model tokens spent.
    pub tokens: u64,
    /// Tool calls made over MCP.
    pub tool_calls: u64,
    /// Its last output (or error).
    pub last_output: String,
}

/// One epoch's use of the traces.
#[derive(Debug, Clone, Serialize)]
pub struct EpochTraces {
    /// The epoch.
    pub epoch: u64,
    /// Items in its task batch.
    pub batch: usize,
    /// Of them, turns of the agents' traces.
    pub from_traces: usize,
}

/// The built-in tools as the simulation offers them: inference from the genesis world, the
/// host's balance on the embedded chain, messages through the runtime.
#[derive(Debug)]
struct SimNode {
    // The world memoizes scores as it answers: one caller at a time.
    world: Arc<std::sync::Mutex<World>>,
    embedder: Arc<KeywordEmbedder>,
    chain: Arc<SimChain>,
    address: Address,
    runtime: OnceLock<Runtime>,
}

impl NodeApi for SimNode {
    fn infer<'a>(&'a self, query: &'a str) -> NodeResult<'a> {
        crate::agent::infer_json(
            Arc::clone(&self.world),
            Arc::clone(&self.embedder),
            json!({"type": "message", "content": query}),
        )
    }

    fn model_status(&self) -> NodeResult<'_> {
        crate::agent::model_status_json(&self.world, "genesis (the charter world)")
    }

    fn balance(&self) -> NodeResult<'_> {
        Box::pin(async move {
            let wei = self
                .chain
                .atn_balance(self.address)
                .await
                .map_err(|e| NodeError(format!("the chain query failed: {e}")))?;
            Ok(json!({
                "address": self.address.to_string(),
                "balance_wei": wei.to_string(),
                "balance": autonet_contracts::Atn(wei).to_string(),
            }))
        })
    }

    fn post_message<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        priority: Priority,
    ) -> NodeResult<'a> {
        Box::pin(async move {
            let runtime = self
                .runtime
                .get()
                .ok_or_else(|| NodeError("the runtime is starting".into()))?;
            runtime
                .send_text("mcp", to, text, priority)
                .map_err(|e| NodeError(e.to_string()))?;
            Ok(json!({"to": to, "posted": true}))
        })
    }

    fn delegate<'a>(&'a self, _target: &'a str, _task: &'a str) -> NodeResult<'a> {
        Box::pin(async {
            Err(NodeError(
                "delegation is not part of a simulation's agents".into(),
            ))
        })
    }

    fn submit_trace<'a>(&'a self, _text: &'a str) -> NodeResult<'a> {
        Box::pin(async {
            Err(NodeError(
                "a simulation's agents record their traces themselves".into(),
            ))
        })
    }
}

/// The agents of a simulation.
#[derive(Debug)]
pub struct SimAgents {
    runtime: Runtime,
    ids: Vec<String>,
    host: String,
    server: tokio::task::JoinHandle<()>,
}

/// The definitions of `n` agents (four kinds of small task, in turn).
fn definitions(n: usize) -> Vec<AgentDefinition> {
    let kinds: [(&str, &str, serde_json::Value, &str); 4] = [
        (
            "reporter",
            "model_status",
            json!({}),
            "Report this model status in one short sentence: {input}",
        ),
        (
            "analyst",
            "infer",
            json!({"query": "Before I proceed, let me confirm: back up the database, then run the migration."}),
            "In one short sentence, what does this evaluation say? {input}",
        ),
        (
            "treasurer",
            "balance",
            json!({}),
            "Summarize this account in one short sentence: {input}",
        ),
        (
            "courier",
            "post_message",
            json!({"to": "agent-1", "text": "The training run has started."}),
            "Confirm in one short sentence that this message was posted: {input}",
        ),
    ];
    (0..n)
        .map(|i| {
            let (kind, tool, arguments, prompt) = kinds[i % kinds.len()].clone();
            let id = format!("agent-{}", i + 1);
            let mut def = AgentDefinition::new(
                &id,
                "You are a concise assistant on the autonet network.",
                "",
            );
            def.name = kind.to_string();
            def.mode = Mode::Pipeline;
            def.tools = vec![tool.to_string()];
            def.steps = vec![
                Step::Tool {
                    name: "look".into(),
                    tool: tool.into(),
                    arguments,
                },
                Step::Cognitive {
                    name: "tell".into(),
                    prompt: prompt.into(),
                },
            ];
            def
        })
        .collect()
}

impl SimAgents {
    /// Starts the MCP endpoint, the runtime and `n` agents on the host peer, and runs each once.
    pub async fn start(
        n: usize,
        max_tokens: u32,
        host: (String, Keypair, Address),
        chain: Arc<SimChain>,
        dir: &std::path::Path,
    ) -> anyhow::Result<SimAgents> {
        let (host_name, key, address) = host;
        let key = crate::agent::setup::trace_key(&key)?;
        let provider = crate::agent::setup::embedded(autonet_llm::Limits::default())?;
        let node = Arc::new(SimNode {
            world: Arc::new(std::sync::Mutex::new(World::charter_v1())),
            embedder: Arc::new(KeywordEmbedder::new()?),
            chain,
            address,
            runtime: OnceLock::new(),
        });
        let mut builtin = ToolBox::new(Duration::from_secs(60));
        builtin.add(Arc::new(BuiltinTools::new(node.clone())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen for the agents' MCP endpoint")?;
        let url = format!("http://{}/mcp", listener.local_addr()?);
        let app = router(Arc::new(builtin), HttpOptions::default());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mcp = McpTools::http(&url, None)
            .await
            .with_context(|| format!("cannot connect the agents to the MCP endpoint {url}"))?;
        let mut tools = ToolBox::new(Duration::from_secs(60));
        tools.add(Arc::new(mcp));
        std::fs::create_dir_all(dir.join("agents"))?;
        let store = Arc::new(autonet_store::Store::open(
            dir.join("agents").join("state.redb"),
        )?);
        let runtime = Runtime::start(RuntimeDeps {
            store,
            providers: Providers::single(provider),
            tools,
            key,
            guard: Some(Arc::new(crate::agent::ConstitutionGuard::shipped()?)),
            outbound: None,
            directory: None,
            self_address: None,
            preamble: Some(crate::agent::setup::preamble()?),
            config: RuntimeConfig {
                max_tokens_per_turn: max_tokens,
                // Patient: the agents share one CPU model with a busy training network.
                idle_timeout: Duration::from_secs(600),
                ..RuntimeConfig::default()
            },
        })
        .await?;
        let _ = node.runtime.set(runtime.clone());
        let mut ids = Vec::new();
        for def in definitions(n) {
            ids.push(def.id.clone());
            runtime.register(def).await?;
        }
        Ok(SimAgents {
            runtime,
            ids,
            host: host_name,
            server,
        })
    }

    /// Runs every agent once, one after another (they share one embedded model: run together,
    /// the last would wait for the others' answers), and waits for each run to end.
    pub async fn run_all(&self, timeout: Duration) -> anyhow::Result<()> {
        let mut events = self.runtime.events().subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        for id in &self.ids {
            self.runtime.run(id, None)?;
            loop {
                let event = match tokio::time::timeout_at(deadline, events.recv()).await {
                    Ok(Ok(e)) => e,
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
                    Ok(Err(e)) => bail!("the agents' event bus closed: {e}"),
                    Err(_) => {
                        bail!("the agents did not finish within {timeout:?}: {id} still running")
                    }
                };
                if &event.source != id {
                    continue;
                }
                match event.event_type {
                    EventType::ExecutionCompleted => break,
                    EventType::ExecutionFailed => {
                        tracing::warn!(agent = %id, error = %event.data["error"], "an agent's run failed");
                        break;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The recorded traces.
    pub fn traces(&self) -> Vec<SignedTrace> {
        self.runtime.all_traces()
    }

    /// Announces every trace on gossip from the host's client until each of `filed` (the
    /// proposers' trace pools) holds them all.
    pub async fn announce(
        &self,
        client: &Client,
        filed: &[autonet_actors::roles::inbox::Inbox],
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let traces = self.traces();
        let want: BTreeSet<String> = traces.iter().map(|t| t.id.clone()).collect();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let all_filed = filed.iter().all(|inbox| {
                let have: BTreeSet<String> = inbox
                    .traces()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| t.id)
                    .collect();
                want.is_subset(&have)
            });
            if all_filed {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the proposers did not receive the agents' traces within {timeout:?}");
            }
            for t in &traces {
                // The mesh may not be formed yet (InsufficientPeers) or the message may be a
                // duplicate of one already sent: both are retried or harmless.
                let _ = client.publish(GossipTopic::Traces, t.encode()).await;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The report: each agent's work and each epoch's use of the traces.
    pub fn report(&self, epochs: Vec<(u64, Vec<String>)>) -> AgentsReport {
        let traces = self.traces();
        let turns: BTreeSet<&String> = traces.iter().flat_map(|t| &t.trace.turns).collect();
        let agents = self
            .runtime
            .list()
            .into_iter()
            .map(|a| {
                let own: Vec<&SignedTrace> =
                    traces.iter().filter(|t| t.trace.agent == a.id).collect();
                AgentLine {
                    runs: a.runs,
                    traces: own.iter().map(|t| t.id.clone()).collect(),
                    turns: own.iter().map(|t| t.trace.turns.len()).sum(),
                    tokens: a.usage.tokens,
                    tool_calls: a.usage.tool_calls,
                    last_output: a.last_output.unwrap_or_default(),
                    agent: a.id,
                }
            })
            .collect();
        let epochs = epochs
            .into_iter()
            .map(|(epoch, batch)| EpochTraces {
                epoch,
                batch: batch.len(),
                from_traces: batch.iter().filter(|t| turns.contains(t)).count(),
            })
            .collect();
        AgentsReport {
            host: self.host.clone(),
            agents,
            epochs,
        }
    }

    /// Stops the runtime and the endpoint.
    pub fn stop(self) {
        self.runtime.shutdown();
        self.server.abort();
    }
}
