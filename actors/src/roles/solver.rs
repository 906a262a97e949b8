//! The solver role: for every open task, train its assigned slice from the task's base model,
//! commit before the commit deadline (the bundle stays private: no gossip, no provider record),
//! reveal in the reveal phase and only then serve the bundle and announce it as a provider;
//! claim rewards and mint. Where a dishonest solver could deviate it asks its
//! [`super::conduct::SolverConduct`] (honest in production, Byzantine only in simulations).

use std::collections::BTreeSet;
use std::sync::Arc;

use alloy::primitives::{B256, U256};
use autonet_contracts::revert::TaskContractErrors;
use autonet_contracts::{ProtocolView, TaskStatus};
use serde::{Deserialize, Serialize};

use super::RoleError;
use super::claims::{claim_mints, claim_rewards};
use super::ctx::Ctx;
use super::events::{self, Phase};
use super::fetch::ContentKind;
use super::tasks::{KnownTask, TaskRole, Tracker, step_tasks};
use crate::protocol::assign::slice_of;
use crate::protocol::secrets::{SaltPurpose, derive_salt, solver_commitment};
use crate::protocol::stage::{SolverAction, SolverStage, solver_action};

/// What a solver stores per task (before acting on it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SolverRecord {
    /// How far the solver got with the task.
    pub stage: SolverStage,
    /// Content id of the trained bundle (zero until trained); kept in the store.
    pub bundle_id: [u8; 32],
    /// Commit-reveal salt of the solution (zero until trained), derived from the peer secret.
    pub salt: [u8; 32],
}

/// The solver role's state.
#[derive(Debug)]
pub struct Solver<C> {
    ctx: Arc<Ctx<C>>,
    tracker: Tracker,
    /// Bundles served by this incarnation (a restarted peer serves its revealed bundles again).
    served: BTreeSet<[u8; 32]>,
}

const ROLE: &str = "solver";

fn key(id: U256) -> String {
    format!("solver.task.{id}")
}

impl<C: ProtocolView + 'static> Solver<C> {
    /// Resumes from the store.
    pub async fn resume(ctx: Arc<Ctx<C>>) -> Result<Self, RoleError> {
        let tracker = Tracker::resume(&ctx, ROLE).await?;
        Ok(Solver {
            ctx,
            tracker,
            served: BTreeSet::new(),
        })
    }

    /// The peer context this role runs in.
    pub fn ctx(&self) -> &Ctx<C> {
        &self.ctx
    }

    /// One step at head `head`; true while waiting on the network.
    pub async fn step(&mut self, head: u64) -> Result<bool, RoleError> {
        let ctx = self.ctx.clone();
        let mut waiting = step_tasks(self, &ctx, head).await?;
        claim_rewards(&self.ctx).await?;
        waiting |= claim_mints(&self.ctx).await?;
        Ok(waiting)
    }
}

impl<C: ProtocolView + 'static> TaskRole for Solver<C> {
    /// Train, then commit at once.
    const PASSES: usize = 3;

    fn tracker(&mut self) -> &mut Tracker {
        &mut self.tracker
    }

    async fn advance(&mut self, task: &KnownTask, head: u64) -> Result<bool, RoleError> {
        let ctx = self.ctx.clone();
        let mut rec: SolverRecord = ctx.load(&key(task.id))?.unwrap_or(SolverRecord {
            stage: SolverStage::Assigned,
            bundle_id: [0; 32],
            salt: [0; 32],
        });
        let d = task.deadlines();
        match solver_action(rec.stage, head, &d) {
            SolverAction::Train => {
                if !self.train(task, &mut rec).await? {
                    return Ok(true);
                }
            }
            SolverAction::Commit if !ctx.conduct.commits_in_window() => {}
            SolverAction::Commit => self.commit(task, &mut rec).await?,
            SolverAction::Reveal if !ctx.conduct.reveals() => {}
            SolverAction::Reveal => self.reveal(task, &mut rec).await?,
            SolverAction::Missed => self.missed(task, &mut rec).await?,
            SolverAction::Wait | SolverAction::Finished => {}
        }
        // After the reveal the bundle is public: serve it until the task is settled.
        if rec.stage == SolverStage::Revealed && !self.served.contains(&rec.bundle_id) {
            if let Some(bytes) = ctx.content(rec.bundle_id, ContentKind::Solution)? {
                ctx.serve(&bytes).await?;
            }
            self.served.insert(rec.bundle_id);
        }
        if matches!(rec.stage, SolverStage::Revealed | SolverStage::Done)
            && head > d.vote
            && let Some(t) = self.tracker.refresh(&ctx, task.id).await?
            && t.info.status != TaskStatus::Open
        {
            // Keep serving (the aggregator and coordinators may still fetch), stop tracking.
            self.tracker.close(&ctx, task.id)?;
        }
        Ok(false)
    }
}

