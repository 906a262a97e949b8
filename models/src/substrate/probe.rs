//! The coordinate probe: how a tendency's frame classifies a point (the prototype's novelty loop,
//! in dimensional-overlap mode, with only the root claim at the top level).
//!
//! One iteration: a point within 0.05 of an absorbed observation is INTEGRATED; a point touching
//! the root's anchor dimensions is judged by sign agreement with the root's polarity axis (a
//! confident CON is a contradiction, DISRUPTS when the contradicted stake is ≥ 0.6 of the frame's
//! stake); otherwise the walk moves to the nearest claim (Gaussian similarity, exact-anchor claims
//! skipped) and repeats, up to 8 iterations.

use super::fxhash::FxMap;
use super::ids::Digest;
use super::vector::{self, EPS_ZERO};
use super::world::Tendency;

/// How the probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// The point agrees with (or is neutral to) the root, or lies within 0.05 of an absorbed
    /// observation.
    Integrated,
    /// A confident CON against the root, below the disruption threshold.
    ContradictsRoot,
    /// A confident CON whose contradicted stake is ≥ 0.6 of the frame's.
    Disrupts,
    /// Off the root's dimensions with no claim to move towards.
    Orthogonal,
    /// The walk from claim to claim did not end within 8 iterations.
    MaxIterations,
}

const MAX_ITERATIONS: usize = 8;
const DISRUPTION_THRESHOLD: f64 = 0.6;
const CONTAIN_DISTANCE: f64 = 0.05;
const PRO_THRESHOLD: f64 = 0.05;
const CON_CONFIDENCE: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stance {
    Pro,
    Con,
    Neutral,
}

impl Tendency {
    /// Whether the point is within the contain distance of an absorbed observation.
    fn frame_contains(&self, x: &[f64]) -> bool {
        let limit = CONTAIN_DISTANCE * CONTAIN_DISTANCE;
        if !self.integrated_points.is_regular() {
            return self
                .integrated
                .iter()
                .any(|(_, o)| vector::euclid_sq(x, o) < limit);
        }
        // The distinct absorbed points (same answer: `any` does not care about repeats or order).
        self.integrated_points
            .rows()
            .any(|o| vector::euclid_sq(x, o) < limit)
    }

    /// Whether the point is on-topic for the root claim (the prototype's `find_claims` non-empty).
    pub fn is_related(&self, x: &[f64]) -> bool {
        vector::dim_overlap(x, &self.claims[0].anchor) > 0.0
    }

    fn root_stance(&self, x: &[f64]) -> (Stance, f64) {
        let root = &self.claims[0];
        if vector::dim_overlap(x, &root.anchor) == 0.0 {
            return (Stance::Neutral, 0.05);
        }
        let (mut agree, mut disagree) = (0i32, 0i32);
        for (i, u) in root.axis.iter().enumerate() {
            let Some(xi) = x.get(i) else { continue };
            if u.abs() < EPS_ZERO || xi.abs() < EPS_ZERO {
                continue;
            }
            if (*u > 0.0) == (*xi > 0.0) {
                agree += 1;
            } else {
                disagree += 1;
            }
        }
        let total = agree + disagree;
        if total == 0 {
            return (Stance::Neutral, 0.05);
        }
        let net = f64::from(agree - disagree) / f64::from(total);
        if net > PRO_THRESHOLD {
            (Stance::Pro, net.abs())
        } else if net < -PRO_THRESHOLD {
            (Stance::Con, net.abs())
        } else {
            (Stance::Neutral, 1.0 - net.abs())
        }
    }

    /// Σ claim stakes over the claim tree, floored at 0.01.
    fn total_stake(&self) -> f64 {
        let mut total = 0.0;
        for &c in &self.walk {
            total += self.claims[c].stake;
        }
        vector::py_max(total, 0.01)
    }

    /// The claim tree in the prototype's stack order (root, then last child first, depth first).
    pub(crate) fn rebuild_walk(&mut self) {
        let mut walk = Vec::with_capacity(self.claims.len());
        let mut stack = vec![0usize];
        while let Some(c) = stack.pop() {
            walk.push(c);
            stack.extend(self.claims[c].children.iter().copied());
        }
        self.walk = walk;
    }

    /// Claim `c`, a new leaf, was appended to claim `p`'s children: in the walk it comes right
    /// after `p` (the last child is popped first), which is what `rebuild_walk` would give,
    /// without a rebuild per claim.
    pub(crate) fn walk_add_leaf(&mut self, p: usize, c: usize) {
        match self.walk.iter().position(|&x| x == p) {
            Some(i) if self.claims[c].children.is_empty() => self.walk.insert(i + 1, c),
            _ => self.rebuild_walk(),
        }
    }

