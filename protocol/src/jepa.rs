//! VL-JEPA as a [`TrainingModel`] (tiny graph set, CPU): the network's model is a
//! [`GlobalModel`] (online parameters and EMA target, [`jepa_wire`](crate::jepa_wire)); task
//! items are indices into the committed digits.
//!
//! - **Train**: `epochs × ⌈slice / batch⌉` steps from the base on batches drawn from the slice
//!   (generator seeded by author and slice), the solution is the weight delta's wire encoding,
//!   so its content id is the delta's id (`autonet_models::jepa::federated::train_delta`).
//! - **Verify**: the delta must decode for this layout, match the coordinator's recomputation of
//!   the author's slice within [`RECOMPUTE_TOLERANCE`] (relative distance; floats may differ
//!   across machines, so equality is not required), and base + delta must not raise the loss on
//!   the hidden held-out images by more than [`HELD_OUT_TOLERANCE`]. Quality is the held-out
//!   improvement in percent. Garbage, a scaled delta or a neighbour's delta fail.
//! - **Aggregate**: accepted deltas in canonical order (by author), merged with a trimmed mean
//!   (one trimmed per side) from three up, the median below that, then the target's EMA step.
//!   Each accepted solver mints [`MINT_PER_SAMPLE_WEI`] per training sample. Everything here is
//!   plain f32/f64 arithmetic, so every coordinator reproduces the model id and mint root.
//!
//! ONNX Runtime sessions are not shareable across threads, so a small pool of [`VlJepa`]
//! instances serves concurrent calls; each call resets the instance's state from its inputs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use autonet_models::aggregate::Rule;
use autonet_models::jepa::data::{Digit, committed_digits};
use autonet_models::jepa::federated::{
    GlobalModel, aggregate_epoch, held_out_batch, held_out_loss, train_delta,
};
use autonet_models::jepa::params::Layout;
use autonet_models::jepa::verify::{Tolerance, candidate, decode_delta, encode_delta};
use autonet_models::jepa::{Device, GraphSource, JepaError, VlBatch, VlJepa};

use crate::ProtocolError;
use crate::jepa_wire::{decode_model, encode_model, items, parse_items};
use crate::model::{Accepted, Aggregate, TrainingModel};
use crate::score::Verdict;
use crate::wire::ModelKindId;

/// Seed of the genesis parameters.
pub const GENESIS_SEED: u64 = 3;
/// Largest relative distance between a delta and its recomputation.
pub const RECOMPUTE_TOLERANCE: f64 = 1e-3;
/// How much base + delta may raise the held-out loss (absolute, relative to the base loss).
pub const HELD_OUT_TOLERANCE: Tolerance = Tolerance {
    abs: 1e-4,
    rel: 0.02,
};
/// EMA momentum of the target at aggregation.
pub const TARGET_MOMENTUM: f32 = 0.99;
/// Mint per training sample of an accepted delta, in ATN wei (1e-5 ATN).
pub const MINT_PER_SAMPLE_WEI: u128 = 10_000_000_000_000;
/// Held-out images of the report's fixed evaluation set (the first ones of the held-out part).
pub const EVAL_IMAGES: usize = 128;
/// Seed of the patch masks of held-out batches.
const MASK_SEED: u64 = 5;

/// VL-JEPA on the tiny graph set.
pub struct Jepa {
    source: GraphSource,
    layout: Arc<Layout>,
    batch: usize,
    genesis: Vec<u8>,
    train: Vec<Digit>,
    held: Vec<Digit>,
    pool: Mutex<Vec<VlJepa>>,
}

impl std::fmt::Debug for Jepa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jepa")
            .field("params", &self.layout.len)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

fn jepa_err(e: JepaError) -> ProtocolError {
    ProtocolError::Model(e.to_string())
}

