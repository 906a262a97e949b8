//! What every role actor of a peer shares: its chain handle and role key, its overlay client,
//! its durable store, its inbox of accepted gossip, the model kind, the simulation's block board and
//! the protocol-log run its events go to. Content (specs, held-out sets, models, bundles, mint lists) is kept in the store by
//! content id and fetched from providers over request-response when missing ([`super::fetch`]).

use std::sync::Arc;

use alloy::primitives::{Address, U256};
use autonet_contracts::ProtocolView;
use autonet_p2p::Client;
use autonet_store::{Store, Table};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::RoleError;
use super::board::Board;
use super::events::RunId;
use super::fetch::Fetcher;
use crate::protocol::constitution::{ActionKind, permit};
use crate::protocol::model::{Accepted, Aggregate, TrainingModel};
use crate::protocol::score::Verdict;
use crate::protocol::wire::content_id;

/// Content by id (BLAKE3 of the bytes).
pub const CONTENT: Table = Table::new("protocol.content");
/// The overlay serves a peer's content from its store ([`CONTENT`]).
#[derive(Debug)]
pub struct StoredContent(pub Arc<Store>);

impl autonet_p2p::transfer::ContentSource for StoredContent {
    fn content(&self, id: &[u8; 32]) -> Option<Vec<u8>> {
        self.0.get(CONTENT, id).ok().flatten()
    }
}

/// Role records (stages, salts, cursors), CBOR by key.
pub const RECORDS: Table = Table::new("protocol.records");

/// Settings of a simulated network every role agrees on.
#[derive(Debug, Clone)]
pub struct NetworkPlan {
    /// The project tasks are funded from.
    pub project: U256,
    /// Epochs to run (1-based; the simulation stops after the last).
    pub epochs: u64,
    /// Proposers in leader order: epoch `e` is led by `proposers[(e - 1) % len]`.
    pub proposers: Vec<Address>,
    /// Turns per task batch.
    pub batch_len: usize,
    /// Turns per solver slice.
    pub slice_len: usize,
    /// Held-out turns per task (the proposer's hidden ground truth).
    pub held_out_len: usize,
    /// Passes each solver makes over its slice.
    pub train_epochs: u32,
    /// Phase lengths in blocks.
    pub phases: crate::protocol::phase::PhaseBlocks,
    /// Solver reward pool per task, in ATN wei.
    pub solver_reward: U256,
    /// Coordinator reward pool per task, in ATN wei.
    pub coordinator_reward: U256,
}

/// One peer's role context.
pub struct Ctx<C> {
    /// Peer name for logs and reports (`solver-2`).
    pub name: String,
    /// The staked account this peer acts for; the role's transactions are sent from it.
    pub address: Address,
    /// Never leaves the peer: salts and task seeds derive from it.
    pub secret: [u8; 32],
    /// Chain access for the role account (reads and transactions).
    pub chain: Arc<C>,
    /// The overlay client (gossip, providers, request-response).
    pub net: Client,
    /// The peer's durable store: role records ([`RECORDS`]) and content ([`CONTENT`]).
    pub store: Arc<Store>,
    /// Fetches missing content without blocking the role.
    pub fetcher: Fetcher,
    /// Holds and serves model shards; the aggregator publishes models through it.
    pub shards: crate::shards::ShardHost,
    /// Where the gate files accepted gossip (task specs, model announcements).
    pub inbox: super::inbox::Inbox,
    /// The model kind the network trains.
    pub model: Arc<dyn TrainingModel>,
    /// The settings every role of the network agrees on.
    pub plan: Arc<NetworkPlan>,
    /// The block board a simulation's chain clock waits on.
    pub board: Board,
    /// The protocol-log run this peer's events belong to (the `run` of its role span).
    pub run: RunId,
    /// The solver's choices at the protocol's decision points ([`super::conduct`]).
    pub conduct: Arc<dyn super::conduct::SolverConduct>,
}

impl<C> std::fmt::Debug for Ctx<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("name", &self.name)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

fn to_cbor<T: Serialize>(value: &T) -> Vec<u8> {
    crate::protocol::wire::encode(value)
}

