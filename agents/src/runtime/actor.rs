//! The agent actor and its supervisor (ractor: an empty actor struct, a `State`, a `Msg`).
//!
//! The actor owns its runs: it starts each as a task, queues runs past the agent's concurrency,
//! and hears each run's end. A run that panics (in a tool or provider) fails the actor; the
//! supervisor restarts it (a fresh actor re-reads the inbox, whose unacknowledged messages are
//! still there) until the agent has failed `restart_budget` times within `restart_window`, then
//! marks it `error` and publishes `agent.deactivated` with the reason.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};
use serde_json::json;
use tokio::task::JoinHandle;

use super::execution::{Outcome, RunStatus, execute};
use super::{Shared, Trigger};
use crate::events::EventType;
use crate::message::{MessageKind, Priority};
use crate::wake::{AgentStatus, wakes};

/// What an agent actor is asked.
#[derive(Debug)]
pub(crate) enum AgentMsg {
    /// Start a run (or queue it).
    Run(Trigger),
    /// A message arrived: run if the wake rules say so.
    Wake,
    /// The schedule's interval passed.
    Tick,
    /// A run ended (`Err`: it panicked).
    Finished(String, Result<Box<Outcome>, String>),
    /// Stop every run now.
    Kill,
}

/// The agent actor.
#[derive(Debug, Default)]
pub(crate) struct AgentActor;

/// Its state.
#[derive(Debug)]
pub(crate) struct AgentState {
    id: String,
    shared: Arc<Shared>,
    /// Each run: its task's abort handle and the watcher that reports its end.
    running: BTreeMap<String, (tokio::task::AbortHandle, JoinHandle<()>)>,
    queued: VecDeque<Trigger>,
    ticker: Option<JoinHandle<()>>,
}

impl Drop for AgentState {
    fn drop(&mut self) {
        for (_, (run, watcher)) in std::mem::take(&mut self.running) {
            watcher.abort();
            run.abort();
        }
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}

/// Wakes an agent's actor (after a post).
pub(crate) fn wake(shared: &Shared, id: &str) {
    if let Some(Some(actor)) = shared.entry(id, |e| e.actor.clone()) {
        let _ = actor.cast(AgentMsg::Wake);
    }
}

impl AgentState {
    fn start(&mut self, myself: &ActorRef<AgentMsg>, trigger: Trigger) {
        let Some(def) = self.shared.entry(&self.id, |e| e.def.clone()) else {
            return;
        };
        if self.running.len() >= def.concurrency as usize {
            self.shared.bus.publish(
                EventType::ExecutionQueued,
                &self.id,
                json!({"trigger_source": trigger.name()}),
            );
            self.queued.push_back(trigger);
            return;
        }
        let execution = self.shared.execution_id(&self.id);
        self.shared.set_status(&self.id, AgentStatus::Running);
        self.shared.bus.publish(
            EventType::ExecutionStarted,
            &self.id,
            json!({"execution_id": execution, "trigger_source": trigger.name()}),
        );
        let shared = Arc::clone(&self.shared);
        let me = myself.clone();
        let exec = execution.clone();
        // The run in a task of its own, so a panic in it is caught by the watcher and reported
        // to the actor (which fails, and is restarted), not lost.
        let run = tokio::spawn(execute(shared, def, exec.clone(), trigger));
        let abort = run.abort_handle();
        let watcher = tokio::spawn(async move {
            let result = run.await.map(Box::new).map_err(|e| {
                if e.is_panic() {
                    "the run panicked".to_string()
                } else {
                    "the run was stopped".to_string()
                }
            });
            let _ = me.cast(AgentMsg::Finished(exec, result));
        });
        self.running.insert(execution, (abort, watcher));
    }

    fn should_wake(&self) -> bool {
        let Some(status) = self.shared.entry(&self.id, |e| e.status) else {
            return false;
        };
        let pending: Vec<_> = self
            .shared
            .inbox
            .pending(&self.id)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        self.running.is_empty() && wakes(status, &pending)
    }

