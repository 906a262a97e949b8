//! The coordinate probe: how a tendency's frame classifies a point (the prototype's novelty loop,
//! in dimensional-overlap mode, with only the root claim at the top level).
//!
//! One iteration: a point within 0.05 of an absorbed observation is INTEGRATED; a point touching
//! the root's anchor dimensions is judged by sign agreement with the root's polarity axis (a
//! confident CON is a contradiction, DISRUPTS when the contradicted stake is ≥ 0.6 of the frame's
//! stake); otherwise the walk moves to the nearest claim (Gaussian similarity, exact-anchor claims
//! skipped) and repeats, up to 8 iterations.

use super::vector::{self, EPS_ZERO};
use super::world::Tendency;

/// How the probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    Integrated,
    ContradictsRoot,
    Disrupts,
    Orthogonal,
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
        self.integrated
            .iter()
            .any(|(_, o)| vector::euclid_sq(x, o) < limit)
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
        self.walk_claims(|c| total += self.claims[c].stake);
        vector::py_max(total, 0.01)
    }

    /// Visits the claim tree in the prototype's stack order (root, then last child first).
    fn walk_claims(&self, mut f: impl FnMut(usize)) {
        let mut stack = vec![0usize];
        while let Some(c) = stack.pop() {
            f(c);
            stack.extend(self.claims[c].children.iter().copied());
        }
    }

    /// The most similar claim whose anchor differs from `x`; ties keep walk order.
    fn nearest_claim(&self, x: &[f64]) -> Option<usize> {
        let mut best: Option<(f64, usize)> = None;
        self.walk_claims(|c| {
            let a = &self.claims[c].anchor;
            if vector::euclid_sq(x, a) < 1e-12 {
                return;
            }
            let sim = vector::gaussian_sim(x, a, self.bandwidth);
            if best.is_none_or(|(b, _)| sim > b) {
                best = Some((sim, c));
            }
        });
        best.map(|(_, c)| c)
    }

    /// Runs the probe on a point.
    pub fn evaluate(&self, x: &[f64]) -> Termination {
        let mut data: Vec<f64> = x.to_vec();
        for _ in 0..MAX_ITERATIONS {
            if self.frame_contains(&data) {
                return Termination::Integrated;
            }
            if !self.is_related(&data) {
                match self.nearest_claim(&data) {
                    None => return Termination::Orthogonal,
                    Some(c) => {
                        data = self.claims[c].anchor.clone();
                        continue;
                    }
                }
            }
            let (stance, conf) = self.root_stance(&data);
            if stance == Stance::Con && conf >= CON_CONFIDENCE {
                let con_stake = self.claims[0].stake;
                return if con_stake / self.total_stake() >= DISRUPTION_THRESHOLD {
                    Termination::Disrupts
                } else {
                    Termination::ContradictsRoot
                };
            }
            // PRO (any confidence) and neutral both integrate in the prototype.
            return Termination::Integrated;
        }
        Termination::MaxIterations
    }
}
