//! [`Runtime`]: the cloneable handle over the supervisor and the shared state.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ractor::{Actor, ActorRef};
use serde_json::json;

use super::actor::{AgentMsg, AgentSupervisor, SupervisorMsg};
use super::execution::{Outcome, RunStatus};
use super::{AgentInfo, Entry, Ledger, RuntimeDeps, Shared, TraceLog, Trigger};
use crate::definition::AgentDefinition;
use crate::events::{EventBus, EventType};
use crate::inbox::{Inbox, Posted};
use crate::message::{InboxMessage, MessageKind, Priority};
use crate::trace::SignedTrace;
use crate::wake::AgentStatus;

/// Why the runtime refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RuntimeError {
    /// No agent of that id.
    #[error("no agent {0:?} on this node")]
    UnknownAgent(String),
    /// An agent of that id exists.
    #[error("an agent {0:?} is already registered")]
    Exists(String),
    /// A definition, message or limit problem.
    #[error("{0}")]
    Refused(String),
    /// The runtime's actors are gone.
    #[error("the agent runtime is not running: {0}")]
    Down(String),
}

/// The agent runtime of one node.
#[derive(Debug, Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
    supervisor: ActorRef<SupervisorMsg>,
}

/// Mail from other peers ([`crate::Mailer`]) lands through the runtime: delegation requests
/// are admitted first, and a kept message wakes its agent.
impl crate::mail::LocalDelivery for Runtime {
    fn deliver(&self, message: InboxMessage) -> Result<Posted, crate::inbox::InboxError> {
        super::remote::receive(&self.shared, &message)
    }
}

impl Runtime {
    /// Starts the supervisor (no agents yet).
    pub async fn start(deps: RuntimeDeps) -> Result<Self, RuntimeError> {
        let shared = Arc::new(Shared {
            bus: EventBus::default(),
            inbox: Inbox::new(Arc::clone(&deps.store)),
            providers: deps.providers,
            tools: deps.tools,
            key: deps.key,
            guard: deps.guard,
            outbound: deps.outbound,
            directory: deps.directory,
            self_address: deps.self_address,
            preamble: deps.preamble,
            config: deps.config,
            ledger: Mutex::new(Ledger::default()),
            agents: Mutex::new(BTreeMap::new()),
            traces: TraceLog::new(deps.store),
            counter: Default::default(),
        });
        let (supervisor, _) = Actor::spawn(None, AgentSupervisor, Arc::clone(&shared))
            .await
            .map_err(|e| RuntimeError::Down(e.to_string()))?;
        shared
            .bus
            .publish(EventType::RuntimeStarted, "runtime", json!({}));
        Ok(Runtime { shared, supervisor })
    }

    /// The event bus.
    pub fn events(&self) -> &EventBus {
        &self.shared.bus
    }

    /// The inboxes.
    pub fn inbox(&self) -> &Inbox {
        &self.shared.inbox
    }

    /// The node's recorded traces.
    pub fn traces(&self) -> &TraceLog {
        &self.shared.traces
    }

    /// Registers an agent and starts its actor (status `registered`; [`activate`](Self::activate)
    /// lets its schedule and inbox run it). A child (`parent_id`) must fit its ancestors' depth
    /// and children limits.
    pub async fn register(&self, def: AgentDefinition) -> Result<(), RuntimeError> {
        def.check()
            .map_err(|e| RuntimeError::Refused(e.to_string()))?;
        let id = def.id.clone();
        {
            let mut agents = self.agents()?;
            if agents.contains_key(&id) {
                return Err(RuntimeError::Exists(id));
            }
            if let Some(parent) = &def.parent_id {
                check_child_limits(&agents, parent, &id)?;
                if let Some(p) = agents.get_mut(parent) {
                    p.children.push(id.clone());
                }
            }
            agents.insert(
                id.clone(),
                Entry {
                    def: def.clone(),
                    status: AgentStatus::Registered,
                    active: false,
                    runs: 0,
                    restarts: 0,
                    last_output: None,
                    actor: None,
                    children: Vec::new(),
                },
            );
        }
        if let Ok(mut ledger) = self.shared.ledger.lock() {
            ledger.open(&id, def.parent_id.as_deref(), def.budgets);
        }
        if let Err(e) = super::persist::keep(&self.shared, &def) {
            self.agents()?.remove(&id);
            return Err(RuntimeError::Refused(format!(
                "cannot keep the definition: {e}"
            )));
        }
        let started = ractor::call!(self.supervisor, SupervisorMsg::Start, id.clone())
            .map_err(|e| RuntimeError::Down(e.to_string()))?;
        if let Err(e) = started {
            self.agents()?.remove(&id);
            return Err(RuntimeError::Down(e));
        }
        let event = if def.parent_id.is_some() {
            EventType::DelegateSpawned
        } else {
            EventType::AgentRegistered
        };
        self.shared.bus.publish(
            event,
            &id,
            json!({"name": def.name, "mode": def.mode, "parent_id": def.parent_id}),
        );
        Ok(())
    }

