//! Verification of a solver's work.
//!
//! (a) Recompute: training is deterministic, so a coordinator replays the solver's slice into its
//! copy of the world and compares bundle ids bit for bit. Bytes that do not decode (garbage,
//! truncated, non-canonical, events out of order) and bundles for another world, slice or author
//! are rejected with the reason before any recomputation.
//!
//! (b) Quality: score a candidate world on the proposer's held-out turns with the prototype's gap
//! G(W) = mean over roots of |s_t − max_{u≠t} s_u|, taken on the world after the held-out turns are
//! observed and equilibrated, divided by max(1, max_t |s_t|) so it is comparable across world sizes.
//! The prototype's code rewards an *increase* of G, its README a "reduction". We reward the
//! increase: every root receives about the same cross-tendency posts, so roots separate only
//! through what the world has learned; an untrained world leaves them tied (G = 0) and a reduction
//! would pay most for learning nothing. score = clip\[0,100\](100 · (G(candidate) − G(base))); the
//! test `quality_rewards_useful_training` shows training on evidence scores above no training.
//! Known limit: the unsigned gap also grows when training contradicts the held-out evidence (the
//! contradicted roots sink, which separates them too), and in this engine PRO evidence does not
//! lift a root above the others. We therefore also report an evidence-oriented gap
//! G_h(W) = Σ_t h_t·(s_t − mean_u s_u) / (Σ_t |h_t| · max(1, max_t |s_t|)), with h_t the mean
//! projection of the held-out coordinates on root t's axis: it is lower for contradictory training
//! than for agreeing training, and a coordinator can require it not to fall.

use serde::Serialize;
use serde_json::Value;

use super::equilibrate::{TOLERANCE, TRAIN_ROUNDS};
use super::error::{Result, SubstrateError};
use super::events::Bundle;
use super::ids::Digest;
use super::solver::{self, slice_id};
use super::turn::{TurnEmbedder, turn_to_observation};
use super::vector;
use super::world::World;

/// Why a bundle was rejected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Rejection {
    /// The bytes are not a well-formed canonical bundle (garbage, truncated, reordered, oversized).
    Malformed(String),
    /// The bundle starts from another world than the task's.
    WrongBaseWorld {
        /// The bundle's base world hash (short hex).
        claimed: String,
        /// The task's world hash (short hex).
        expected: String,
    },
    /// The bundle was made for another slice (copied from another solver's assignment).
    WrongSlice {
        /// The bundle's slice id (short hex).
        claimed: String,
        /// This solver's slice id (short hex).
        expected: String,
    },
    /// The bundle names another author than the solver that revealed it.
    WrongAuthor {
        /// The bundle's author.
        claimed: String,
        /// The revealing solver.
        expected: String,
    },
    /// Recomputation gives a different bundle.
    Mismatch {
        /// The revealed bundle's id (short hex).
        claimed: String,
        /// The recomputed bundle's id (short hex).
        recomputed: String,
    },
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Malformed(r) => write!(f, "malformed bundle: {r}"),
            Rejection::WrongBaseWorld { claimed, expected } => {
                write!(
                    f,
                    "bundle starts from world {claimed}, the task's world is {expected}"
                )
            }
            Rejection::WrongSlice { claimed, expected } => {
                write!(
                    f,
                    "bundle is for slice {claimed}, this solver's slice is {expected}"
                )
            }
            Rejection::WrongAuthor { claimed, expected } => {
                write!(f, "bundle is by `{claimed}`, expected `{expected}`")
            }
            Rejection::Mismatch {
                claimed,
                recomputed,
            } => {
                write!(
                    f,
                    "recomputed bundle id {recomputed} differs from the claimed {claimed}"
                )
            }
        }
    }
}

/// The expected bundle (and its id) for a solver's slice.
pub fn recompute(
    world: &World,
    turns: &[Value],
    epochs: u32,
    author: &str,
    embedder: &dyn TurnEmbedder,
) -> Result<(Digest, Bundle)> {
    let mut w = world.clone();
    let b = solver::train(&mut w, turns, epochs, author, embedder)?;
    Ok((b.id(), b))
}

