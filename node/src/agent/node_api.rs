//! The node's side of the built-in agent tools ([`NodeApi`]): inference from the world-model
//! substrate (the answer path of `autonet infer --model substrate`), the model's status, the
//! chain balance, and the durable agent inbox in the node's store.
//!
//! `delegate` and `submit_trace` belong to the agent runtime, which is not part of this command
//! yet: they answer a tool error saying so (the runtime will provide them).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use autonet_agents::builtin::{NodeError, NodeResult};
use autonet_agents::{Inbox, InboxMessage, MessageKind, NodeApi, Posted, Priority};
use autonet_models::substrate::{World, infer::infer, keyword::KeywordEmbedder};
use autonet_store::Store;
use serde_json::{Value, json};

use crate::config::{ChainConfig, Config};
use crate::peer::RoleArg;

/// The agent layer's store in the data dir (inboxes).
pub const AGENT_STORE_FILE: &str = "agents.redb";

/// Said by the tools the agent runtime will provide.
const NO_RUNTIME: &str = "the agent runtime is not running on this node (delegation needs \
                          `autonet agent serve`); nothing was done";

/// What the node offers its agents, from its data dir and configuration.
#[derive(Debug)]
pub struct NodeTools {
    // The world memoizes scores as it answers: one caller at a time.
    world: Arc<std::sync::Mutex<World>>,
    world_source: String,
    embedder: Arc<KeywordEmbedder>,
    inbox: Inbox,
    data_dir: PathBuf,
    chain: ChainConfig,
    role: Option<RoleArg>,
    /// The agent runtime, when this node runs one (`agent serve`): messages then wake their
    /// agent, and delegation and traces go through it.
    runtime: std::sync::OnceLock<autonet_agents::runtime::Runtime>,
}

impl NodeTools {
    /// Routes messages, delegation and traces through `runtime` from now on.
    pub fn attach(&self, runtime: autonet_agents::runtime::Runtime) {
        let _ = self.runtime.set(runtime);
    }

    /// Opens the inbox store in the data dir and loads the world `infer` answers from (the
    /// charter world when `world` is `None`).
    pub fn open(
        config: &Config,
        world: Option<&Path>,
        role: Option<RoleArg>,
    ) -> anyhow::Result<Self> {
        let (world_value, world_source) = match world {
            None => (World::charter_v1(), "charter".to_string()),
            Some(path) => {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let w = World::decode(&bytes)
                    .with_context(|| format!("{} is not a world model", path.display()))?;
                (w, path.display().to_string())
            }
        };
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
        let store_path = config.data_dir.join(AGENT_STORE_FILE);
        let store = Store::open(&store_path)
            .with_context(|| format!("cannot open the agent store {}", store_path.display()))?;
        Self::with_store(config, (world_value, world_source), role, Arc::new(store))
    }

