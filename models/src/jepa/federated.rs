//! One JEPA training epoch as the protocol runs it, in pure library functions (no network, no
//! chain): the network's model is a [`GlobalModel`] (encoder parameters and EMA target);
//! a solver trains its deterministic slice of the task's data from it ([`solve`]) and submits
//! a content-addressed weight delta with its claimed held-out loss; a coordinator re-evaluates
//! the delta on the held-out batch and accepts the claim within a tolerance ([`verify`]); the
//! aggregator merges the accepted deltas with the project's robust rule and moves the target
//! ([`aggregate_epoch`]).
//!
//! The held-out loss of a candidate is measured against the base model's target, so every
//! coordinator measures the same quantity for every solver of an epoch.

use super::data::Digit;
use super::error::JepaError;
use super::model::TrainState;
use super::params::{ParamSet, WeightDelta};
use super::rng::Rng;
use super::verify::{Tolerance, Verdict, candidate, decode_delta, delta_id, encode_delta, judge};
use super::vl::{VlBatch, VlJepa};
use crate::aggregate::{AggregateError, Rule, Update, aggregate};

/// The network's current JEPA model.
#[derive(Debug, Clone)]
pub struct GlobalModel {
    /// Encoder (online) parameters.
    pub params: ParamSet,
    /// EMA target parameters.
    pub target: ParamSet,
}

/// What a solver submits.
#[derive(Debug, Clone)]
pub struct Solution {
    /// The weight delta's wire encoding ([`encode_delta`]).
    pub wire: Vec<u8>,
    /// Its content id ([`delta_id`]).
    pub id: [u8; 32],
    /// The held-out loss the solver claims for base + delta.
    pub claimed_loss: f64,
    /// Training samples behind it (FedAvg weight).
    pub samples: u64,
}

/// The training images of `solver`'s slice of a task: `len` distinct indices into `n` images,
/// drawn by a generator seeded from (task seed, solver address). Public and deterministic, so
/// coordinators know each slice and solvers cannot copy each other's work.
pub fn solver_slice(task_seed: u64, solver: &[u8], n: usize, len: usize) -> Vec<usize> {
    let mut h = blake3::Hasher::new();
    h.update(b"autonet/jepa/slice/1");
    h.update(&task_seed.to_le_bytes());
    h.update(solver);
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&h.finalize().as_bytes()[..8]);
    let mut rng = Rng::new(u64::from_le_bytes(seed));
    let mut order: Vec<usize> = (0..n).collect();
    let len = len.min(n);
    // Partial Fisher–Yates: the first `len` entries are a uniform sample without replacement.
    for i in 0..len {
        let j = i + rng.below(n - i);
        order.swap(i, j);
    }
    order.truncate(len);
    order
}

/// The held-out batch of a task: the first `config.batch` images of `held_out` after `offset`
/// (wrapping), with fixed masks from `seed`.
pub fn held_out_batch(vl: &VlJepa, held_out: &[Digit], offset: usize, seed: u64) -> VlBatch {
    let b = vl.config.batch;
    let picked: Vec<&Digit> = (0..b)
        .map(|i| &held_out[(offset + i) % held_out.len().max(1)])
        .collect();
    VlBatch::new(&picked, &vl.config, None, &mut Rng::new(seed))
}

/// Loss of `params` on `batch` against `model`'s target.
pub fn held_out_loss(
    vl: &mut VlJepa,
    model: &GlobalModel,
    params: &ParamSet,
    batch: &VlBatch,
) -> Result<f64, JepaError> {
    vl.target = model.target.clone();
    Ok(vl.evaluate(params, batch)?.loss)
}

