//! A small supervisor with a restart budget.
//!
//! Each child is described by a [`ChildSpec`] (a name and a function that spawns it linked to
//! the supervisor). When a child fails (returns an error or panics in a handler), the supervisor
//! restarts it, unless that would exceed `max_restarts` within `window`: then it gives up and
//! fails itself ([`SupervisorError::BudgetExhausted`]), which escalates the failure to its own
//! supervisor, or ends the process's root actor. A child that stops normally is not restarted.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{
    Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SpawnErr, SupervisionEvent,
};

/// Future returned by a child's start function.
pub type StartFuture = Pin<Box<dyn Future<Output = Result<ActorCell, SpawnErr>> + Send>>;

/// How to (re)start one child: called with the supervisor's cell to link to.
pub type StartFn = Arc<dyn Fn(ActorCell) -> StartFuture + Send + Sync>;

/// One supervised child.
#[derive(Clone)]
pub struct ChildSpec {
    /// Unique among the supervisor's children; restarts and `StopChild` find the child by it.
    pub name: String,
    /// Spawns the child linked to the supervisor (called again on every restart).
    pub start: StartFn,
}

impl std::fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSpec")
            .field("name", &self.name)
            .finish()
    }
}

/// The supervisor's settings and children.
#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// Restarts allowed within `window` before the supervisor escalates.
    pub max_restarts: usize,
    /// The sliding window over which restarts are counted.
    pub window: Duration,
    /// The children started with the supervisor, in start order.
    pub children: Vec<ChildSpec>,
}

/// Why the supervisor failed.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// One child failed more than `max_restarts` times within `window`.
    #[error(
        "child {child} failed {count} times within {window:?}; restart budget exhausted ({last_error})"
    )]
    BudgetExhausted {
        /// Name of the failing child ([`ChildSpec::name`]).
        child: String,
        /// Its failures within the window, this one included.
        count: usize,
        /// The restart window ([`SupervisorConfig::window`]).
        window: Duration,
        /// The error of the last failure.
        last_error: String,
    },
    /// Restarting a failed child failed (its start function returned an error).
    #[error("cannot restart child {child}: {reason}")]
    RestartFailed {
        /// Name of the failing child ([`ChildSpec::name`]).
        child: String,
        /// Why its start function failed.
        reason: String,
    },
}

/// Questions a supervisor answers.
#[derive(Debug)]
pub enum SupervisorMsg {
    /// The current cell of the child with this name.
    Child(String, RpcReplyPort<Option<ActorCell>>),
    /// Restarts performed so far.
    Restarts(RpcReplyPort<usize>),
    /// Starts one more child (a shard actor, say) and supervises it like the others. Fails if a
    /// child of that name is already running.
    StartChild(ChildSpec, RpcReplyPort<Result<ActorCell, String>>),
    /// Stops the named child (normally, so it is not restarted) and forgets it; answers whether
    /// there was one.
    StopChild(String, RpcReplyPort<bool>),
}

/// The supervisor actor.
#[derive(Debug, Default)]
pub struct Supervisor;

/// The supervisor's state.
#[derive(Debug)]
pub struct SupervisorState {
    config: SupervisorConfig,
    children: Vec<(ChildSpec, ActorCell)>,
    recent_restarts: VecDeque<Instant>,
    total_restarts: usize,
}

impl Actor for Supervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = SupervisorConfig;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        config: SupervisorConfig,
    ) -> Result<Self::State, ActorProcessingErr> {
        let mut children = Vec::with_capacity(config.children.len());
        for spec in &config.children {
            let cell = (spec.start)(myself.get_cell()).await?;
            children.push((spec.clone(), cell));
        }
        Ok(SupervisorState {
            config,
            children,
            recent_restarts: VecDeque::new(),
            total_restarts: 0,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::Child(name, reply) => {
                let cell = state
                    .children
                    .iter()
                    .find(|(spec, _)| spec.name == name)
                    .map(|(_, cell)| cell.clone());
                let _ = reply.send(cell);
            }
            SupervisorMsg::Restarts(reply) => {
                let _ = reply.send(state.total_restarts);
            }
            SupervisorMsg::StartChild(spec, reply) => {
                if state.children.iter().any(|(s, _)| s.name == spec.name) {
                    let _ = reply.send(Err(format!("child {} is already running", spec.name)));
                    return Ok(());
                }
                match (spec.start)(myself.get_cell()).await {
                    Ok(cell) => {
                        state.children.push((spec, cell.clone()));
                        let _ = reply.send(Ok(cell));
                    }
                    Err(err) => {
                        let _ = reply.send(Err(err.to_string()));
                    }
                }
            }
            SupervisorMsg::StopChild(name, reply) => {
                let found = state.children.iter().position(|(s, _)| s.name == name);
                if let Some(index) = found {
                    let (_, cell) = state.children.remove(index);
                    cell.stop(None);
                }
                let _ = reply.send(found.is_some());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, err) = match event {
            SupervisionEvent::ActorFailed(cell, err) => (cell, err),
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                // A child that stopped normally is not restarted; forget it so its name can be
                // started again.
                state.children.retain(|(_, c)| c.get_id() != cell.get_id());
                return Ok(());
            }
            _ => return Ok(()),
        };
        let Some(index) = state
            .children
            .iter()
            .position(|(_, c)| c.get_id() == cell.get_id())
        else {
            return Ok(());
        };
        let now = Instant::now();
        let window = state.config.window;
        while state
            .recent_restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            state.recent_restarts.pop_front();
        }
        let name = state.children[index].0.name.clone();
        if state.recent_restarts.len() >= state.config.max_restarts {
            tracing::error!(child = %name, %err, "restart budget exhausted; escalating");
            return Err(Box::new(SupervisorError::BudgetExhausted {
                child: name,
                count: state.recent_restarts.len() + 1,
                window,
                last_error: err.to_string(),
            }));
        }
        tracing::warn!(child = %name, %err, "child failed; restarting");
        state.recent_restarts.push_back(now);
        state.total_restarts += 1;
        let spec = state.children[index].0.clone();
        let new_cell = (spec.start)(myself.get_cell()).await.map_err(|e| {
            Box::new(SupervisorError::RestartFailed {
                child: name,
                reason: e.to_string(),
            })
        })?;
        state.children[index].1 = new_cell;
        Ok(())
    }
}
