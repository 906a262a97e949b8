//! The model a task trains, behind one trait: train a slice into a solution, verify a solution,
//! aggregate accepted solutions into the next model and its mint. The protocol and the role
//! actors see only bytes and content ids, so another model kind (JEPA weight deltas verified
//! within a tolerance, robust aggregation) plugs in by implementing [`TrainingModel`] and adding
//! a [`crate::wire::ModelKindId`] variant; [`crate::jepa::Jepa`] is such a kind.
//!
//! [`Substrate`] is the world-model substrate: a solution is an event bundle, verified by
//! recomputation (bit for bit) and scored on the held-out turns. Aggregation trains the accepted
//! slices one after another, in canonical order (by author), onto the epoch's world, and
//! reconciles the epoch over the events that produced (mint by node movement, attributed to the
//! solvers whose PRO sprouts built it). Replaying independently trained bundles onto one world
//! instead is not safe in this engine: two solvers can sprout the same content-addressed nodes
//! under each other, and the merged child edges then form a cycle (observed with three solvers
//! on the shipped traces); sequential training is what the bundles were verified to be
//! recomputations of, and it always yields a valid world.

use std::collections::BTreeMap;

use autonet_models::substrate::keyword::KeywordEmbedder;
use autonet_models::substrate::reconcile::{EpochSnapshots, mint_list, reconcile_epoch};
use autonet_models::substrate::verify::{quality, verify_bundle};
use autonet_models::substrate::{World, solver};
use serde_json::Value;

use crate::ProtocolError;
use crate::score::Verdict;
use crate::wire::ModelKindId;

/// The merged model of an epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The encoded new model.
    pub model: Vec<u8>,
    /// Mint per agent (solver address), WAD fixed point.
    pub mint: BTreeMap<String, u128>,
    /// Novelty per agent (a diagnostic).
    pub novelty: BTreeMap<String, f64>,
    /// Root scores of the new model (for reports).
    pub root_scores: Vec<(String, f64)>,
}

/// An accepted solution with what it solved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The solver's address (hex string), who is credited in the mint.
    pub author: String,
    /// The turns the solver was assigned and trained on, as exact JSON texts in batch order.
    pub slice: Vec<String>,
    /// Passes over the slice (the task spec's `train_epochs`).
    pub epochs: u32,
    /// The solution bytes [`TrainingModel::train`] returned, as revealed by the solver.
    pub solution: Vec<u8>,
}

/// One kind of trainable model (see the module docs).
pub trait TrainingModel: Send + Sync {
    /// Which kind this is.
    fn kind(&self) -> ModelKindId;
    /// The model every network starts from.
    fn genesis(&self) -> Vec<u8>;
    /// The items proposers draw task batches from (slices are made of them).
    fn training_items(&self) -> Vec<String>;
    /// The items proposers draw hidden held-out sets from (never trained on).
    fn held_out_items(&self) -> Vec<String>;
    /// Trains `slice` from `base`; returns the solution bytes.
    fn train(
        &self,
        base: &[u8],
        slice: &[String],
        epochs: u32,
        author: &str,
    ) -> Result<Vec<u8>, ProtocolError>;
    /// Verifies `solution` for (`base`, `slice`, `author`) and scores it on `held_out`.
    /// `Err` means the task itself is unusable, not that the solution is bad.
    fn verify(
        &self,
        base: &[u8],
        slice: &[String],
        epochs: u32,
        author: &str,
        solution: &[u8],
        held_out: &[String],
    ) -> Result<Verdict, ProtocolError>;
    /// Merges accepted solutions (any order; the model fixes a canonical one) into `base`.
    fn aggregate(&self, base: &[u8], accepted: &[Accepted]) -> Result<Aggregate, ProtocolError>;
    /// The model's loss on a fixed held-out evaluation set, for reports; `None` for a model
    /// without one.
    fn held_out_loss(&self, _model: &[u8]) -> Result<Option<f64>, ProtocolError> {
        Ok(None)
    }
}

