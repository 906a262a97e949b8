//! Task discovery from the chain (the source of truth; gossip only speeds up getting the spec).
//! Task ids are sequential, so each role keeps a cursor (the next id to look at) and the ids of
//! the tasks it still works on in its store; a restarted role reloads them. [`step_tasks`] is
//! the step every task-following role (solver, coordinator, aggregator) shares.

use std::collections::BTreeMap;
use std::future::Future;

use alloy::primitives::{B256, U256};
use autonet_contracts::revert::TaskContractErrors;
use autonet_contracts::{ProtocolView, TaskInfo};
use tracing::Instrument;

use super::RoleError;
use super::ctx::Ctx;
use super::fetch::ContentKind;
use crate::protocol::phase::Deadlines;
use crate::protocol::wire::TaskSpec;

/// A task with its decoded spec.
#[derive(Debug, Clone)]
pub struct KnownTask {
    /// On-chain task id.
    pub id: U256,
    /// The task as the chain last reported it (deadlines, spec hash, rewards, status).
    pub info: TaskInfo,
    /// The decoded spec; its content id is the on-chain `specHash`.
    pub spec: TaskSpec,
}

impl KnownTask {
    /// The task's phase deadlines (block numbers).
    pub fn deadlines(&self) -> Deadlines {
        Deadlines {
            commit: self.info.commit_deadline,
            reveal: self.info.reveal_deadline,
            vote_commit: self.info.vote_commit_deadline,
            vote: self.info.vote_deadline,
        }
    }

    /// Seed of slice assignment, from the spec.
    pub fn seed(&self) -> B256 {
        B256::from(self.spec.seed)
    }
}

enum Spec {
    Missing,
    Unusable(String),
    Ready(TaskSpec),
}

fn spec_of<C: ProtocolView + 'static>(ctx: &Ctx<C>, info: &TaskInfo) -> Result<Spec, RoleError> {
    // The gate filed announced specs by content id: the on-chain hash finds the right one.
    Ok(
        match ctx.content(info.spec_hash.0, ContentKind::TaskBatch)? {
            None => Spec::Missing,
            Some(b) => match TaskSpec::decode(&b) {
                Ok(s) => Spec::Ready(s),
                Err(e) => Spec::Unusable(e.to_string()),
            },
        },
    )
}

/// The tasks a role works on.
#[derive(Debug)]
pub struct Tracker {
    role: String,
    /// Followed tasks by id; finished ones are dropped.
    pub tasks: BTreeMap<U256, KnownTask>,
}

impl Tracker {
    /// Reloads the role's open tasks (specs come from the local store).
    pub async fn resume<C: ProtocolView + 'static>(
        ctx: &Ctx<C>,
        role: &str,
    ) -> Result<Self, RoleError> {
        let mut t = Tracker {
            role: role.to_string(),
            tasks: BTreeMap::new(),
        };
        let open: Vec<[u8; 32]> = ctx.load(&t.open_key())?.unwrap_or_default();
        for raw in open {
            let id = U256::from_be_bytes(raw);
            let info = ctx.chain.task_info(id).await?;
            if let Spec::Ready(spec) = spec_of(ctx, &info)? {
                t.tasks.insert(id, KnownTask { id, info, spec });
            }
        }
        Ok(t)
    }

    fn open_key(&self) -> String {
        format!("{}.open", self.role)
    }

    fn cursor_key(&self) -> String {
        format!("{}.cursor", self.role)
    }

    fn persist<C: ProtocolView + 'static>(&self, ctx: &Ctx<C>) -> Result<(), RoleError> {
        let ids: Vec<[u8; 32]> = self.tasks.keys().map(|i| i.to_be_bytes::<32>()).collect();
        ctx.save(&self.open_key(), &ids)
    }

    /// Looks for tasks created since the last poll. True while a new task's spec is not
    /// available yet (the role is then waiting on the network, not on the chain).
    pub async fn poll<C: ProtocolView + 'static>(
        &mut self,
        ctx: &Ctx<C>,
    ) -> Result<bool, RoleError> {
        let first: u64 = ctx.load(&self.cursor_key())?.unwrap_or(1);
        let mut next = first;
        let mut waiting = false;
        let mut added = false;
        loop {
            let id = U256::from(next);
            let info = match ctx.chain.task_info(id).await {
                Ok(info) => info,
                Err(e) if matches!(e.revert(), Some(TaskContractErrors::UnknownTask(_))) => break,
                Err(e) => return Err(e.into()),
            };
            match spec_of(ctx, &info)? {
                Spec::Missing => {
                    waiting = true;
                    break;
                }
                Spec::Unusable(reason) => {
                    tracing::warn!(peer = %ctx.name, task = %id, "skipping task: {reason}");
                }
                Spec::Ready(spec) => {
                    self.tasks.insert(id, KnownTask { id, info, spec });
                    added = true;
                }
            }
            next += 1;
        }
        if added {
            self.persist(ctx)?;
        }
        if next != first {
            ctx.save(&self.cursor_key(), &next)?;
        }
        Ok(waiting)
    }

    /// Stops tracking a task.
    pub fn close<C: ProtocolView + 'static>(
        &mut self,
        ctx: &Ctx<C>,
        id: U256,
    ) -> Result<(), RoleError> {
        if self.tasks.remove(&id).is_some() {
            self.persist(ctx)?;
        }
        Ok(())
    }

    /// Refreshes a task's on-chain record (ground truth, status).
    pub async fn refresh<C: ProtocolView + 'static>(
        &mut self,
        ctx: &Ctx<C>,
        id: U256,
    ) -> Result<Option<&KnownTask>, RoleError> {
        let info = ctx.chain.task_info(id).await?;
        Ok(self.tasks.get_mut(&id).map(|t| {
            t.info = info;
            &*t
        }))
    }
}

/// A role that works through the tasks its [`Tracker`] follows.
pub trait TaskRole: Send {
    /// Advances of each task per step (a solver trains and commits in the same block).
    const PASSES: usize = 1;

    /// The tracker of the tasks this role follows.
    fn tracker(&mut self) -> &mut Tracker;

    /// Acts on one task at `head`; true while waiting on the network.
    fn advance(
        &mut self,
        task: &KnownTask,
        head: u64,
    ) -> impl Future<Output = Result<bool, RoleError>> + Send;
}

/// Polls for new tasks, then advances every tracked task [`TaskRole::PASSES`] times. The task
/// is read from the tracker again before each pass: an earlier pass may have closed it (or
/// refreshed its on-chain record). True while waiting on the network.
pub async fn step_tasks<C: ProtocolView + 'static, R: TaskRole>(
    role: &mut R,
    ctx: &Ctx<C>,
    head: u64,
) -> Result<bool, RoleError> {
    let mut waiting = role.tracker().poll(ctx).await?;
    let ids: Vec<U256> = role.tracker().tasks.keys().copied().collect();
    for id in ids {
        let Some(epoch) = role.tracker().tasks.get(&id).map(|t| t.spec.epoch) else {
            continue;
        };
        // Its protocol events carry the epoch and task.
        let span = super::events::task_span(epoch, id);
        for _ in 0..R::PASSES {
            let Some(task) = role.tracker().tasks.get(&id).cloned() else {
                break;
            };
            waiting |= role.advance(&task, head).instrument(span.clone()).await?;
        }
    }
    Ok(waiting)
}
