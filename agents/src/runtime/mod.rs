//! The agent runtime (issue 20 item 1): each agent is a ractor actor ([`actor::AgentActor`])
//! under one supervisor ([`actor::AgentSupervisor`]) that restarts a failed agent within a
//! restart budget and marks it `error` past it. [`Runtime`] is the cloneable handle the CLI,
//! the WebSocket API, the MCP tools and `simulate` use.
//!
//! Flow: a run is asked for (manually, by the schedule, by an inbox message that wakes the
//! agent under [`crate::wake::wakes`], by a child's completion); the actor starts it as a task
//! ([`execution::execute`]) up to the agent's concurrency, queues the rest, and on its end
//! updates the status, tells the parent, answers a delegator, and starts what is queued.
//! Everything observable is an event on the bus ([`crate::events`]).

mod actor;
pub mod budget;
mod delegate;
mod deliver;
pub mod execution;
pub mod flags;
mod handle;
pub mod history;
mod persist;
mod remote;
pub mod reply;
mod traces;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use autonet_llm::{Fallback, Provider};
use libp2p_identity::Keypair;
use serde::Serialize;

use crate::definition::AgentDefinition;
use crate::events::EventBus;
use crate::inbox::Inbox;
use crate::message::InboxMessage;
use crate::tools::ToolBox;
use crate::wake::AgentStatus;

pub use budget::{Ledger, OverBudget, Usage};
pub use execution::{Outcome, RunStatus};
pub use handle::{Runtime, RuntimeError};
pub use history::ExecutionRecord;
pub use traces::TraceLog;

/// What started a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Asked for (CLI, API, MCP), with an optional task text replacing the task prompt.
    Manual(Option<String>),
    /// The agent's schedule.
    Schedule,
    /// A message that wakes the agent.
    Inbox,
}

impl Trigger {
    /// Its name in events (`trigger_source`).
    pub fn name(&self) -> &'static str {
        match self {
            Trigger::Manual(_) => "manual",
            Trigger::Schedule => "schedule",
            Trigger::Inbox => "inbox",
        }
    }
}

/// A refusal by the node's rules (the constitution, issue 21).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rule's name.
    pub rule: String,
    /// Why.
    pub reason: String,
}

/// Checks an agent's action before it runs (`spend`, `tool`, `message`, `delegate`).
pub trait ActionGuard: Send + Sync + std::fmt::Debug {
    /// Ok, or the rule that refuses it.
    fn check(&self, agent: &str, action: &str, description: &str) -> Result<(), Refusal>;
}

/// Delivers a message to an agent on another peer (`<peer-id>/<agent-id>`), at least once.
pub trait Outbound: Send + Sync + std::fmt::Debug {
    /// Accepts the message for delivery (durably queued before it returns).
    fn send(&self, to: &str, message: InboxMessage) -> Result<(), String>;
}

/// Finds an agent on another peer by capability (agent cards in the DHT: the node adapts
/// [`crate::directory::Directory`]).
pub trait RemoteFinder: Send + Sync + std::fmt::Debug {
    /// The address (`<peer-id>/<agent-id>`) of an agent offering `capability`, if one is found.
    fn find<'a>(&'a self, capability: &'a str) -> futures::future::BoxFuture<'a, Option<String>>;
}

/// The language models agents may use, by name.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    /// Used when a definition names none.
    pub default: Option<Arc<dyn Provider>>,
    /// By name (a definition's `provider` list).
    pub named: BTreeMap<String, Arc<dyn Provider>>,
}

impl Providers {
    /// Only a default provider.
    pub fn single(provider: Arc<dyn Provider>) -> Self {
        Providers {
            default: Some(provider),
            named: BTreeMap::new(),
        }
    }

    /// The provider (with its fallbacks) a definition asks for.
    pub fn for_agent(&self, def: &AgentDefinition) -> Result<Arc<dyn Provider>, String> {
        if def.provider.is_empty() {
            return self
                .default
                .clone()
                .ok_or_else(|| "no language model is configured on this node".to_string());
        }
        let mut chain = Vec::new();
        for name in &def.provider {
            match self.named.get(name) {
                Some(p) => chain.push(Arc::clone(p)),
                None => return Err(format!("provider {name:?} is not configured on this node")),
            }
        }
        if chain.len() == 1 {
            return Ok(chain.remove(0));
        }
        Fallback::new(chain)
            .map(|f| Arc::new(f) as Arc<dyn Provider>)
            .map_err(|e| e.to_string())
    }
}