/// The world-model substrate.
#[derive(Debug)]
pub struct Substrate {
    embedder: KeywordEmbedder,
}

fn model_err(e: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::Model(e.to_string())
}

/// Parses JSON turn texts.
pub fn parse_turns(turns: &[String]) -> Result<Vec<Value>, ProtocolError> {
    turns
        .iter()
        .map(|t| {
            let v: Value = serde_json::from_str(t).map_err(model_err)?;
            if v.is_object() {
                Ok(v)
            } else {
                Err(ProtocolError::Model("a turn must be a JSON object".into()))
            }
        })
        .collect()
}

impl Substrate {
    /// The substrate model; fails only if its keyword embedder's patterns do not compile.
    pub fn new() -> Result<Self, ProtocolError> {
        Ok(Substrate {
            embedder: KeywordEmbedder::new().map_err(model_err)?,
        })
    }
}

impl TrainingModel for Substrate {
    fn kind(&self) -> ModelKindId {
        ModelKindId::Substrate
    }

    fn genesis(&self) -> Vec<u8> {
        World::charter_v1().encode()
    }

    fn training_items(&self) -> Vec<String> {
        crate::data::training_turns()
    }

    fn held_out_items(&self) -> Vec<String> {
        crate::data::held_out_turns()
    }

    fn train(
        &self,
        base: &[u8],
        slice: &[String],
        epochs: u32,
        author: &str,
    ) -> Result<Vec<u8>, ProtocolError> {
        let mut world = World::decode(base).map_err(model_err)?;
        let turns = parse_turns(slice)?;
        let bundle =
            solver::train(&mut world, &turns, epochs, author, &self.embedder).map_err(model_err)?;
        Ok(bundle.encode())
    }

    fn verify(
        &self,
        base: &[u8],
        slice: &[String],
        epochs: u32,
        author: &str,
        solution: &[u8],
        held_out: &[String],
    ) -> Result<Verdict, ProtocolError> {
        let world = World::decode(base).map_err(model_err)?;
        let turns = parse_turns(slice)?;
        let verdict = verify_bundle(&world, &turns, epochs, author, solution, &self.embedder)
            .map_err(model_err)?;
        if let Err(reason) = verdict {
            return Ok(Verdict::Invalid(reason.to_string()));
        }
        // The candidate is the base plus this solution: exactly the recomputed world.
        let mut candidate = world.clone();
        solver::train(&mut candidate, &turns, epochs, author, &self.embedder).map_err(model_err)?;
        let held = parse_turns(held_out)?;
        let q = quality(&world, &candidate, &held, &self.embedder).map_err(model_err)?;
        Ok(Verdict::Valid { quality: q.score })
    }

    fn aggregate(&self, base: &[u8], accepted: &[Accepted]) -> Result<Aggregate, ProtocolError> {
        let mut world = World::decode(base).map_err(model_err)?;
        let mut order: Vec<&Accepted> = accepted.iter().collect();
        order.sort_by(|a, b| a.author.cmp(&b.author));
        let start = world.snapshot_scores();
        let mut bundles = Vec::with_capacity(order.len());
        for a in order {
            let turns = parse_turns(&a.slice)?;
            bundles.push(
                solver::train(&mut world, &turns, a.epochs, &a.author, &self.embedder)
                    .map_err(model_err)?,
            );
        }
        let events: Vec<_> = bundles.iter().flat_map(|b| b.events.clone()).collect();
        let snaps = EpochSnapshots {
            start,
            checkpoints: Vec::new(),
            close: world.snapshot_scores(),
        };
        let weights: BTreeMap<String, f64> =
            bundles.iter().map(|b| (b.author.clone(), 1.0)).collect();
        let rec = reconcile_epoch(&world, &snaps, &events, &weights, 1.0);
        let mint = mint_list(&rec)
            .into_iter()
            .map(|e| (e.agent, e.amount))
            .collect();
        Ok(Aggregate {
            model: world.encode(),
            mint,
            novelty: rec.agent_novelty.clone(),
            root_scores: world.root_scores(),
        })
    }
}
