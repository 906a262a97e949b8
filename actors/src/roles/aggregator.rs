//! The aggregator role: once an epoch's task is settled (finalizing or expiring it itself if no
//! coordinator did), fetch the accepted bundles, merge them in canonical order onto the epoch's
//! base model, reconcile the epoch, post the mint root (naming the new model), and announce it on
//! the `models` topic (re-announced until the next epoch's task exists). Once the coordinators
//! have made its mint root final, the aggregator erasure-codes the model, registers its shard
//! root on `ModelShardRegistry` (the registry takes an epoch's model only from the aggregator of
//! its final root) and hands the shards to the peers placement picks ([`crate::shards`]): shards
//! are the only way a model leaves its aggregator, and every peer rebuilds it from them.

use std::sync::Arc;

use alloy::primitives::{B256, U256};
use autonet_contracts::revert::{
    ModelShardRegistryErrors, ResultsRewardsErrors, TaskContractErrors,
};
use autonet_contracts::{ModelRegistration, ProtocolView, TaskStatus};
use autonet_models::sharding::{self, ShardParams};
use autonet_p2p::GossipTopic;
use serde::{Deserialize, Serialize};

use super::RoleError;
use super::coordinator::{accepted_of, accepted_solvers};
use super::ctx::{CONTENT, Ctx};
use super::events::{self, EpochRecord, Phase};
use super::fetch::ContentKind;
use super::tasks::{KnownTask, TaskRole, Tracker, step_tasks};
use crate::protocol::mint::MintList;
use crate::protocol::wire::{ModelAnnouncement, WIRE_VERSION, encode};
use crate::shards::publish::place_model;

/// Shard coding of published models (the registry's default).
pub const SHARDS: (usize, usize) = (10, 4);
/// Blocks between re-announcements of the latest model.
pub const REANNOUNCE_BLOCKS: u64 = 4;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Published {
    announcement: ModelAnnouncement,
}

/// A model waiting for its epoch's mint root to become final before it is registered and its
/// shards placed (the model's bytes are in the content store under `model_id`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingRegistration {
    epoch: u64,
    mint_root: [u8; 32],
    model_id: [u8; 32],
}

const PENDING_KEY: &str = "aggregator.pending_registrations";

/// The aggregator role's state.
#[derive(Debug)]
pub struct Aggregator<C> {
    ctx: Arc<Ctx<C>>,
    tracker: Tracker,
    last: Option<(ModelAnnouncement, u64)>,
    /// Contents (model, mint list, shards) this incarnation serves.
    serving: bool,
}

const ROLE: &str = "aggregator";

fn record_key(epoch: u64) -> String {
    format!("aggregator.record.{epoch}")
}

impl<C: ProtocolView + 'static> Aggregator<C> {
    /// Resumes from the store: the followed tasks and the last announcement; re-emits the
    /// records of epochs published before a restart.
    pub async fn resume(ctx: Arc<Ctx<C>>) -> Result<Self, RoleError> {
        let tracker = Tracker::resume(&ctx, ROLE).await?;
        let last: Option<Published> = ctx.load("aggregator.last")?;
        // A restarted aggregator reports the epochs it published before (the protocol log lives
        // in memory; the records are in the store).
        for epoch in 1..=ctx.plan.epochs {
            if let Some(record) = ctx.load::<EpochRecord>(&record_key(epoch))? {
                events::restored(&record);
            }
        }
        Ok(Aggregator {
            ctx,
            tracker,
            last: last.map(|p| (p.announcement, 0)),
            serving: false,
        })
    }

    /// The peer context this role runs in.
    pub fn ctx(&self) -> &Ctx<C> {
        &self.ctx
    }

    /// One step at chain head `head`; true while waiting on the network (content, a model).
    pub async fn step(&mut self, head: u64) -> Result<bool, RoleError> {
        let ctx = self.ctx.clone();
        let waiting = step_tasks(self, &ctx, head).await?;
        self.reannounce(head).await?;
        self.register_final().await?;
        Ok(waiting)
    }
}