impl<C: ProtocolView + 'static> Solver<C> {
    /// Trains the assigned slice and keeps the bundle; false while the base model is being
    /// fetched.
    async fn train(&self, task: &KnownTask, rec: &mut SolverRecord) -> Result<bool, RoleError> {
        let ctx = &self.ctx;
        let Some(base) = ctx.content(task.spec.base_model, ContentKind::Model)? else {
            return Ok(false);
        };
        let bundle = self.produce(task, base).await?;
        rec.bundle_id = ctx.keep(&bundle)?;
        rec.salt = derive_salt(&ctx.secret, SaltPurpose::Solution, task.id).0;
        rec.stage = SolverStage::Trained;
        ctx.save(&key(task.id), rec)?;
        let text = format!(
            "task {}: bundle {} ({} bytes)",
            task.id,
            short(&rec.bundle_id),
            bundle.len()
        );
        events::emit(Phase::Train, task.spec.epoch, text);
        Ok(true)
    }

    /// Commits to the bundle (a commitment already on chain counts as sent).
    async fn commit(&self, task: &KnownTask, rec: &mut SolverRecord) -> Result<(), RoleError> {
        let ctx = &self.ctx;
        let c = solver_commitment(B256::from(rec.bundle_id), B256::from(rec.salt), ctx.address);
        let text = match ctx.chain.commit(ctx.address, task.id, c).await {
            Ok(_) => {
                rec.stage = SolverStage::Committed;
                format!("task {}: committed", task.id)
            }
            // A restart after the commit was mined but before it was recorded.
            Err(e) if matches!(e.revert(), Some(TaskContractErrors::AlreadyCommitted(_))) => {
                rec.stage = SolverStage::Committed;
                format!("task {}: committed (found on chain)", task.id)
            }
            Err(e) if e.is_declared_revert() => {
                rec.stage = SolverStage::Done;
                format!("task {}: commit refused: {e}", task.id)
            }
            Err(e) => return Err(e.into()),
        };
        ctx.save(&key(task.id), rec)?;
        events::emit(Phase::Commit, task.spec.epoch, text);
        Ok(())
    }

    /// Reveals the bundle and its salt (a reveal already on chain counts as sent).
    async fn reveal(&self, task: &KnownTask, rec: &mut SolverRecord) -> Result<(), RoleError> {
        let ctx = &self.ctx;
        let (bundle, salt) = (B256::from(rec.bundle_id), B256::from(rec.salt));
        let text = match ctx.chain.reveal(ctx.address, task.id, bundle, salt).await {
            Ok(_) => {
                rec.stage = SolverStage::Revealed;
                format!("task {}: revealed", task.id)
            }
            Err(e) if matches!(e.revert(), Some(TaskContractErrors::AlreadyRevealed(_))) => {
                rec.stage = SolverStage::Revealed;
                format!("task {}: revealed (found on chain)", task.id)
            }
            Err(e) if e.is_declared_revert() => {
                rec.stage = SolverStage::Done;
                format!("task {}: reveal refused: {e}", task.id)
            }
            Err(e) => return Err(e.into()),
        };
        ctx.save(&key(task.id), rec)?;
        events::emit(Phase::Reveal, task.spec.epoch, text);
        Ok(())
    }

    /// The window for this solver's next step closed: the task is over for it. A conduct that
    /// commits late sends its withheld commitment now (the chain must refuse it).
    async fn missed(&self, task: &KnownTask, rec: &mut SolverRecord) -> Result<(), RoleError> {
        let ctx = &self.ctx;
        let epoch = task.spec.epoch;
        if rec.stage == SolverStage::Trained && ctx.conduct.commits_late() {
            let c = solver_commitment(B256::from(rec.bundle_id), B256::from(rec.salt), ctx.address);
            let outcome = match ctx.chain.commit(ctx.address, task.id, c).await {
                Ok(_) => "accepted (unexpected)".to_string(),
                Err(e) => format!("refused: {e}"),
            };
            let text = format!("task {}: late commit {outcome}", task.id);
            events::emit(Phase::Commit, epoch, text);
        } else {
            let text = format!("task {}: window closed at stage {:?}", task.id, rec.stage);
            events::emit(Phase::Missed, epoch, text);
        }
        rec.stage = SolverStage::Done;
        ctx.save(&key(task.id), rec)
    }
}

impl<C: ProtocolView + 'static> Solver<C> {
    /// The bytes this solver commits to: its trained bundle, unless its conduct forges one.
    async fn produce(&self, task: &KnownTask, base: Vec<u8>) -> Result<Vec<u8>, RoleError> {
        let ctx = &self.ctx;
        let s = &task.spec;
        if let Some(forged) = ctx.conduct.forged_bundle(&ctx.secret, task.id) {
            return Ok(forged);
        }
        let who = ctx.conduct.slice_owner(ctx.address);
        let slice = slice_of(task.seed(), who, &s.batch, s.slice_len as usize);
        ctx.train(base, slice, s.train_epochs, who.to_string())
            .await
    }
}

/// First 8 bytes in hex.
pub fn short(id: &[u8; 32]) -> String {
    alloy::hex::encode(&id[..8])
}