    /// After a run: status, counters, parent, delegator, queue.
    fn finish(&mut self, myself: &ActorRef<AgentMsg>, outcome: &Outcome) {
        let shared = &self.shared;
        let (event, status_after) = match outcome.status {
            RunStatus::Completed => (EventType::ExecutionCompleted, None),
            RunStatus::Failed => (EventType::ExecutionFailed, None),
            RunStatus::OverBudget => (EventType::ExecutionFailed, Some(AgentStatus::BudgetPaused)),
        };
        let preview: String = outcome.output.chars().take(120).collect();
        let key = if outcome.status == RunStatus::Completed {
            "output_preview"
        } else {
            "error"
        };
        shared.bus.publish(
            event,
            &self.id,
            json!({"execution_id": outcome.execution, "status": outcome.status, key: preview, "tokens": outcome.tokens, "tool_calls": outcome.tool_calls, "trace": outcome.trace}),
        );
        let idle = self.running.is_empty();
        let info = shared.entry(&self.id, |e| {
            e.runs += 1;
            e.last_output = Some(outcome.output.clone());
            e.status = match status_after {
                Some(s) => s,
                None if !idle => AgentStatus::Running,
                None if e.active => AgentStatus::Active,
                None => AgentStatus::Completed,
            };
            (
                e.def.parent_id.clone(),
                e.def.notify_parent,
                e.def.wake_parent_on_child,
            )
        });
        if let Some((Some(parent), true, wake_parent)) = info {
            let kind = if wake_parent {
                MessageKind::Trigger
            } else {
                MessageKind::Info
            };
            let data = json!({"child": self.id, "execution_id": outcome.execution, "status": outcome.status, "output": cut(&outcome.output)});
            if let Err(e) =
                super::deliver::send(shared, &self.id, &parent, kind, Priority::Normal, data)
            {
                tracing::warn!(agent = %self.id, %parent, error = %e, "cannot tell the parent");
            }
        }
        if let Some(next) = self.queued.pop_front() {
            self.start(myself, next);
        } else if self.should_wake() {
            self.start(myself, Trigger::Inbox);
        }
    }
}

fn cut(text: &str) -> String {
    text.chars().take(16 * 1024).collect()
}

impl Actor for AgentActor {
    type Msg = AgentMsg;
    type State = AgentState;
    type Arguments = (String, Arc<Shared>);

    async fn pre_start(
        &self,
        myself: ActorRef<AgentMsg>,
        (id, shared): (String, Arc<Shared>),
    ) -> Result<AgentState, ActorProcessingErr> {
        let interval = shared
            .entry(&id, |e| e.def.interval())
            .ok_or_else(|| format!("agent {id} is not registered"))?
            .map_err(|e| e.to_string())?;
        shared.entry(&id, |e| e.actor = Some(myself.clone()));
        let ticker = interval.map(|every| {
            let me = myself.clone();
            tokio::spawn(async move {
                let mut clock =
                    tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    clock.tick().await;
                    if me.cast(AgentMsg::Tick).is_err() {
                        break;
                    }
                }
            })
        });
        // Messages left by a crashed predecessor, or that arrived while it was down.
        let _ = myself.cast(AgentMsg::Wake);
        Ok(AgentState {
            id,
            shared,
            running: BTreeMap::new(),
            queued: VecDeque::new(),
            ticker,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<AgentMsg>,
        message: AgentMsg,
        state: &mut AgentState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            AgentMsg::Run(trigger) => state.start(&myself, trigger),
            AgentMsg::Wake => {
                if state.should_wake() {
                    state.start(&myself, Trigger::Inbox);
                }
            }
            AgentMsg::Tick => {
                let active = state
                    .shared
                    .entry(&state.id, |e| e.active && e.status == AgentStatus::Active)
                    .unwrap_or(false);
                if active && state.running.is_empty() {
                    state
                        .shared
                        .bus
                        .publish(EventType::ScheduleTriggered, &state.id, json!({}));
                    state.start(&myself, Trigger::Schedule);
                }
            }
            AgentMsg::Finished(execution, result) => {
                if state.running.remove(&execution).is_none() {
                    return Ok(()); // killed: already accounted for
                }
                match result {
                    Ok(outcome) => state.finish(&myself, &outcome),
                    Err(reason) => {
                        state.shared.bus.publish(
                            EventType::ExecutionFailed,
                            &state.id,
                            json!({"execution_id": execution, "error": reason}),
                        );
                        return Err(format!("agent {}: run {execution}: {reason}", state.id).into());
                    }
                }
            }
            AgentMsg::Kill => {
                for (execution, (run, watcher)) in std::mem::take(&mut state.running) {
                    watcher.abort();
                    run.abort();
                    state.shared.bus.publish(
                        EventType::ExecutionKilled,
                        &state.id,
                        json!({"execution_id": execution}),
                    );
                }
                state.queued.clear();
                state.shared.entry(&state.id, |e| {
                    e.active = false;
                    e.status = AgentStatus::Stopped;
                });
            }
        }
        Ok(())
    }
}

/// What the supervisor is asked.
#[derive(Debug)]
pub(crate) enum SupervisorMsg {
    /// Start the actor of a registered agent.
    Start(String, ractor::RpcReplyPort<Result<(), String>>),
    /// Stop an agent's actor for good.
    Stop(String),
}

/// The supervisor of every agent actor.
#[derive(Debug, Default)]
pub(crate) struct AgentSupervisor;

/// Its state: which actor is which agent, and recent restarts per agent.
#[derive(Debug)]
pub(crate) struct SupervisorState {
    shared: Arc<Shared>,
    by_actor: BTreeMap<ractor::ActorId, String>,
    restarts: BTreeMap<String, VecDeque<Instant>>,
}

async fn spawn(
    myself: &ActorRef<SupervisorMsg>,
    state: &mut SupervisorState,
    id: &str,
) -> Result<(), String> {
    let (actor, _) = Actor::spawn_linked(
        None,
        AgentActor,
        (id.to_string(), Arc::clone(&state.shared)),
        myself.get_cell(),
    )
    .await
    .map_err(|e| e.to_string())?;
    state.by_actor.insert(actor.get_id(), id.to_string());
    Ok(())
}

impl Actor for AgentSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = Arc<Shared>;

