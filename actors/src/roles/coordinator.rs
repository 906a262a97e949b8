//! The coordinator role: in the vote phase, fetch the proposer's revealed held-out set and every
//! revealed bundle, verify each by recomputing the solver's slice (invalid if missing, malformed,
//! for another slice or author, or different), score it on the held-out set, and vote; after the
//! vote deadline finalize (or expire) and claim; when an epoch's model is announced, recompute the
//! aggregate from the accepted bundles and confirm the mint root only if it matches.

use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use autonet_contracts::revert::ResultsRewardsErrors;
use autonet_contracts::{ProtocolView, RewardEvent, TaskStatus};
use serde::{Deserialize, Serialize};

use super::RoleError;
use super::claims::claim_rewards;
use super::ctx::Ctx;
use super::events::{self, Phase};
use super::fetch::ContentKind;
use super::tasks::{KnownTask, TaskRole, Tracker, step_tasks};
use crate::protocol::assign::slice_of;
use crate::protocol::mint::MintList;
use crate::protocol::model::Accepted;
use crate::protocol::score::{Verdict, score};
use crate::protocol::secrets::{SaltPurpose, derive_salt};
use crate::protocol::stage::{CoordinatorAction, CoordinatorStage, coordinator_action};
use crate::protocol::wire::{HeldOut, MAX_SPEC_BYTES, TaskSpec, content_id, decode};
use autonet_contracts::commitment::vote_commitment;

/// Failed fetch attempts (each asks every provider found, with backoff between attempts: about
/// 8 s in all) after which a revealed bundle is judged not served.
pub const MISSING_AFTER_ATTEMPTS: u32 = 8;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CoordinatorRecord {
    stage: CoordinatorStage,
    /// The committed score vector, revealed in the vote-reveal phase.
    #[serde(default)]
    scores: Vec<U256>,
}

/// The coordinator role's state.
#[derive(Debug)]
pub struct Coordinator<C> {
    ctx: Arc<Ctx<C>>,
    tracker: Tracker,
}

const ROLE: &str = "coordinator";

fn key(id: U256) -> String {
    format!("coordinator.task.{id}")
}

/// Accepted solvers of a task (those credited a reward), from the chain's events. Rewards are
/// credited when the task finalizes, after its reveal phase: only the blocks since are read.
pub async fn accepted_solvers<C: ProtocolView + 'static>(
    ctx: &Ctx<C>,
    task: U256,
) -> Result<Vec<Address>, RoleError> {
    let head = ctx.chain.block_number().await?;
    let from = ctx.chain.task_info(task).await?.reveal_deadline;
    Ok(ctx
        .chain
        .reward_events(from, head)
        .await?
        .into_iter()
        .filter_map(|e| match e {
            RewardEvent::SolverRewarded {
                task: t, solver, ..
            } if t == task => Some(solver),
            _ => None,
        })
        .collect())
}

/// The accepted solutions of a task (bundle, slice, author); `None` while a bundle is being
/// fetched (every missing one is asked for at once, so they arrive in parallel).
pub async fn accepted_of<C: ProtocolView + 'static>(
    ctx: &Ctx<C>,
    task: U256,
    spec: &TaskSpec,
    solvers: &[Address],
) -> Result<Option<Vec<Accepted>>, RoleError> {
    let mut out = Vec::new();
    let mut complete = true;
    for s in solvers {
        let id = ctx.chain.revealed_bundle(task, *s).await?;
        match ctx.content(id.0, ContentKind::Solution)? {
            Some(solution) => out.push(Accepted {
                author: s.to_string(),
                slice: slice_of(
                    B256::from(spec.seed),
                    *s,
                    &spec.batch,
                    spec.slice_len as usize,
                ),
                epochs: spec.train_epochs,
                solution,
            }),
            None => complete = false,
        }
    }
    Ok(complete.then_some(out))
}