impl<C: ProtocolView + 'static> Ctx<C> {
    /// Reads a record.
    pub fn load<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, RoleError> {
        match self.store.get(RECORDS, key.as_bytes())? {
            None => Ok(None),
            Some(bytes) => ciborium::from_reader(bytes.as_slice())
                .map(Some)
                .map_err(|e| RoleError::Corrupt(format!("record {key}: {e}"))),
        }
    }

    /// Writes a record; durable when this returns.
    pub fn save<T: Serialize>(&self, key: &str, value: &T) -> Result<(), RoleError> {
        Ok(self.store.put(RECORDS, key.as_bytes(), &to_cbor(value))?)
    }

    /// Stores content locally (not announced); returns its id.
    pub fn keep(&self, bytes: &[u8]) -> Result<[u8; 32], RoleError> {
        let id = content_id(bytes);
        self.store.put(CONTENT, &id, bytes)?;
        Ok(id)
    }

    /// Stores content and serves it from the store: request-response plus a provider record.
    pub async fn serve(&self, bytes: &[u8]) -> Result<[u8; 32], RoleError> {
        let id = self.keep(bytes)?;
        self.net.serve_stored(id).await?;
        Ok(id)
    }

    /// Content by id from the store; `None` while it is being fetched from providers in the
    /// background ([`super::fetch`]): the role reports waiting and asks again on its next tick.
    /// `kind` caps what a provider may send for it.
    pub fn content(
        &self,
        id: [u8; 32],
        kind: super::fetch::ContentKind,
    ) -> Result<Option<Vec<u8>>, RoleError> {
        self.fetcher.get(id, kind)
    }

    /// Failed attempts at fetching `id` (every provider found tried, none served it).
    pub fn fetch_failures(&self, id: [u8; 32]) -> u32 {
        self.fetcher.failures(id)
    }

    /// Trains on a blocking thread (training is CPU-bound; the runtime keeps serving the overlay).
    pub async fn train(
        &self,
        base: Vec<u8>,
        slice: Vec<String>,
        epochs: u32,
        author: String,
    ) -> Result<Vec<u8>, RoleError> {
        permit(
            ActionKind::Train,
            format!("train {} turns for {author}", slice.len()),
        )?;
        let model = self.model.clone();
        tokio::task::spawn_blocking(move || model.train(&base, &slice, epochs, &author))
            .await
            .map_err(|e| RoleError::Actor(format!("training task: {e}")))?
            .map_err(RoleError::from)
    }

    /// Verifies on a blocking thread.
    pub async fn verify(
        &self,
        base: Vec<u8>,
        slice: Vec<String>,
        epochs: u32,
        author: String,
        solution: Vec<u8>,
        held_out: Vec<String>,
    ) -> Result<Verdict, RoleError> {
        permit(
            ActionKind::Verify,
            format!("verify the solution of {author} on {} turns", slice.len()),
        )?;
        let model = self.model.clone();
        tokio::task::spawn_blocking(move || {
            model.verify(&base, &slice, epochs, &author, &solution, &held_out)
        })
        .await
        .map_err(|e| RoleError::Actor(format!("verification task: {e}")))?
        .map_err(RoleError::from)
    }

    /// Aggregates on a blocking thread.
    pub async fn aggregate(
        &self,
        base: Vec<u8>,
        accepted: Vec<Accepted>,
    ) -> Result<Aggregate, RoleError> {
        permit(
            ActionKind::Aggregate,
            format!("aggregate {} accepted solutions", accepted.len()),
        )?;
        let model = self.model.clone();
        tokio::task::spawn_blocking(move || model.aggregate(&base, &accepted))
            .await
            .map_err(|e| RoleError::Actor(format!("aggregation task: {e}")))?
            .map_err(RoleError::from)
    }

    /// Held-out losses of two models (`None` for a model kind without the measure), on a
    /// blocking thread.
    pub async fn held_out_losses(
        &self,
        before: Vec<u8>,
        after: Vec<u8>,
    ) -> Result<Option<(f64, f64)>, RoleError> {
        let model = self.model.clone();
        tokio::task::spawn_blocking(move || {
            Ok::<_, crate::protocol::ProtocolError>(
                match (model.held_out_loss(&before)?, model.held_out_loss(&after)?) {
                    (Some(b), Some(a)) => Some((b, a)),
                    _ => None,
                },
            )
        })
        .await
        .map_err(|e| RoleError::Actor(format!("evaluation task: {e}")))?
        .map_err(RoleError::from)
    }

    /// The model every epoch-1 task starts from, kept locally.
    pub fn genesis_model(&self) -> Result<[u8; 32], RoleError> {
        self.keep(&self.model.genesis())
    }

    /// The agreed base model of `epoch`: genesis for epoch 1, else the model the previous
    /// epoch's final mint root names on chain (`None` until that root is final). Announcements
    /// on gossip only say where to fetch it: a rogue announcement names nothing the chain
    /// confirmed, so it is never a base.
    pub async fn base_model_of(&self, epoch: u64) -> Result<Option<[u8; 32]>, RoleError> {
        if epoch <= 1 {
            return self.genesis_model().map(Some);
        }
        let model = self.chain.final_model_of(U256::from(epoch - 1)).await?;
        Ok((!model.is_zero()).then_some(model.0))
    }
}