/// The runtime's settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Restarts of one agent allowed within `restart_window` before it is marked `error`.
    pub restart_budget: usize,
    /// The window restarts are counted in.
    pub restart_window: Duration,
    /// The most tokens one model turn may generate.
    pub max_tokens_per_turn: u32,
    /// The longest wait for the model's next piece (a provider that hangs fails the run).
    pub idle_timeout: Duration,
    /// The owner's chain address: the root of every agent's lineage (reference §9.8), which
    /// peers check before doing delegated work.
    pub owner: String,
    /// Flag each answer of every run on the charter's six axes with the agent's own model
    /// before its trace is signed ([`flags`]: the seed's binary-flag prompt); off, the
    /// substrate scores the turns' text with its keyword embedder.
    pub flag_traces: bool,
}

/// The owner of a runtime whose owner was not given: no one (the zero address).
pub const NO_OWNER: &str = "0x0000000000000000000000000000000000000000";

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            restart_budget: 3,
            restart_window: Duration::from_secs(60),
            max_tokens_per_turn: 256,
            idle_timeout: Duration::from_secs(120),
            owner: NO_OWNER.to_string(),
            flag_traces: false,
        }
    }
}

/// What the runtime is built from.
#[derive(Clone)]
pub struct RuntimeDeps {
    /// The node's store (inboxes, traces).
    pub store: Arc<autonet_store::Store>,
    /// Language models.
    pub providers: Providers,
    /// Every tool of the node; each agent sees the ones its definition lists.
    pub tools: ToolBox,
    /// Signs traces (the peer's identity key).
    pub key: Keypair,
    /// The node's rules, checked before each action.
    pub guard: Option<Arc<dyn ActionGuard>>,
    /// Delivery to other peers' agents.
    pub outbound: Option<Arc<dyn Outbound>>,
    /// Finds remote agents by capability.
    pub directory: Option<Arc<dyn RemoteFinder>>,
    /// This node's peer id (base58): remote delegates answer `<it>/<agent>`.
    pub self_address: Option<String>,
    /// The text put in front of every prompt of an agent (the constitution's preamble, given
    /// the agent's id), on the provider side of every request.
    pub preamble: Option<Preamble>,
    /// Settings.
    pub config: RuntimeConfig,
}

/// Builds the preamble of an agent's prompts from its id.
pub type Preamble = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// One agent as the runtime knows it.
#[derive(Debug, Clone, Serialize)]
pub struct AgentInfo {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: AgentStatus,
    /// Its parent.
    pub parent: Option<String>,
    /// What its subtree spent.
    pub usage: Usage,
    /// Runs finished.
    pub runs: u64,
    /// Restarts by the supervisor.
    pub restarts: u32,
    /// The last run's output or error.
    pub last_output: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Entry {
    def: AgentDefinition,
    status: AgentStatus,
    /// Activated (schedules and triggers run it); a run's end returns it to `active`.
    active: bool,
    runs: u64,
    restarts: u32,
    last_output: Option<String>,
    /// The agent's actor (None while it is being restarted or after it was unregistered).
    actor: Option<ractor::ActorRef<actor::AgentMsg>>,
    /// The children it delegated to that have not finished.
    children: Vec<String>,
}

/// State shared by the runtime handle, the actors and the runs.
pub(crate) struct Shared {
    bus: EventBus,
    inbox: Inbox,
    providers: Providers,
    tools: ToolBox,
    key: Keypair,
    guard: Option<Arc<dyn ActionGuard>>,
    outbound: Option<Arc<dyn Outbound>>,
    directory: Option<Arc<dyn RemoteFinder>>,
    self_address: Option<String>,
    preamble: Option<Preamble>,
    config: RuntimeConfig,
    ledger: Mutex<Ledger>,
    agents: Mutex<BTreeMap<String, Entry>>,
    traces: TraceLog,
    counter: AtomicU64,
}

impl Shared {
    fn set_status(&self, id: &str, status: AgentStatus) {
        if let Ok(mut agents) = self.agents.lock()
            && let Some(e) = agents.get_mut(id)
        {
            e.status = status;
        }
    }

    fn entry<T>(&self, id: &str, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        self.agents.lock().ok()?.get_mut(id).map(f)
    }

    /// A fresh execution id: the agent's, a counter and the time, hashed to 10 hex characters.
    fn execution_id(&self, agent: &str) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let seed = format!("{agent}/{n}/{}", crate::events::now_ms());
        hex::encode(&blake3::hash(seed.as_bytes()).as_bytes()[..5])
    }
}

impl std::fmt::Debug for RuntimeDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeDeps")
            .field("tools", &self.tools)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