    /// The same over an open store (the agent runtime's, in `agent serve`).
    pub fn with_store(
        config: &Config,
        (world_value, world_source): (World, String),
        role: Option<RoleArg>,
        store: Arc<Store>,
    ) -> anyhow::Result<Self> {
        Ok(NodeTools {
            world: Arc::new(std::sync::Mutex::new(world_value)),
            world_source,
            embedder: Arc::new(KeywordEmbedder::new()?),
            inbox: Inbox::new(store),
            data_dir: config.data_dir.clone(),
            chain: config.chain.clone(),
            role,
            runtime: std::sync::OnceLock::new(),
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The substrate's answer to `input` from `world`, as the `infer` tool returns it (shared by
/// `agent serve`, `agent mcp` and `simulate --agents`).
pub(crate) fn infer_json(
    world: Arc<std::sync::Mutex<World>>,
    embedder: Arc<KeywordEmbedder>,
    input: Value,
) -> NodeResult<'static> {
    Box::pin(async move {
        // Inference is CPU work: keep it off the runtime's threads.
        let answer = tokio::task::spawn_blocking(move || {
            let world = world.lock().map_err(|_| {
                autonet_models::substrate::SubstrateError::InvalidTurn("world lock poisoned".into())
            })?;
            infer(&world, &input, &*embedder)
        })
        .await
        .map_err(|e| NodeError(format!("inference stopped: {e}")))?
        .map_err(|e| NodeError(format!("inference failed: {e}")))?;
        serde_json::to_value(answer).map_err(|e| NodeError(e.to_string()))
    })
}

/// What the `model_status` tool says of `world` (read from `source`).
pub(crate) fn model_status_json(
    world: &std::sync::Mutex<World>,
    source: &str,
) -> NodeResult<'static> {
    let value = world
        .lock()
        .map(|w| {
            json!({
                "model": "substrate",
                "source": source,
                "world_hash": w.hash().to_hex(),
                "unique_nodes": w.unique_node_count(),
            })
        })
        .map_err(|_| NodeError("world lock poisoned".into()));
    Box::pin(async move { value })
}

impl NodeApi for NodeTools {
    fn infer<'a>(&'a self, query: &'a str) -> NodeResult<'a> {
        infer_json(
            Arc::clone(&self.world),
            Arc::clone(&self.embedder),
            json!({ "text": query }),
        )
    }

    fn model_status(&self) -> NodeResult<'_> {
        model_status_json(&self.world, &self.world_source)
    }

    fn balance(&self) -> NodeResult<'_> {
        Box::pin(async move {
            let (Some(_), Some(_), Some(role)) =
                (&self.chain.rpc_url, &self.chain.governor, self.role)
            else {
                return Err(NodeError(
                    "no chain configured on this node (it needs chain.rpc_url, chain.governor \
                     and --role)"
                        .into(),
                ));
            };
            crate::chain::balance_json(&self.data_dir, &self.chain, role)
                .await
                .map_err(|e| NodeError(format!("the chain query failed: {e:#}")))
        })
    }

    fn post_message<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        priority: Priority,
    ) -> NodeResult<'a> {
        Box::pin(async move {
            // With a runtime, through it: the agent is woken if the message calls for it.
            if let Some(runtime) = self.runtime.get() {
                runtime
                    .send_text("mcp", to, text, priority)
                    .map_err(|e| NodeError(format!("not posted: {e}")))?;
                return Ok(json!({ "to": to, "posted": true }));
            }
            let message = InboxMessage {
                // The prototype's shape: 10 hex digits.
                id: format!("{:010x}", rand08::random::<u64>() & 0xff_ffff_ffff),
                source: "mcp".into(),
                target: to.to_string(),
                kind: MessageKind::Info,
                priority,
                data: json!({ "text": text }),
                timestamp_ms: now_ms(),
            };
            let inbox = self.inbox.clone();
            let posted = {
                let message = message.clone();
                // The store commits durably (an fsync): not on the runtime's threads.
                tokio::task::spawn_blocking(move || inbox.post(&message))
                    .await
                    .map_err(|e| NodeError(format!("posting stopped: {e}")))?
                    .map_err(|e| NodeError(format!("not posted: {e}")))?
            };
            let seq = match posted {
                Posted::New(seq) => Value::from(seq),
                Posted::Duplicate => Value::Null,
            };
            Ok(json!({ "id": message.id, "to": to, "seq": seq }))
        })
    }

    fn delegate<'a>(&'a self, target: &'a str, task: &'a str) -> NodeResult<'a> {
        Box::pin(async move {
            let runtime = self
                .runtime
                .get()
                .ok_or_else(|| NodeError(NO_RUNTIME.into()))?;
            // From the owner (an MCP client is not an agent): no inbox gets the answer; the
            // delegate's run and its events show it.
            let task_id = runtime
                .delegate(None, target, task)
                .await
                .map_err(|e| NodeError(e.to_string()))?;
            Ok(json!({ "task_id": task_id, "state": "submitted" }))
        })
    }

    fn submit_trace<'a>(&'a self, _text: &'a str) -> NodeResult<'a> {
        // Traces are recorded by the runtime from agents' own runs (signed by this node); a
        // free-text trace from an MCP client has no run behind it to sign.
        Box::pin(async {
            Err(NodeError(
                "traces are recorded from agents' runs on this node; submit work to an agent instead".into(),
            ))
        })
    }
}