impl<C: ProtocolView + 'static> Coordinator<C> {
    /// Resumes from the store the tasks it follows (each task's vote record is read as it
    /// steps).
    pub async fn resume(ctx: Arc<Ctx<C>>) -> Result<Self, RoleError> {
        let tracker = Tracker::resume(&ctx, ROLE).await?;
        Ok(Coordinator { ctx, tracker })
    }

    /// The peer context this role runs in.
    pub fn ctx(&self) -> &Ctx<C> {
        &self.ctx
    }

    /// One step at chain head `head`; true while waiting on the network (specs, bundles).
    pub async fn step(&mut self, head: u64) -> Result<bool, RoleError> {
        let ctx = self.ctx.clone();
        let mut waiting = step_tasks(self, &ctx, head).await?;
        claim_rewards(&self.ctx).await?;
        waiting |= self.confirm_mints().await?;
        Ok(waiting)
    }
}

impl<C: ProtocolView + 'static> TaskRole for Coordinator<C> {
    fn tracker(&mut self) -> &mut Tracker {
        &mut self.tracker
    }

    async fn advance(&mut self, task: &KnownTask, head: u64) -> Result<bool, RoleError> {
        let ctx = self.ctx.clone();
        let epoch = task.spec.epoch;
        let mut rec: CoordinatorRecord = ctx.load(&key(task.id))?.unwrap_or(CoordinatorRecord {
            stage: CoordinatorStage::Watching,
            scores: Vec::new(),
        });
        match coordinator_action(rec.stage, head, &task.deadlines()) {
            CoordinatorAction::Vote => {
                let Some(scores) = self.judge(task).await? else {
                    return Ok(true);
                };
                // Intent first: a restart after the commit still knows what to reveal.
                rec.scores = scores.clone();
                rec.stage = CoordinatorStage::VoteCommitted;
                ctx.save(&key(task.id), &rec)?;
                if !scores.is_empty() {
                    let salt = derive_salt(&ctx.secret, SaltPurpose::Vote, task.id);
                    let commitment = vote_commitment(task.id, ctx.address, &scores, salt);
                    self.refusable(
                        epoch,
                        task,
                        Phase::Vote,
                        ctx.chain
                            .commit_vote(ctx.address, task.id, commitment)
                            .await,
                    )?;
                }
                let shown: Vec<String> =
                    scores.iter().map(|s| format!("{:.3}", wad_f(*s))).collect();
                events::emit(
                    Phase::Vote,
                    epoch,
                    format!("task {}: committed scores [{}]", task.id, shown.join(", ")),
                );
            }
            CoordinatorAction::RevealVote => {
                if !rec.scores.is_empty() {
                    let salt = derive_salt(&ctx.secret, SaltPurpose::Vote, task.id);
                    let sent = ctx
                        .chain
                        .reveal_vote(ctx.address, task.id, rec.scores.clone(), salt)
                        .await;
                    self.refusable(epoch, task, Phase::Vote, sent)?;
                }
                rec.stage = CoordinatorStage::Voted;
                ctx.save(&key(task.id), &rec)?;
                events::emit(
                    Phase::Vote,
                    epoch,
                    format!("task {}: vote revealed", task.id),
                );
            }
            CoordinatorAction::Settle | CoordinatorAction::Missed => {
                self.settle(task).await?;
                rec.stage = CoordinatorStage::Settled;
                ctx.save(&key(task.id), &rec)?;
                ctx.save(
                    &format!("coordinator.epoch.{epoch}"),
                    &task.id.to_be_bytes::<32>(),
                )?;
                self.tracker.close(&ctx, task.id)?;
            }
            CoordinatorAction::Wait | CoordinatorAction::Finished => {}
        }
        Ok(false)
    }
}