impl<C: ProtocolView + 'static> TaskRole for Aggregator<C> {
    fn tracker(&mut self) -> &mut Tracker {
        &mut self.tracker
    }

    async fn advance(&mut self, task: &KnownTask, head: u64) -> Result<bool, RoleError> {
        let ctx = self.ctx.clone();
        let epoch = task.spec.epoch;
        let done_key = format!("aggregator.epoch.{epoch}");
        if ctx.load::<bool>(&done_key)?.is_some() || head <= task.info.vote_deadline {
            if ctx.load::<bool>(&done_key)?.is_some() {
                self.tracker.close(&ctx, task.id)?;
            }
            return Ok(false);
        }
        settle(&ctx, task.id).await?;
        let accepted = accepted_solvers(&ctx, task.id).await?;
        let Some(inputs) = accepted_of(&ctx, task.id, &task.spec, &accepted).await? else {
            return Ok(true);
        };
        let Some(base) = ctx.content(task.spec.base_model, ContentKind::Model)? else {
            return Ok(true);
        };
        events::emit(
            Phase::Aggregate,
            epoch,
            format!(
                "task {}: merging {} accepted bundles",
                task.id,
                inputs.len()
            ),
        );
        let agg = ctx.aggregate(base.clone(), inputs).await?;
        let held_out_loss = ctx.held_out_losses(base, agg.model.clone()).await?;
        let list = MintList::from_agents(epoch, &agg.mint)?;
        let list_bytes = encode(&list);
        // Kept, not served: the model leaves this peer as shards once its root is final.
        let model_id = ctx.keep(&agg.model)?;
        let list_id = ctx.serve(&list_bytes).await?;
        let root = list.root();
        if !self.post_root(task, &list, model_id, head).await? {
            return Ok(true);
        }
        self.file_registration(epoch, model_id, root.0)?;
        let announcement = self.announce(epoch, model_id, list_id, root.0).await?;
        let record = EpochRecord {
            epoch,
            task: task.id.to_string(),
            model_id: hex::encode(model_id),
            mint_root: hex::encode(root.0),
            accepted: accepted.clone(),
            mint_agents: list.entries.len(),
            root_scores: agg.root_scores.clone(),
            novelty: agg.novelty.clone().into_iter().collect(),
            held_out_loss,
            // Stamped by the protocol log, on its run's clock.
            started_at: 0.0,
            published_at: 0.0,
        };
        // The record before the done mark: a crash between them republishes, never loses it.
        ctx.save(&record_key(epoch), &record)?;
        ctx.save(&done_key, &true)?;
        self.last = Some((announcement, head));
        self.serving = true;
        events::published(
            &record,
            format!(
                "model {} from {} accepted bundles, mint root {} over {} agents",
                crate::roles::solver::short(&model_id),
                accepted.len(),
                crate::roles::solver::short(&root.0),
                list.entries.len()
            ),
        );
        self.tracker.close(&ctx, task.id)?;
        Ok(false)
    }
}

