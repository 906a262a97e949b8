//! The proposer role: when it leads an epoch (`plan.proposers[(epoch - 1) % n]`) and that epoch's
//! base model is agreed, it draws the task batch and a hidden held-out set from the model's
//! items (the shipped traces for the substrate, digit indices for JEPA), serves the spec, creates the task on chain with a commitment to the held-out set, and
//! announces it on the `tasks` topic; in the reveal phase it reveals the held-out id and serves
//! the set so coordinators can judge.

use std::sync::Arc;

use alloy::primitives::{B256, U256, keccak256};
use autonet_contracts::revert::TaskContractErrors;
use autonet_contracts::{ProtocolView, TaskParams};
use autonet_p2p::GossipTopic;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use super::RoleError;
use super::ctx::Ctx;
use super::events::{self, Phase};
use super::fetch::ContentKind;
use crate::protocol::data::draw;
use crate::protocol::phase::Deadlines;
use crate::protocol::secrets::{SaltPurpose, derive_salt, proposer_commitment};
use crate::protocol::stage::{ProposerAction, ProposerStage, proposer_action};
use crate::protocol::wire::{
    HeldOut, ModelKindId, TaskAnnouncement, TaskSpec, WIRE_VERSION, content_id, encode,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProposerRecord {
    stage: ProposerStage,
    task: [u8; 32],
    /// 0 while the task is being created (a restart then looks for it on chain).
    created: bool,
    spec_id: [u8; 32],
    held_out_id: [u8; 32],
    deadlines: Option<Deadlines>,
}

/// The proposer role's state.
#[derive(Debug)]
pub struct Proposer<C> {
    ctx: Arc<Ctx<C>>,
    /// Whether this incarnation serves its held-out sets already.
    serving: bool,
}

fn key(epoch: u64) -> String {
    format!("proposer.epoch.{epoch}")
}

impl<C: ProtocolView + 'static> Proposer<C> {
    /// A proposer for `ctx`; it reads each epoch's task record from the store as it steps, so
    /// a restart loses nothing.
    pub async fn resume(ctx: Arc<Ctx<C>>) -> Result<Self, RoleError> {
        Ok(Proposer {
            ctx,
            serving: false,
        })
    }

    /// The peer context this role runs in.
    pub fn ctx(&self) -> &Ctx<C> {
        &self.ctx
    }

    fn leads(&self, epoch: u64) -> bool {
        let p = &self.ctx.plan.proposers;
        !p.is_empty() && p[((epoch - 1) % p.len() as u64) as usize] == self.ctx.address
    }

    /// The items a batch is drawn from: for the substrate, the turns of agents' traces heard on
    /// gossip (the live pool) when it holds a whole batch, else the live pool and the shipped
    /// turns together; for other models their own items.
    fn training_pool(&self) -> Vec<String> {
        let ctx = &self.ctx;
        let shipped = ctx.model.training_items();
        if ctx.model.kind() != ModelKindId::Substrate {
            return shipped;
        }
        let live = ctx.inbox.trace_turns().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the trace pool; drawing from the shipped turns");
            Vec::new()
        });
        if live.len() >= ctx.plan.batch_len {
            return live;
        }
        let mut pool = live;
        pool.extend(shipped);
        pool
    }

    /// The spec and held-out set of `epoch` (deterministic from this proposer's secret and the
    /// pool at the time).
    fn build(&self, epoch: u64, base_model: [u8; 32]) -> (Vec<u8>, Vec<u8>) {
        let ctx = &self.ctx;
        let mut buf = b"autonet/task-seed/v1".to_vec();
        buf.extend_from_slice(&ctx.secret);
        buf.extend_from_slice(&epoch.to_be_bytes());
        let seed = keccak256(&buf);
        let batch = draw(
            &self.training_pool(),
            keccak256([seed.as_slice(), b"batch"].concat()),
            ctx.plan.batch_len,
        );
        let held = draw(
            &ctx.model.held_out_items(),
            keccak256([seed.as_slice(), b"held"].concat()),
            ctx.plan.held_out_len,
        );
        let spec = TaskSpec {
            version: WIRE_VERSION,
            model: ctx.model.kind(),
            epoch,
            base_model,
            seed: seed.0,
            slice_len: ctx.plan.slice_len as u32,
            train_epochs: ctx.plan.train_epochs,
            batch,
        };
        let spec_bytes = encode(&spec);
        let held_bytes = encode(&HeldOut {
            version: WIRE_VERSION,
            spec_id: content_id(&spec_bytes),
            turns: held,
        });
        (spec_bytes, held_bytes)
    }

    /// One step at chain head `head`; true while waiting on the network.
    pub async fn step(&mut self, head: u64) -> Result<bool, RoleError> {
        let mut waiting = false;
        for epoch in 1..=self.ctx.plan.epochs {
            if !self.leads(epoch) {
                continue;
            }
            let span = events::epoch_span(epoch);
            waiting |= self.lead(epoch, head).instrument(span).await?;
        }
        self.serving = true;
        Ok(waiting)
    }

    async fn lead(&mut self, epoch: u64, head: u64) -> Result<bool, RoleError> {
        let ctx = self.ctx.clone();
        let rec: Option<ProposerRecord> = ctx.load(&key(epoch))?;
        let mut rec = match rec {
            Some(r) => r,
            None => {
                let Some(base) = ctx.base_model_of(epoch).await? else {
                    return Ok(false);
                };
                let (spec, held) = self.build(epoch, base);
                let r = ProposerRecord {
                    stage: ProposerStage::Created,
                    task: [0; 32],
                    created: false,
                    spec_id: ctx.keep(&spec)?,
                    held_out_id: ctx.keep(&held)?,
                    deadlines: None,
                };
                // Intent first: a restart after the transaction finds the task on chain.
                ctx.save(&key(epoch), &r)?;
                r
            }
        };
        if !rec.created {
            let task = match self.find_on_chain(rec.spec_id).await? {
                Some(t) => t,
                None => match self.create_task(epoch, &rec).await? {
                    Some(t) => t,
                    None => return Ok(false),
                },
            };
            let info = ctx.chain.task_info(task).await?;
            rec.task = task.to_be_bytes::<32>();
            rec.created = true;
            rec.deadlines = Some(Deadlines {
                commit: info.commit_deadline,
                reveal: info.reveal_deadline,
                vote_commit: info.vote_commit_deadline,
                vote: info.vote_deadline,
            });
            ctx.save(&key(epoch), &rec)?;
        }
        let task = U256::from_be_bytes(rec.task);
        if !self.serving {
            if let Some(spec) = ctx.content(rec.spec_id, ContentKind::TaskBatch)? {
                ctx.serve(&spec).await?;
            }
            if rec.stage == ProposerStage::GroundTruthRevealed
                && let Some(held) = ctx.content(rec.held_out_id, ContentKind::TaskBatch)?
            {
                ctx.serve(&held).await?;
            }
        }
        let Some(d) = rec.deadlines else {
            return Ok(false);
        };
        match proposer_action(rec.stage, head, &d) {
            ProposerAction::RevealGroundTruth => {
                let salt = derive_salt(&ctx.secret, SaltPurpose::GroundTruth, U256::from(epoch));
                match ctx
                    .chain
                    .reveal_ground_truth(ctx.address, task, B256::from(rec.held_out_id), salt)
                    .await
                {
                    Ok(_) => {}
                    Err(e)
                        if matches!(e.revert(), Some(TaskContractErrors::AlreadyRevealed(_))) => {}
                    Err(e) => return Err(e.into()),
                }
                if let Some(held) = ctx.content(rec.held_out_id, ContentKind::TaskBatch)? {
                    ctx.serve(&held).await?;
                }
                rec.stage = ProposerStage::GroundTruthRevealed;
                ctx.save(&key(epoch), &rec)?;
                events::emit(
                    Phase::Reveal,
                    epoch,
                    format!("task {task}: ground truth revealed"),
                );
            }
            ProposerAction::Missed => {
                rec.stage = ProposerStage::Done;
                ctx.save(&key(epoch), &rec)?;
            }
            ProposerAction::Wait | ProposerAction::Finished => {}
        }
        Ok(false)
    }

    /// Creates the epoch's task (committing to the hidden held-out set) and announces it with
    /// its spec; `None` while the spec is not in the store.
    async fn create_task(
        &self,
        epoch: u64,
        rec: &ProposerRecord,
    ) -> Result<Option<U256>, RoleError> {
        let ctx = &self.ctx;
        let Some(spec) = ctx.content(rec.spec_id, ContentKind::TaskBatch)? else {
            return Ok(None);
        };
        ctx.serve(&spec).await?;
        let salt = derive_salt(&ctx.secret, SaltPurpose::GroundTruth, U256::from(epoch));
        let p = &ctx.plan;
        let params = TaskParams {
            project_id: p.project,
            spec_hash: B256::from(rec.spec_id),
            ground_truth_commit: proposer_commitment(B256::from(rec.held_out_id), salt),
            solver_reward: p.solver_reward,
            coordinator_reward: p.coordinator_reward,
            commit_blocks: p.phases.commit,
            reveal_blocks: p.phases.reveal,
            vote_blocks: p.phases.vote,
            epoch,
        };
        let t = ctx.chain.create_task(ctx.address, &params).await?;
        let text = format!(
            "task {t} created (spec {})",
            crate::roles::solver::short(&rec.spec_id)
        );
        events::emit(Phase::Propose, epoch, text);
        let a = TaskAnnouncement {
            version: WIRE_VERSION,
            task_id: t.to_be_bytes::<32>(),
            spec,
        };
        ctx.net.publish(GossipTopic::Tasks, encode(&a)).await.ok();
        Ok(Some(t))
    }

    /// A task of this proposer with this spec, if one was created before a restart.
    async fn find_on_chain(&self, spec_id: [u8; 32]) -> Result<Option<U256>, RoleError> {
        let ctx = &self.ctx;
        let mut id = 1u64;
        loop {
            match ctx.chain.task_info(U256::from(id)).await {
                Ok(info) => {
                    if info.proposer == ctx.address && info.spec_hash.0 == spec_id {
                        return Ok(Some(U256::from(id)));
                    }
                }
                Err(e) if matches!(e.revert(), Some(TaskContractErrors::UnknownTask(_))) => {
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            }
            id += 1;
        }
    }
}