impl<C: ProtocolView + 'static> Coordinator<C> {
    /// Accepts a named revert (sent before a restart, or refused: phase over, not active,
    /// evicted from its slot) as "nothing more to send" and notes it; other errors propagate.
    fn refusable(
        &self,
        epoch: u64,
        task: &KnownTask,
        what: Phase,
        sent: Result<autonet_contracts::Receipt, autonet_contracts::ChainError>,
    ) -> Result<(), RoleError> {
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.is_declared_revert() => {
                events::emit(
                    what,
                    epoch,
                    format!("task {}: {what} refused: {e}", task.id),
                );
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Scores every revealed solution; `None` while inputs are still on their way.
    async fn judge(&self, task: &KnownTask) -> Result<Option<Vec<U256>>, RoleError> {
        let ctx = self.ctx.clone();
        let info = ctx.chain.task_info(task.id).await?;
        if info.ground_truth.is_zero() {
            // The contract refuses votes without a ground truth; the task will expire.
            return Ok(Some(Vec::new()));
        }
        let Some(held_bytes) = ctx.content(info.ground_truth.0, ContentKind::TaskBatch)? else {
            return Ok(None);
        };
        let held: HeldOut = decode("held-out set", &held_bytes, MAX_SPEC_BYTES)?;
        if held.spec_id != task.info.spec_hash.0 {
            return Ok(Some(Vec::new()));
        }
        let Some(base) = ctx.content(task.spec.base_model, ContentKind::Model)? else {
            return Ok(None);
        };
        let solvers = ctx.chain.revealed_solvers(task.id).await?;
        // The contract gives each solver one slot; a list that names an address twice is not
        // from an honest chain, and scoring it would pay one author twice.
        let distinct: std::collections::BTreeSet<_> = solvers.iter().collect();
        if distinct.len() != solvers.len() {
            return Err(RoleError::Corrupt(format!(
                "task {}: the chain lists a solver twice",
                task.id
            )));
        }
        // Ask for every bundle first: missing ones are fetched in parallel.
        let mut bundles = Vec::with_capacity(solvers.len());
        let mut pending = false;
        for solver in &solvers {
            let id = ctx.chain.revealed_bundle(task.id, *solver).await?.0;
            let bytes = ctx.content(id, ContentKind::Solution)?;
            pending |= bytes.is_none() && ctx.fetch_failures(id) < MISSING_AFTER_ATTEMPTS;
            bundles.push(bytes);
        }
        if pending {
            return Ok(None);
        }
        let s = &task.spec;
        let mut scores = Vec::with_capacity(solvers.len());
        for (solver, bundle) in solvers.into_iter().zip(bundles) {
            let verdict = match bundle {
                Some(bytes) => {
                    let slice = slice_of(task.seed(), solver, &s.batch, s.slice_len as usize);
                    ctx.verify(
                        base.clone(),
                        slice,
                        s.train_epochs,
                        solver.to_string(),
                        bytes,
                        held.turns.clone(),
                    )
                    .await?
                }
                None => Verdict::Invalid("bundle not served".into()),
            };
            if let Verdict::Invalid(reason) = &verdict {
                events::emit(
                    Phase::Verify,
                    s.epoch,
                    format!("task {}: {solver} invalid: {reason}", task.id),
                );
            }
            scores.push(score(&verdict));
        }
        Ok(Some(scores))
    }

    async fn settle(&self, task: &KnownTask) -> Result<(), RoleError> {
        let ctx = &self.ctx;
        let info = ctx.chain.task_info(task.id).await?;
        if info.status != TaskStatus::Open {
            return Ok(());
        }
        let what = match ctx.chain.finalize(ctx.address, task.id).await {
            Ok(_) => "finalized",
            Err(e) if e.is_short_of_votes() => match ctx.chain.expire(ctx.address, task.id).await {
                Ok(_) => "expired",
                Err(e) if matches!(e.revert(), Some(ResultsRewardsErrors::TaskNotOpen(_))) => {
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            },
            Err(e) if matches!(e.revert(), Some(ResultsRewardsErrors::TaskNotOpen(_))) => {
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        events::emit(
            Phase::Finalize,
            task.spec.epoch,
            format!("task {} {what}", task.id),
        );
        Ok(())
    }

    /// Confirms announced mint roots that this coordinator reproduces, epoch by epoch. Only an
    /// announcement whose root is posted on chain naming the announced model is considered (any
    /// number per epoch: a rogue's does not hide the honest one). True while waiting.
    async fn confirm_mints(&self) -> Result<bool, RoleError> {
        let ctx = &self.ctx;
        let cursor = "coordinator.mint_epoch";
        let mut epoch: u64 = ctx.load(cursor)?.unwrap_or(1);
        loop {
            let announcements = ctx.inbox.models(epoch)?;
            if announcements.is_empty() {
                return Ok(false);
            }
            let e = U256::from(epoch);
            let done_key = format!("coordinator.confirmed.{epoch}");
            if !ctx.chain.final_mint_root(e).await?.is_zero()
                || ctx.load::<bool>(&done_key)?.is_some()
            {
                epoch += 1;
                ctx.save(cursor, &epoch)?;
                continue;
            }
            let Some(raw) = ctx.load::<[u8; 32]>(&format!("coordinator.epoch.{epoch}"))? else {
                // This coordinator did not follow that epoch's task (joined later): trust no one.
                ctx.save(&done_key, &false)?;
                continue;
            };
            // The recomputation is kept: announcements are looked at again as they arrive.
            let mine_key = format!("coordinator.recomputed.{epoch}");
            let mine = match ctx.load::<([u8; 32], [u8; 32])>(&mine_key)? {
                Some(m) => m,
                None => {
                    let Some(m) = self.recompute(epoch, raw).await? else {
                        return Ok(true);
                    };
                    ctx.save(&mine_key, &m)?;
                    m
                }
            };
            let mut agreeing = None;
            for a in announcements {
                if (a.mint_root, a.model_id) != mine {
                    continue;
                }
                let on_chain = ctx
                    .chain
                    .posted_mint_root(e, B256::from(a.mint_root))
                    .await?;
                if on_chain.is_some_and(|(_, model)| model.0 == a.model_id) {
                    agreeing = Some(a);
                    break;
                }
            }
            let Some(a) = agreeing else {
                // Only rogue or not-yet-posted announcements so far: look again later.
                return Ok(false);
            };
            self.confirm(epoch, a.mint_root).await?;
            ctx.save(&done_key, &true)?;
        }
    }

    /// This coordinator's (mint root, model id) of `epoch`, from the task it followed; `None`
    /// while inputs are on their way.
    async fn recompute(
        &self,
        epoch: u64,
        raw_task: [u8; 32],
    ) -> Result<Option<([u8; 32], [u8; 32])>, RoleError> {
        let ctx = &self.ctx;
        let task = U256::from_be_bytes(raw_task);
        let info = ctx.chain.task_info(task).await?;
        let Some(spec_bytes) = ctx.content(info.spec_hash.0, ContentKind::TaskBatch)? else {
            return Ok(None);
        };
        let Ok(spec) = crate::protocol::wire::TaskSpec::decode(&spec_bytes) else {
            return Ok(Some(([0; 32], [0; 32])));
        };
        let accepted = accepted_solvers(ctx, task).await?;
        let Some(inputs) = accepted_of(ctx, task, &spec, &accepted).await? else {
            return Ok(None);
        };
        let Some(base) = ctx.content(spec.base_model, ContentKind::Model)? else {
            return Ok(None);
        };
        let agg = ctx.aggregate(base, inputs).await?;
        let list = MintList::from_agents(epoch, &agg.mint)?;
        Ok(Some((list.root().0, content_id(&agg.model))))
    }

    async fn confirm(&self, epoch: u64, root: [u8; 32]) -> Result<(), RoleError> {
        let ctx = &self.ctx;
        match ctx
            .chain
            .confirm_mint_root(ctx.address, U256::from(epoch), B256::from(root))
            .await
        {
            Ok(_) => events::emit(
                Phase::Confirm,
                epoch,
                format!("mint root {} confirmed", crate::roles::solver::short(&root)),
            ),
            Err(err)
                if matches!(
                    err.revert(),
                    Some(
                        ResultsRewardsErrors::AlreadyConfirmed(_)
                            | ResultsRewardsErrors::EpochFinal(_)
                    )
                ) => {}
            Err(err) => return Err(err.into()),
        }
        Ok(())
    }
}

/// A WAD value as a float (display only).
pub fn wad_f(x: U256) -> f64 {
    let v: u128 = x.try_into().unwrap_or(u128::MAX);
    v as f64 / 1e18
}