impl<C: ProtocolView + 'static> Aggregator<C> {
    /// Posts the epoch's mint root, naming the merged model; false while another task of the
    /// epoch (anyone's) is still open: those whose vote is over are settled meanwhile, and the
    /// root is posted once they have all closed. A root already posted counts as posted.
    async fn post_root(
        &self,
        task: &KnownTask,
        list: &MintList,
        model_id: [u8; 32],
        head: u64,
    ) -> Result<bool, RoleError> {
        let ctx = &self.ctx;
        let epoch = task.spec.epoch;
        let posted = ctx
            .chain
            .post_mint_root(
                ctx.address,
                U256::from(epoch),
                list.root(),
                list.total(),
                B256::from(model_id),
            )
            .await;
        match posted {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.revert(),
                    Some(
                        ResultsRewardsErrors::MintRootExists(_)
                            | ResultsRewardsErrors::EpochFinal(_)
                    )
                ) =>
            {
                Ok(true)
            }
            Err(e) if matches!(e.revert(), Some(TaskContractErrors::EpochNotSettled(_))) => {
                settle_epoch_neighbours(ctx, epoch, task.id, head).await?;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Announces the epoch's model on gossip (to this peer's own inbox too) and remembers the
    /// announcement across restarts.
    async fn announce(
        &self,
        epoch: u64,
        model_id: [u8; 32],
        mint_list_id: [u8; 32],
        mint_root: [u8; 32],
    ) -> Result<ModelAnnouncement, RoleError> {
        let ctx = &self.ctx;
        let announcement = ModelAnnouncement {
            version: WIRE_VERSION,
            epoch,
            model_id,
            mint_list_id,
            mint_root,
        };
        ctx.inbox.file_model(&announcement)?;
        ctx.net
            .publish(GossipTopic::Models, encode(&announcement))
            .await
            .ok();
        ctx.save(
            "aggregator.last",
            &Published {
                announcement: announcement.clone(),
            },
        )?;
        Ok(announcement)
    }
}

impl<C: ProtocolView + 'static> Aggregator<C> {
    /// Files the model for registration and shard placement once the epoch's mint root is
    /// final.
    fn file_registration(
        &self,
        epoch: u64,
        model_id: [u8; 32],
        mint_root: [u8; 32],
    ) -> Result<(), RoleError> {
        let ctx = &self.ctx;
        let mut pending: Vec<PendingRegistration> = ctx.load(PENDING_KEY)?.unwrap_or_default();
        if pending.iter().all(|p| p.epoch != epoch) {
            pending.push(PendingRegistration {
                epoch,
                mint_root,
                model_id,
            });
            ctx.save(PENDING_KEY, &pending)?;
        }
        Ok(())
    }

    /// Registers and places every pending model whose mint root is now final; drops those
    /// whose epoch finalized another root. A placement that fails (too few peers answer) is
    /// tried again on the next step.
    async fn register_final(&self) -> Result<(), RoleError> {
        let ctx = &self.ctx;
        let Some(pending) = ctx.load::<Vec<PendingRegistration>>(PENDING_KEY)? else {
            return Ok(());
        };
        if pending.is_empty() {
            return Ok(());
        }
        let mut left = Vec::new();
        for p in pending {
            let final_root = ctx.chain.final_mint_root(U256::from(p.epoch)).await?;
            if final_root.is_zero() {
                left.push(p);
                continue;
            }
            if final_root.0 != p.mint_root {
                events::emit(
                    Phase::Publish,
                    p.epoch,
                    "another mint root became final; this model is not registered",
                );
                continue;
            }
            if !self.publish_model(&p).await? {
                left.push(p);
            }
        }
        ctx.save(PENDING_KEY, &left)?;
        Ok(())
    }

    /// Erasure-codes the model of `p`, registers its shard root and places its shards; whether
    /// every shard found a holder.
    async fn publish_model(&self, p: &PendingRegistration) -> Result<bool, RoleError> {
        let ctx = &self.ctx;
        let Some(model) = ctx.store.get(CONTENT, &p.model_id)? else {
            return Err(RoleError::Corrupt(format!(
                "the model of epoch {} is missing from the store",
                p.epoch
            )));
        };
        let params =
            ShardParams::new(SHARDS.0, SHARDS.1).map_err(|e| RoleError::Corrupt(e.to_string()))?;
        let (name, epoch) = (ctx.model.kind().name().to_string(), p.epoch);
        let coded =
            tokio::task::spawn_blocking(move || sharding::encode(&name, epoch, &model, params))
                .await
                .map_err(|e| RoleError::Actor(format!("shard coding task: {e}")))?
                .map_err(|e| RoleError::Corrupt(e.to_string()))?;
        let manifest = coded.manifest;
        let registration = ModelRegistration {
            model_id: B256::from(p.model_id),
            project_id: ctx.plan.project,
            root: B256::from(manifest.root.0),
            k: manifest.k,
            m: manifest.m,
            epoch: p.epoch,
            leaves: manifest.leaves.iter().map(|l| B256::from(l.0)).collect(),
        };
        match ctx.chain.register_model(ctx.address, &registration).await {
            Ok(_) => {}
            // Registered before a restart, or the same model (nothing accepted) by an
            // earlier epoch's final root: the contract refuses only those, and either one
            // describes these very bytes (the id is their hash).
            Err(e) if matches!(e.revert(), Some(ModelShardRegistryErrors::ModelExists(_))) => {}
            Err(e) => return Err(e.into()),
        }
        let replication = ctx.shards.config().replication;
        match place_model(&ctx.shards, manifest, coded.shards, replication).await {
            Ok(published) => {
                let holders: std::collections::BTreeSet<_> =
                    published.holders.iter().flatten().collect();
                events::emit(
                    Phase::Publish,
                    p.epoch,
                    format!(
                        "model {} registered and its {} shards placed on {} peers",
                        crate::roles::solver::short(&p.model_id),
                        published.holders.len(),
                        holders.len()
                    ),
                );
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(epoch = p.epoch, "shard placement incomplete, retrying: {e}");
                Ok(false)
            }
        }
    }

    async fn reannounce(&mut self, head: u64) -> Result<(), RoleError> {
        let ctx = self.ctx.clone();
        let Some((a, at)) = self.last.clone() else {
            return Ok(());
        };
        if !self.serving {
            // A restarted aggregator serves its last mint list again (its models live on
            // their shards' holders).
            if let Some(bytes) = ctx.content(a.mint_list_id, ContentKind::MintList)? {
                ctx.serve(&bytes).await?;
            }
            self.serving = true;
        }
        if head >= at + REANNOUNCE_BLOCKS {
            ctx.net.publish(GossipTopic::Models, encode(&a)).await.ok();
            self.last = Some((a, head));
        }
        Ok(())
    }
}