    /// The most similar claim (Gaussian similarity) whose anchor differs from `x`, ties keeping walk
    /// order, with its similarity. Similarity falls with squared distance, so the scan compares
    /// squared distances and evaluates `exp` only for the candidates that could round to the same
    /// maximum similarity, which gives exactly the prototype's choice without an `exp` per claim.
    fn nearest_claim(&self, x: &[f64]) -> Option<(usize, f64)> {
        let denom = 2.0 * self.bandwidth * self.bandwidth + 1e-12;
        let mut dmin = f64::INFINITY;
        for &c in &self.walk {
            let d = vector::euclid_sq(x, &self.claims[c].anchor);
            if d >= 1e-12 && d < dmin {
                dmin = d;
            }
        }
        if dmin == f64::INFINITY {
            return None;
        }
        // The correctly rounded exp: which similarities tie decides the step (see `super::exp`).
        let smax = super::exp::exp(-dmin / denom);
        for &c in &self.walk {
            let d = vector::euclid_sq(x, &self.claims[c].anchor);
            if d < 1e-12 || (smax != 0.0 && (d - dmin) / denom > 1e-9) {
                continue;
            }
            if super::exp::exp(-d / denom) == smax {
                return Some((c, smax));
            }
        }
        None
    }

    /// Runs the probe on a point.
    pub fn evaluate(&self, x: &[f64]) -> Termination {
        self.evaluate_traced(x).0
    }

    /// Runs the probe and returns the points it checked, for cache invalidation.
    pub(crate) fn evaluate_traced(&self, x: &[f64]) -> (Termination, Vec<Step>) {
        let mut steps = Vec::new();
        let mut data: Vec<f64> = x.to_vec();
        for _ in 0..MAX_ITERATIONS {
            if self.frame_contains(&data) {
                steps.push(Step {
                    data,
                    best_sim: None,
                });
                return (Termination::Integrated, steps);
            }
            if !self.is_related(&data) {
                match self.nearest_claim(&data) {
                    None => {
                        steps.push(Step {
                            data,
                            best_sim: Some(f64::NEG_INFINITY),
                        });
                        return (Termination::Orthogonal, steps);
                    }
                    Some((c, sim)) => {
                        let next = self.claims[c].anchor.clone();
                        steps.push(Step {
                            data,
                            best_sim: Some(sim),
                        });
                        data = next;
                        continue;
                    }
                }
            }
            let (stance, conf) = self.root_stance(&data);
            steps.push(Step {
                data: data.clone(),
                best_sim: None,
            });
            if stance == Stance::Con && conf >= CON_CONFIDENCE {
                let con_stake = self.claims[0].stake;
                let term = if con_stake / self.total_stake() >= DISRUPTION_THRESHOLD {
                    Termination::Disrupts
                } else {
                    Termination::ContradictsRoot
                };
                return (term, steps);
            }
            // PRO (any confidence) and neutral both integrate in the prototype.
            return (Termination::Integrated, steps);
        }
        (Termination::MaxIterations, steps)
    }
}

/// One point the probe checked: containment always, and the nearest-claim similarity when it
/// stepped to an adjacent claim from there.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    data: Vec<f64>,
    best_sim: Option<f64>,
}

/// What an evaluation was of: an observation of the current batch, or a tree's claim anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum EvalKey {
    Obs(Digest),
    Anchor(usize, usize),
}

/// A tendency's cache of probe results. The probe's answer depends on the frame only through the
/// absorbed observations (containment) and the claim tree (adjacency), which only grow; an entry is
/// dropped exactly when a new absorbed point is within the contain distance of a point it checked,
/// or a new claim is at least as similar as the claim it stepped to from some point.
#[derive(Debug, Clone, Default)]
pub(crate) struct EvalCache {
    entries: FxMap<EvalKey, (Termination, Vec<Step>)>,
}

impl EvalCache {
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    pub(crate) fn forget(&mut self, key: &EvalKey) {
        self.entries.remove(key);
    }

    /// Probe `x` for key `key` through the cache.
    pub(crate) fn evaluate(&mut self, t: &Tendency, key: EvalKey, x: &[f64]) -> Termination {
        if let Some((term, _)) = self.entries.get(&key) {
            return *term;
        }
        let (term, steps) = t.evaluate_traced(x);
        self.entries.insert(key, (term, steps));
        term
    }

    /// A point was absorbed into the frame.
    pub(crate) fn absorbed(&mut self, p: &[f64]) {
        let limit = CONTAIN_DISTANCE * CONTAIN_DISTANCE;
        self.entries
            .retain(|_, (_, steps)| steps.iter().all(|s| vector::euclid_sq(&s.data, p) >= limit));
    }

    /// A claim with this anchor joined the claim tree.
    pub(crate) fn claim_added(&mut self, anchor: &[f64], bandwidth: f64) {
        self.entries.retain(|_, (_, steps)| {
            steps.iter().all(|s| match s.best_sim {
                None => true,
                Some(best) => {
                    vector::euclid_sq(&s.data, anchor) < 1e-12
                        || vector::gaussian_sim(&s.data, anchor, bandwidth) < best
                }
            })
        });
    }
}