/// Verifies a revealed bundle against recomputation. `Ok(Ok(id))` is valid; `Ok(Err(reason))`
/// is a rejected bundle; `Err` means the task itself (world or turns) is unusable.
pub fn verify_bundle(
    world: &World,
    turns: &[Value],
    epochs: u32,
    author: &str,
    claimed: &[u8],
    embedder: &dyn TurnEmbedder,
) -> Result<std::result::Result<Digest, Rejection>> {
    let bundle = match Bundle::decode(claimed) {
        Ok(b) => b,
        Err(e) => return Ok(Err(Rejection::Malformed(e.to_string()))),
    };
    let base = world.hash();
    if bundle.base_world != base {
        return Ok(Err(Rejection::WrongBaseWorld {
            claimed: bundle.base_world.short(),
            expected: base.short(),
        }));
    }
    let slice = slice_id(turns, epochs);
    if bundle.slice != slice || bundle.epochs != epochs {
        return Ok(Err(Rejection::WrongSlice {
            claimed: bundle.slice.short(),
            expected: slice.short(),
        }));
    }
    if bundle.author != author {
        return Ok(Err(Rejection::WrongAuthor {
            claimed: bundle.author,
            expected: author.to_string(),
        }));
    }
    let (expected, _) = recompute(world, turns, epochs, author, embedder)?;
    let got = bundle.id();
    if got != expected {
        return Ok(Err(Rejection::Mismatch {
            claimed: got.short(),
            recomputed: expected.short(),
        }));
    }
    Ok(Ok(got))
}

/// The prototype's gap over root scores (0 with fewer than two roots).
pub fn gap(scores: &[f64]) -> f64 {
    if scores.len() < 2 {
        return 0.0;
    }
    let mut sum = 0.0;
    for (t, s) in scores.iter().enumerate() {
        let mut best = f64::NEG_INFINITY;
        for (u, o) in scores.iter().enumerate() {
            if u != t && *o > best {
                best = *o;
            }
        }
        sum += (s - best).abs();
    }
    sum / scores.len() as f64
}

/// Quality of a candidate world on held-out turns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    /// The prototype's gap G (normalised) of the base and of the candidate.
    pub gap_before: f64,
    /// The normalised gap G of the candidate.
    pub gap_after: f64,
    /// `gap_after − gap_before`; positive when the candidate separates the roots better.
    pub improvement: f64,
    /// The evidence-oriented gap G_h of the base and of the candidate.
    pub oriented_before: f64,
    /// The evidence-oriented gap G_h of the candidate.
    pub oriented_after: f64,
    /// In [0, 100].
    pub score: f64,
}

/// (oriented gap, normalised raw gap) of `world` after observing `held_out`.
fn gaps_on(world: &World, held_out: &[Value], embedder: &dyn TurnEmbedder) -> Result<(f64, f64)> {
    if held_out.is_empty() {
        return Err(SubstrateError::InvalidTurn("no held-out turns".into()));
    }
    let mut w = world.clone();
    w.clear_observations();
    let dim = w.charter.dim();
    let mut evidence = vec![0.0; w.tendencies.len()];
    for (i, t) in held_out.iter().enumerate() {
        let obs = turn_to_observation(t, i as u64, dim, embedder)?;
        for (h, tend) in evidence.iter_mut().zip(&w.tendencies) {
            *h += vector::dot(&obs.coords, &vector::normalized(&tend.axis)) / held_out.len() as f64;
        }
        w.add_observation(obs)?;
    }
    w.equilibrate(TRAIN_ROUNDS, TOLERANCE)?;
    let scores: Vec<f64> = w.root_scores().into_iter().map(|(_, s)| s).collect();
    let scale = scores.iter().fold(1.0f64, |m, s| m.max(s.abs()));
    let mut mean = 0.0;
    for s in &scores {
        mean += s;
    }
    mean /= scores.len().max(1) as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for (h, s) in evidence.iter().zip(&scores) {
        num += h * (s - mean);
        den += h.abs();
    }
    let oriented = if den > 0.0 { num / (den * scale) } else { 0.0 };
    Ok((oriented, gap(&scores) / scale))
}

/// Scores `candidate` against `base` on the held-out turns (see the module docs).
pub fn quality(
    base: &World,
    candidate: &World,
    held_out: &[Value],
    embedder: &dyn TurnEmbedder,
) -> Result<Quality> {
    let (oriented_before, gap_before) = gaps_on(base, held_out, embedder)?;
    let (oriented_after, gap_after) = gaps_on(candidate, held_out, embedder)?;
    let improvement = gap_after - gap_before;
    Ok(Quality {
        gap_before,
        gap_after,
        improvement,
        oriented_before,
        oriented_after,
        score: (100.0 * improvement).clamp(0.0, 100.0),
    })
}