    async fn pre_start(
        &self,
        _: ActorRef<SupervisorMsg>,
        shared: Arc<Shared>,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        Ok(SupervisorState {
            shared,
            by_actor: BTreeMap::new(),
            restarts: BTreeMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        message: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::Start(id, reply) => {
                let _ = reply.send(spawn(&myself, state, &id).await);
            }
            SupervisorMsg::Stop(id) => {
                let actor = state.shared.entry(&id, |e| e.actor.take()).flatten();
                if let Some(actor) = actor {
                    state.by_actor.remove(&actor.get_id());
                    actor.stop(None);
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, error) = match event {
            SupervisionEvent::ActorFailed(cell, error) => (cell, error.to_string()),
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                state.by_actor.remove(&cell.get_id());
                return Ok(());
            }
            _ => return Ok(()),
        };
        let Some(id) = state.by_actor.remove(&cell.get_id()) else {
            return Ok(());
        };
        let shared = Arc::clone(&state.shared);
        shared.entry(&id, |e| e.actor = None);
        let config = shared.config.clone();
        let now = Instant::now();
        let recent = state.restarts.entry(id.clone()).or_default();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > config.restart_window)
        {
            recent.pop_front();
        }
        if recent.len() >= config.restart_budget {
            tracing::error!(agent = %id, %error, "restart budget exhausted");
            shared.entry(&id, |e| {
                e.status = AgentStatus::Error;
                e.active = false;
            });
            shared.bus.publish(EventType::AgentDeactivated, &id, json!({"status": "error", "error": format!("failed {} times within {:?}: {error}", recent.len() + 1, config.restart_window)}));
            return Ok(());
        }
        recent.push_back(now);
        let count = shared.entry(&id, |e| {
            e.restarts += 1;
            if e.status == AgentStatus::Running {
                e.status = if e.active {
                    AgentStatus::Active
                } else {
                    AgentStatus::Registered
                };
            }
            e.restarts
        });
        tracing::warn!(agent = %id, %error, "agent failed; restarting");
        shared.bus.publish(
            EventType::AgentRestarted,
            &id,
            json!({"error": error, "restarts": count}),
        );
        if let Err(e) = spawn(&myself, state, &id).await {
            shared.set_status(&id, AgentStatus::Error);
            shared.bus.publish(
                EventType::AgentDeactivated,
                &id,
                json!({"status": "error", "error": e}),
            );
        }
        Ok(())
    }
}
