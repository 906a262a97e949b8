//! Equilibration: rounds of (every tendency acts, posts are rewritten, novelty updates) until the
//! intents stop moving (max change < tolerance, from round 2 on) or the round cap is hit.

use std::collections::HashMap;

use super::error::Result;
use super::world::{NodeIdx, Poster, Stake, TendencyIdx, World};

/// Rounds and tolerance of training, verification and alignment inference.
pub const TRAIN_ROUNDS: u32 = 8;
/// Rounds of general-mode inference.
pub const GENERAL_ROUNDS: u32 = 4;
/// Convergence tolerance on intents.
pub const TOLERANCE: f64 = 1e-3;

impl World {
    /// Rewrites every tendency's posts from its last intents: all tendency posts are removed, then
    /// each positive intent becomes one unit post on its target (if the target tree indexes it).
    /// Negative intents are dropped: disagreement lives in CON children, not in negative posts.
    pub fn apply_stakes(&mut self) {
        for t in 0..self.tendencies.len() {
            for i in 0..self.tendencies[t].index.len() {
                let n = self.tendencies[t].index[i];
                self.nodes[n]
                    .stakes
                    .retain(|s| !matches!(s.poster, Poster::Tendency(_)));
            }
        }
        for t in 0..self.tendencies.len() {
            for k in 0..self.tendencies[t].last_stakes.len() {
                let ((target, node), v) = self.tendencies[t].last_stakes[k];
                if v <= 0.0 || !self.tendencies[target].contains_node(node) {
                    continue;
                }
                self.nodes[node].stakes.push(Stake {
                    poster: Poster::Tendency(t),
                    weight: 1.0,
                });
            }
        }
        self.invalidate_scores();
    }

    /// Runs up to `max_rounds` rounds; returns how many ran.
    pub fn equilibrate(&mut self, max_rounds: u32, tolerance: f64) -> Result<u32> {
        let snapshot = |w: &World| -> Vec<HashMap<(TendencyIdx, NodeIdx), f64>> {
            w.tendencies
                .iter()
                .map(|t| t.last_stakes.iter().copied().collect())
                .collect()
        };
        let mut prev = snapshot(self);
        for round in 1..=max_rounds {
            for t in 0..self.tendencies.len() {
                self.act(t)?;
            }
            self.apply_stakes();
            for t in 0..self.tendencies.len() {
                self.update_novelty(t);
            }
            let mut max_delta = 0.0f64;
            for (t, old) in prev.iter().enumerate() {
                let new = &self.tendencies[t].last_stakes;
                for (k, v) in new {
                    let d = (old.get(k).copied().unwrap_or(0.0) - v).abs();
                    max_delta = max_delta.max(d);
                }
                let new_keys: HashMap<_, _> = new.iter().copied().collect();
                for (k, v) in old {
                    if !new_keys.contains_key(k) {
                        max_delta = max_delta.max(v.abs());
                    }
                }
            }
            if max_delta < tolerance && round >= 2 {
                return Ok(round);
            }
            prev = snapshot(self);
        }
        Ok(max_rounds)
    }
}