impl Jepa {
    /// Loads the tiny graphs into ONNX Runtime (an error names the install command when the
    /// library is missing).
    pub fn new() -> Result<Self, ProtocolError> {
        let source = GraphSource::parse("tiny").map_err(jepa_err)?;
        let vl = VlJepa::new(&source, Device::Cpu, GENESIS_SEED).map_err(jepa_err)?;
        let genesis = encode_model(&GlobalModel {
            params: vl.state.params.clone(),
            target: vl.target.clone(),
        });
        let (train, held) = committed_digits().map_err(jepa_err)?;
        Ok(Jepa {
            source,
            layout: vl.model.layout.clone(),
            batch: vl.config.batch,
            genesis,
            train,
            held,
            pool: Mutex::new(vec![vl]),
        })
    }

    /// Runs `f` on a pooled instance (a new one when all are busy).
    fn with_vl<T>(
        &self,
        f: impl FnOnce(&mut VlJepa) -> Result<T, JepaError>,
    ) -> Result<T, ProtocolError> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        let mut vl = match pooled {
            Some(vl) => vl,
            None => VlJepa::new(&self.source, Device::Cpu, GENESIS_SEED).map_err(jepa_err)?,
        };
        let out = f(&mut vl);
        if let Ok(mut p) = self.pool.lock() {
            p.push(vl);
        }
        out.map_err(jepa_err)
    }

    /// The parameter layout of the graphs.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    fn model(&self, bytes: &[u8]) -> Result<GlobalModel, ProtocolError> {
        decode_model(bytes, &self.layout)
    }

    fn steps(&self, slice_len: usize, epochs: u32) -> usize {
        epochs as usize * slice_len.div_ceil(self.batch)
    }

    /// Batches of the held-out images `idx` (the last one filled by wrapping around).
    fn held_batches(&self, vl: &VlJepa, idx: &[usize]) -> Vec<VlBatch> {
        let picked: Vec<Digit> = idx.iter().map(|&i| self.held[i].clone()).collect();
        (0..idx.len().div_ceil(self.batch))
            .map(|k| held_out_batch(vl, &picked, k * self.batch, MASK_SEED + k as u64))
            .collect()
    }

    /// Trains `slice` from `model` as `author` would.
    fn recompute(
        &self,
        vl: &mut VlJepa,
        model: &GlobalModel,
        slice: &[String],
        epochs: u32,
        author: &str,
    ) -> Result<autonet_models::jepa::WeightDelta, JepaError> {
        let idx =
            parse_items(slice, self.train.len()).map_err(|e| JepaError::Data(e.to_string()))?;
        let seed = train_seed(author, slice);
        let steps = self.steps(idx.len(), epochs);
        Ok(train_delta(vl, model, &self.train, &idx, steps, seed)?.1)
    }
}

/// The training generator's seed: BLAKE3 of the author and the slice items.
fn train_seed(author: &str, slice: &[String]) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(b"autonet/jepa/train-seed/1");
    h.update(author.as_bytes());
    for s in slice {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    }
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(seed)
}

/// Mean held-out loss of `params` (against `model`'s target) over `batches`.
fn mean_loss(
    vl: &mut VlJepa,
    model: &GlobalModel,
    params: &autonet_models::jepa::ParamSet,
    batches: &[VlBatch],
) -> Result<f64, JepaError> {
    let mut sum = 0.0;
    for b in batches {
        sum += held_out_loss(vl, model, params, b)?;
    }
    Ok(sum / batches.len().max(1) as f64)
}

/// ‖a − b‖ / ‖b‖.
fn relative_distance(a: &[f64], b: &[f64]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let norm: f64 = b.iter().map(|y| y * y).sum();
    (diff / norm.max(f64::MIN_POSITIVE)).sqrt()
}

impl TrainingModel for Jepa {
    fn kind(&self) -> ModelKindId {
        ModelKindId::Jepa
    }

    fn genesis(&self) -> Vec<u8> {
        self.genesis.clone()
    }

    fn training_items(&self) -> Vec<String> {
        items(self.train.len())
    }

    fn held_out_items(&self) -> Vec<String> {
        items(self.held.len())
    }