/// Finalizes `task` if it is open (or expires it when it cannot finalize).
async fn settle<C: ProtocolView + 'static>(ctx: &Ctx<C>, task: U256) -> Result<(), RoleError> {
    if ctx.chain.task_info(task).await?.status != TaskStatus::Open {
        return Ok(());
    }
    match ctx.chain.finalize(ctx.address, task).await {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.revert(),
                Some(ResultsRewardsErrors::NotEnoughVotes(_) | ResultsRewardsErrors::NoQuorum(_))
            ) =>
        {
            match ctx.chain.expire(ctx.address, task).await {
                Ok(_) => Ok(()),
                Err(e) if matches!(e.revert(), Some(ResultsRewardsErrors::TaskNotOpen(_))) => {
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) if matches!(e.revert(), Some(ResultsRewardsErrors::TaskNotOpen(_))) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Tasks of `epoch` created near `own` (anyone may add a task to an epoch) whose vote is over
/// are settled, so the epoch can get its mint root. Task ids are sequential: the scan looks at
/// [`NEIGHBOUR_SCAN`] ids below `own` and every id above it.
async fn settle_epoch_neighbours<C: ProtocolView + 'static>(
    ctx: &Ctx<C>,
    epoch: u64,
    own: U256,
    head: u64,
) -> Result<(), RoleError> {
    let next = ctx.chain.next_task_id().await?;
    let mut id = own
        .saturating_sub(U256::from(NEIGHBOUR_SCAN))
        .max(U256::from(1));
    while id < next {
        if id != own {
            let info = ctx.chain.task_info(id).await?;
            if info.epoch == epoch && info.status == TaskStatus::Open && head > info.vote_deadline {
                settle(ctx, id).await?;
            }
        }
        id += U256::from(1);
    }
    Ok(())
}

/// How many task ids below its own an aggregator looks at for tasks blocking its epoch.
const NEIGHBOUR_SCAN: u64 = 64;