    fn agents(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Entry>>, RuntimeError> {
        self.shared
            .agents
            .lock()
            .map_err(|_| RuntimeError::Down("state lock poisoned".into()))
    }

    fn actor(&self, id: &str) -> Result<ActorRef<AgentMsg>, RuntimeError> {
        self.shared
            .entry(id, |e| e.actor.clone())
            .ok_or_else(|| RuntimeError::UnknownAgent(id.to_string()))?
            .ok_or_else(|| {
                RuntimeError::Down(format!(
                    "agent {id} has no actor (status error or restarting)"
                ))
            })
    }

    /// Activates an agent: its schedule and inbox triggers run it.
    pub fn activate(&self, id: &str) -> Result<(), RuntimeError> {
        self.shared
            .entry(id, |e| {
                e.active = true;
                if e.status != AgentStatus::Running {
                    e.status = AgentStatus::Active;
                }
            })
            .ok_or_else(|| RuntimeError::UnknownAgent(id.to_string()))?;
        super::persist::set_active(&self.shared, id, true);
        self.shared
            .bus
            .publish(EventType::AgentActivated, id, json!({}));
        if let Ok(actor) = self.actor(id) {
            let _ = actor.cast(AgentMsg::Wake);
        }
        Ok(())
    }

    /// Deactivates an agent (its runs finish; nothing new starts by itself).
    pub fn deactivate(&self, id: &str) -> Result<(), RuntimeError> {
        self.shared
            .entry(id, |e| {
                e.active = false;
                if e.status != AgentStatus::Running {
                    e.status = AgentStatus::Stopped;
                }
            })
            .ok_or_else(|| RuntimeError::UnknownAgent(id.to_string()))?;
        super::persist::set_active(&self.shared, id, false);
        self.shared
            .bus
            .publish(EventType::AgentDeactivated, id, json!({}));
        Ok(())
    }

    /// Starts a run now (queued past the agent's concurrency), with `task` replacing its task
    /// prompt when given.
    pub fn run(&self, id: &str, task: Option<String>) -> Result<(), RuntimeError> {
        let status = self
            .shared
            .entry(id, |e| e.status)
            .ok_or_else(|| RuntimeError::UnknownAgent(id.to_string()))?;
        if status == AgentStatus::BudgetPaused {
            return Err(RuntimeError::Refused(format!(
                "agent {id} is paused: its budget is spent"
            )));
        }
        self.actor(id)?
            .cast(AgentMsg::Run(Trigger::Manual(task)))
            .map_err(|e| RuntimeError::Down(e.to_string()))
    }

    /// Puts a message in a local agent's inbox and wakes it if the message calls for it.
    pub fn post(&self, message: &InboxMessage) -> Result<Posted, RuntimeError> {
        if self.shared.entry(&message.target, |_| ()).is_none() {
            return Err(RuntimeError::UnknownAgent(message.target.clone()));
        }
        let posted = self
            .shared
            .inbox
            .post(message)
            .map_err(|e| RuntimeError::Refused(e.to_string()))?;
        if posted != Posted::Duplicate {
            self.shared.bus.publish(
                EventType::MessagePosted,
                &message.target,
                json!({"id": message.id, "source": message.source, "kind": message.kind, "priority": message.priority}),
            );
            super::actor::wake(&self.shared, &message.target);
        }
        Ok(posted)
    }

    /// Sends `text` from `from` (an agent id or `user`) to a local agent or a remote address.
    pub fn send_text(
        &self,
        from: &str,
        to: &str,
        text: &str,
        priority: Priority,
    ) -> Result<(), RuntimeError> {
        super::deliver::send(
            &self.shared,
            from,
            to,
            MessageKind::Trigger,
            priority,
            json!({"text": text}),
        )
        .map_err(RuntimeError::Refused)
    }

    /// Hands `task` to `target` (an agent id, a capability, or a remote address) on behalf of
    /// agent `from` (None: the owner); returns the task id. The result comes back to `from`'s
    /// inbox.
    pub async fn delegate(
        &self,
        from: Option<&str>,
        target: &str,
        task: &str,
    ) -> Result<String, RuntimeError> {
        if let Some(f) = from
            && self.shared.entry(f, |_| ()).is_none()
        {
            return Err(RuntimeError::UnknownAgent(f.to_string()));
        }
        super::delegate::delegate(&self.shared, from, target, task, 0, None)
            .await
            .map_err(RuntimeError::Refused)
    }

    /// Stops every run of an agent now (status `stopped`).
    pub fn kill(&self, id: &str) -> Result<(), RuntimeError> {
        self.actor(id)?
            .cast(AgentMsg::Kill)
            .map_err(|e| RuntimeError::Down(e.to_string()))
    }

    /// Removes an agent (its inbox stays in the store).
    pub fn unregister(&self, id: &str) -> Result<(), RuntimeError> {
        if self.shared.entry(id, |_| ()).is_none() {
            return Err(RuntimeError::UnknownAgent(id.to_string()));
        }
        let _ = self.supervisor.cast(SupervisorMsg::Stop(id.to_string()));
        super::persist::forget(&self.shared, id);
        let removed = self.agents()?.remove(id);
        if let Some(parent) = removed.and_then(|e| e.def.parent_id) {
            self.shared
                .entry(&parent, |p| p.children.retain(|c| c != id));
        }
        self.shared
            .bus
            .publish(EventType::AgentUnregistered, id, json!({}));
        Ok(())
    }

    /// Registers again every agent this node's store holds (parents first) and activates those
    /// that were active: what a restarted node does first, so a crash or `kill -9` loses no
    /// agent, and each finds its unacknowledged messages in its inbox. Returns the ids.
    pub async fn restore(&self) -> Result<Vec<String>, RuntimeError> {
        let (defs, active) = super::persist::load(&self.shared);
        let mut restored = Vec::new();
        let mut left = defs;
        // Parents before children: repeat until nothing more can be placed.
        while !left.is_empty() {
            let before = left.len();
            let mut next = Vec::new();
            for def in left {
                let ready = def
                    .parent_id
                    .as_ref()
                    .is_none_or(|p| self.shared.entry(p, |_| ()).is_some());
                if !ready {
                    next.push(def);
                    continue;
                }
                let id = def.id.clone();
                match self.register(def).await {
                    Ok(()) | Err(RuntimeError::Exists(_)) => restored.push(id),
                    Err(e) => tracing::warn!(agent = %id, error = %e, "cannot restore an agent"),
                }
            }
            if next.len() == before {
                for def in &next {
                    tracing::warn!(agent = %def.id, "not restored: its parent is gone");
                }
                break;
            }
            left = next;
        }
        for id in &restored {
            if active.contains(id) {
                self.activate(id)?;
            }
        }
        Ok(restored)
    }

    /// The card other peers find agent `id` by: None when it offers no capability; an error
    /// when this node has no peer address or the agent's lineage cannot be built.
    pub fn card(&self, id: &str) -> Result<Option<crate::card::AgentCard>, RuntimeError> {
        super::remote::card(&self.shared, id).map_err(RuntimeError::Refused)
    }

    /// Agent `id`'s lineage proof (owner-rooted, through its parents).
    pub fn lineage(&self, id: &str) -> Result<crate::lineage::LineageProof, RuntimeError> {
        super::remote::lineage_proof(&self.shared, id).map_err(RuntimeError::Refused)
    }

    /// Every agent.
    pub fn list(&self) -> Vec<AgentInfo> {
        let Ok(agents) = self.shared.agents.lock() else {
            return Vec::new();
        };
        let ledger = self.shared.ledger.lock().ok();
        agents
            .values()
            .map(|e| AgentInfo {
                id: e.def.id.clone(),
                name: e.def.name.clone(),
                status: e.status,
                parent: e.def.parent_id.clone(),
                usage: ledger
                    .as_ref()
                    .map(|l| l.usage(&e.def.id))
                    .unwrap_or_default(),
                runs: e.runs,
                restarts: e.restarts,
                last_output: e.last_output.clone(),
            })
            .collect()
    }

    /// One agent.
    pub fn info(&self, id: &str) -> Option<AgentInfo> {
        self.list().into_iter().find(|a| a.id == id)
    }

    /// The definition of an agent.
    pub fn definition(&self, id: &str) -> Option<AgentDefinition> {
        self.shared.entry(id, |e| e.def.clone())
    }

    /// Every recorded trace.
    pub fn all_traces(&self) -> Vec<SignedTrace> {
        self.shared.traces.all()
    }

    /// Stops every agent and the supervisor.
    pub fn shutdown(&self) {
        self.shared
            .bus
            .publish(EventType::RuntimeStopped, "runtime", json!({}));
        self.supervisor.stop(None);
    }
}

/// A child `child` under `parent`: the parent's children limit and every ancestor's depth limit.
fn check_child_limits(
    agents: &BTreeMap<String, Entry>,
    parent: &str,
    child: &str,
) -> Result<(), RuntimeError> {
    let p = agents
        .get(parent)
        .ok_or_else(|| RuntimeError::UnknownAgent(parent.to_string()))?;
    if p.children.len() >= p.def.max_children as usize {
        return Err(RuntimeError::Refused(format!(
            "agent {parent} has {} children; its max_children is {}",
            p.children.len(),
            p.def.max_children
        )));
    }
    // Walk up: the new child sits `depth` levels below each ancestor.
    let mut depth = 1u32;
    let mut seen = vec![child.to_string()];
    let mut at = Some(parent.to_string());
    while let Some(id) = at {
        if seen.contains(&id) {
            return Err(RuntimeError::Refused(format!(
                "delegation loop through {id}"
            )));
        }
        let Some(a) = agents.get(&id) else { break };
        if depth > a.def.max_depth_below {
            return Err(RuntimeError::Refused(format!(
                "{child} would be {depth} levels below {id}; its max_depth_below is {}",
                a.def.max_depth_below
            )));
        }
        seen.push(id);
        at = a.def.parent_id.clone();
        depth += 1;
    }
    Ok(())
}

/// Answers the delegators whose work a run read: each message with `reply_to` and `task_id`
/// gets the run's result back in its sender's inbox (A2A `completed` or `failed`).
pub(crate) fn answer_delegators(shared: &Shared, agent: &str, outcome: &Outcome) {
    super::remote::answer(shared, agent, outcome);
    for m in &outcome.read {
        let (Some(reply_to), Some(task_id)) = (
            m.data.get("reply_to").and_then(|v| v.as_str()),
            m.data.get("task_id").and_then(|v| v.as_str()),
        ) else {
            continue;
        };
        let state = if outcome.status == RunStatus::Completed {
            "completed"
        } else {
            "failed"
        };
        let output: String = outcome
            .output
            .chars()
            .take(super::remote::MAX_RESULT_CHARS)
            .collect();
        let data = json!({"task_id": task_id, "state": state, "output": output, "agent": agent});
        shared.bus.publish(
            super::remote::end_event(state == "completed"),
            agent,
            json!({"task_id": task_id, "reply_to": reply_to}),
        );
        if let Err(e) = super::deliver::send(
            shared,
            agent,
            reply_to,
            MessageKind::Info,
            Priority::Normal,
            data,
        ) {
            tracing::warn!(%agent, %reply_to, error = %e, "cannot answer the delegator");
        }
    }
}