    fn train(
        &self,
        base: &[u8],
        slice: &[String],
        epochs: u32,
        author: &str,
    ) -> Result<Vec<u8>, ProtocolError> {
        let model = self.model(base)?;
        let delta = self.with_vl(|vl| self.recompute(vl, &model, slice, epochs, author))?;
        Ok(encode_delta(&delta, &self.layout))
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
        let model = self.model(base)?;
        let held_idx = parse_items(held_out, self.held.len())?;
        parse_items(slice, self.train.len())?;
        let delta = match decode_delta(solution, &self.layout) {
            Ok(d) => d,
            Err(e) => return Ok(Verdict::Invalid(e.to_string())),
        };
        self.with_vl(|vl| {
            let again = self.recompute(vl, &model, slice, epochs, author)?;
            let distance = relative_distance(&delta.values, &again.values);
            if distance.is_nan() || distance > RECOMPUTE_TOLERANCE {
                return Ok(Verdict::Invalid(format!(
                    "weight delta differs from the recomputation of its slice (relative distance {distance:.3e})"
                )));
            }
            let batches = self.held_batches(vl, &held_idx);
            let before = mean_loss(vl, &model, &model.params, &batches)?;
            let after = mean_loss(vl, &model, &candidate(&model.params, &delta)?, &batches)?;
            let tol = HELD_OUT_TOLERANCE;
            if !after.is_finite() || after > before + tol.abs + tol.rel * before.abs() {
                return Ok(Verdict::Invalid(format!(
                    "raises the held-out loss from {before:.4} to {after:.4}"
                )));
            }
            let improvement = if before > 0.0 {
                100.0 * (before - after) / before
            } else {
                0.0
            };
            Ok(Verdict::Valid {
                quality: improvement.clamp(0.0, 100.0),
            })
        })
    }

    fn aggregate(&self, base: &[u8], accepted: &[Accepted]) -> Result<Aggregate, ProtocolError> {
        let model = self.model(base)?;
        let mut order: Vec<&Accepted> = accepted.iter().collect();
        order.sort_by(|a, b| a.author.cmp(&b.author));
        let mut updates = Vec::new();
        let mut mint = BTreeMap::new();
        let mut novelty = BTreeMap::new();
        for a in order {
            // Consensus accepted it, so it decodes unless a coordinator majority lied; such a
            // delta is left out here the same way by everyone.
            let Ok(delta) = decode_delta(&a.solution, &self.layout) else {
                continue;
            };
            let samples = (self.steps(a.slice.len(), a.epochs) * self.batch) as u64;
            *mint.entry(a.author.clone()).or_insert(0) += u128::from(samples) * MINT_PER_SAMPLE_WEI;
            novelty.insert(a.author.clone(), delta.norm());
            updates.push((delta, samples));
        }
        if updates.is_empty() {
            return Ok(Aggregate {
                model: base.to_vec(),
                mint: BTreeMap::new(),
                novelty,
                root_scores: Vec::new(),
            });
        }
        let rule = if updates.len() >= 3 {
            Rule::TrimmedMean { trim: 1 }
        } else {
            Rule::Median
        };
        let merged = aggregate_epoch(&model, &updates, rule, TARGET_MOMENTUM).map_err(jepa_err)?;
        let step = merged.params.delta_from(&model.params).map_err(jepa_err)?;
        Ok(Aggregate {
            model: encode_model(&merged),
            mint,
            novelty,
            root_scores: vec![("merged_update_norm".to_string(), step.norm())],
        })
    }

    fn held_out_loss(&self, model: &[u8]) -> Result<Option<f64>, ProtocolError> {
        let model = self.model(model)?;
        let idx: Vec<usize> = (0..EVAL_IMAGES.min(self.held.len())).collect();
        self.with_vl(|vl| {
            let batches = self.held_batches(vl, &idx);
            mean_loss(vl, &model, &model.params, &batches).map(Some)
        })
    }
}