/// A solver's training: `steps` training steps from the global model on batches drawn from
/// its slice of `train` (generator seeded by `seed`). Returns the new parameters and the weight
/// delta from the model's. Deterministic for fixed inputs on one machine, so a coordinator can
/// recompute it.
pub fn train_delta(
    vl: &mut VlJepa,
    model: &GlobalModel,
    train: &[Digit],
    slice: &[usize],
    steps: usize,
    seed: u64,
) -> Result<(ParamSet, WeightDelta), JepaError> {
    if slice.is_empty() || train.is_empty() {
        return Err(JepaError::Data(
            "a solver slice holds no images".to_string(),
        ));
    }
    vl.state = TrainState::new(model.params.clone());
    vl.target = model.target.clone();
    let b = vl.config.batch;
    let mut rng = Rng::new(seed);
    for _ in 0..steps {
        let picked: Vec<&Digit> = (0..b)
            .map(|_| &train[slice[rng.below(slice.len())] % train.len()])
            .collect();
        let batch = VlBatch::new(&picked, &vl.config, None, &mut rng);
        vl.step(&batch)?;
    }
    let new = vl.state.params.clone();
    let delta = new.delta_from(&model.params)?;
    Ok((new, delta))
}

/// A solver's work: [`train_delta`], then the delta's wire encoding, its id and the claimed
/// held-out loss on `held`.
pub fn solve(
    vl: &mut VlJepa,
    model: &GlobalModel,
    train: &[Digit],
    slice: &[usize],
    steps: usize,
    seed: u64,
    held: &VlBatch,
) -> Result<Solution, JepaError> {
    let (new, delta) = train_delta(vl, model, train, slice, steps, seed)?;
    let claimed_loss = held_out_loss(vl, model, &new, held)?;
    Ok(Solution {
        wire: encode_delta(&delta, &vl.model.layout),
        id: delta_id(&delta, &vl.model.layout),
        claimed_loss,
        samples: (steps * vl.config.batch) as u64,
    })
}

/// A coordinator's check of a solution: the wire must decode for this model and hash to the
/// committed id, and base + delta must reach the claimed held-out loss within `tol`. Returns
/// the verdict and, when accepted, the decoded delta.
pub fn verify(
    vl: &mut VlJepa,
    model: &GlobalModel,
    solution: &Solution,
    held: &VlBatch,
    tol: Tolerance,
) -> Result<(Verdict, Option<WeightDelta>), JepaError> {
    let layout = vl.model.layout.clone();
    let delta = decode_delta(&solution.wire, &layout)?;
    if delta_id(&delta, &layout) != solution.id {
        return Err(JepaError::Data(
            "weight delta does not match its content id".to_string(),
        ));
    }
    let measured = held_out_loss(vl, model, &candidate(&model.params, &delta)?, held)?;
    let verdict = judge(solution.claimed_loss, measured, tol);
    let accepted = matches!(verdict, Verdict::Accepted { .. });
    Ok((verdict, accepted.then_some(delta)))
}

/// The aggregator's step: merge the accepted deltas (with their sample counts) by `rule`,
/// apply the result to the global model and move its target toward the new parameters.
pub fn aggregate_epoch(
    model: &GlobalModel,
    accepted: &[(WeightDelta, u64)],
    rule: Rule,
    momentum: f32,
) -> Result<GlobalModel, JepaError> {
    let updates: Vec<Update> = accepted
        .iter()
        .map(|(d, samples)| Update {
            delta: d.values.clone(),
            samples: *samples,
        })
        .collect();
    let merged = aggregate(rule, &updates).map_err(|e: AggregateError| {
        JepaError::Data(format!("cannot aggregate the epoch's deltas: {e}"))
    })?;
    let params = model.params.apply(&WeightDelta { values: merged })?;
    let mut target = model.target.clone();
    target.ema_toward(&params, momentum)?;
    Ok(GlobalModel { params, target })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_deterministic_distinct_and_per_solver() {
        let a = solver_slice(7, b"solver-a", 100, 20);
        assert_eq!(a, solver_slice(7, b"solver-a", 100, 20));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 20);
        assert!(a.iter().all(|&i| i < 100));
        assert_ne!(a, solver_slice(7, b"solver-b", 100, 20));
        assert_ne!(a, solver_slice(8, b"solver-a", 100, 20));
        assert_eq!(solver_slice(1, b"x", 5, 50).len(), 5);
    }
}
