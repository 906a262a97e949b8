//! Aggregation of solvers' weight deltas: sample-weighted FedAvg and Byzantine-robust rules.
//!
//! Bird's-eye view: every rule is a pure function from a set of [`Update`]s (a flat f64 delta
//! and the number of samples behind it) to one aggregated delta. [`rules`] holds FedAvg,
//! coordinate-wise median, trimmed mean, Multi-Krum and CenteredClip (parameters as in
//! /work/shared/reference/anchors.md: Multi-Krum scores by the n−f−2 nearest neighbours;
//! CenteredClip starts at the coordinate-wise median and iterates v ← v + Σ w_i·min(1,
//! τ/‖x_i − v‖)·(x_i − v), τ = 1, 20 iterations). [`checks`] screens updates before
//! aggregation (non-finite values, wrong length, norms far above the median norm). No I/O.

pub mod checks;
pub mod rules;

pub use checks::{NormCheck, NormVerdict, screen_updates};
pub use rules::{Rule, aggregate, centered_clip, fedavg, median, multi_krum, trimmed_mean};

/// One solver's update.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The delta, one value per parameter scalar.
    pub delta: Vec<f64>,
    /// Training samples behind it (FedAvg weight); 0 counts as 1.
    pub samples: u64,
}

/// Why a set of updates cannot be aggregated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AggregateError {
    /// No updates.
    #[error("no updates to aggregate")]
    Empty,
    /// Updates of different lengths.
    #[error("update {index} has {got} values, expected {expected}")]
    LengthMismatch {
        /// Offending update.
        index: usize,
        /// Its length.
        got: usize,
        /// The first update's length.
        expected: usize,
    },
    /// Too few updates for the rule's Byzantine tolerance.
    #[error("{rule} needs at least {needed} updates, got {got}")]
    TooFew {
        /// Rule name.
        rule: &'static str,
        /// Minimum count.
        needed: usize,
        /// Count given.
        got: usize,
    },
    /// A non-finite value.
    #[error("update {0} holds a non-finite value")]
    NonFinite(usize),
}

/// Checks that updates are non-empty, equally long and finite; returns their length.
pub fn validate(updates: &[Update]) -> Result<usize, AggregateError> {
    let first = updates.first().ok_or(AggregateError::Empty)?;
    let expected = first.delta.len();
    for (index, u) in updates.iter().enumerate() {
        if u.delta.len() != expected {
            return Err(AggregateError::LengthMismatch {
                index,
                got: u.delta.len(),
                expected,
            });
        }
        if u.delta.iter().any(|v| !v.is_finite()) {
            return Err(AggregateError::NonFinite(index));
        }
    }
    Ok(expected)
}

/// Euclidean norm.
pub fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Squared Euclidean distance.
pub fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}
