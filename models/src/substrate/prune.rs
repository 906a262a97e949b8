//! Pruning: remove sub-claims whose score stayed near zero and quiet over their history.
//!
//! A non-root node is settled when max |score| < 0.05 and max |step| < 0.02 over its recorded
//! history (or its current score when it has none). Visiting each tree from its root, PRO children
//! before CON, a settled node's subtree is cut: the node is detached from its parent in that tree
//! and its subtree leaves the tree's index and claim records; the claim tree drops dead claims. Unlike the
//! prototype's recursive walk, ours keeps a visited set, so a node shared by two parents in one
//! tree is judged once and a cycle cannot loop.

use std::collections::BTreeMap;

use super::fxhash::FxSet;
use super::ids::Digest;
use super::world::{NodeIdx, Position, World};

/// A node is settled only while every |score| of its history is below this (the prototype's
/// default).
pub const SCORE_THRESHOLD: f64 = 0.05;
/// A node is settled only while every |step| of its score history is below this (the
/// prototype's default).
pub const NOVELTY_THRESHOLD: f64 = 0.02;

/// Score snapshots over time (`record` once per checkpoint).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreHistory {
    /// Net score of every node at each recorded checkpoint, oldest first.
    pub snapshots: Vec<BTreeMap<Digest, f64>>,
}

impl ScoreHistory {
    /// Appends the world's current net scores.
    pub fn record(&mut self, world: &World) {
        self.snapshots.push(world.snapshot_scores());
    }

    /// The node's scores in the snapshots that contain it.
    pub fn history_for(&self, id: &Digest) -> Vec<f64> {
        self.snapshots
            .iter()
            .filter_map(|s| s.get(id).copied())
            .collect()
    }
}

fn settled(series: &[f64], score_threshold: f64, novelty_threshold: f64) -> bool {
    let max_abs = series.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let max_step = series
        .windows(2)
        .fold(0.0f64, |m, w| m.max((w[1] - w[0]).abs()));
    max_abs < score_threshold && max_step < novelty_threshold
}

impl World {
    /// Prunes settled sub-claims; returns the ids removed, per tree, in traversal order.
    pub fn prune_settled(
        &mut self,
        score_threshold: f64,
        novelty_threshold: f64,
        history: Option<&ScoreHistory>,
    ) -> Vec<Digest> {
        let mut pruned = Vec::new();
        for t in 0..self.tendencies.len() {
            let root = self.tendencies[t].root;
            let mut candidates: Vec<NodeIdx> = Vec::new();
            let mut seen: FxSet<NodeIdx> = FxSet::default();
            let mut stack = vec![root];
            while let Some(n) = stack.pop() {
                if !seen.insert(n) {
                    continue;
                }
                if n != root && self.nodes[n].position() != Position::Root {
                    let id = self.nodes[n].id;
                    let series = match history.map(|h| h.history_for(&id)) {
                        Some(s) if !s.is_empty() => s,
                        _ => vec![self.net_score(n)],
                    };
                    if settled(&series, score_threshold, novelty_threshold) {
                        candidates.push(n);
                        continue;
                    }
                }
                let node = &self.nodes[n];
                // Stack order: push CON then PRO in reverse so PRO children are visited first.
                stack.extend(node.con.iter().rev().copied());
                stack.extend(node.pro.iter().rev().copied());
            }
            let mut removed: FxSet<NodeIdx> = FxSet::default();
            for c in candidates {
                // Detach from its parent in this tree. (The prototype detaches from the node's first
                // parent, which under co-parenting is often another tree's node, and then skips
                // the prune: a co-parented node could never leave the trees that adopted it.)
                let Some(link) = self.nodes[c]
                    .parents
                    .iter()
                    .find(|l| l.tendency == t)
                    .copied()
                else {
                    continue;
                };
                let p = &mut self.nodes[link.parent];
                let before = p.pro.len() + p.con.len();
                p.pro.retain(|&x| x != c);
                p.con.retain(|&x| x != c);
                if p.pro.len() + p.con.len() == before {
                    continue;
                }
                for n in self.subtree(c) {
                    if removed.insert(n) {
                        pruned.push(self.nodes[n].id);
                    }
                }
            }
            if removed.is_empty() {
                continue;
            }
            let tend = &mut self.tendencies[t];
            tend.index.retain(|n| !removed.contains(n));
            // Drop the dead claims and renumber the survivors (the root claim stays 0).
            let keep: Vec<bool> = tend
                .claims
                .iter()
                .map(|c| !removed.contains(&c.node))
                .collect();
            let mut renum = vec![usize::MAX; keep.len()];
            let mut next = 0;
            for (i, k) in keep.iter().enumerate() {
                if *k {
                    renum[i] = next;
                    next += 1;
                }
            }
            let old = std::mem::take(&mut tend.claims);
            for (i, mut c) in old.into_iter().enumerate() {
                if keep[i] {
                    c.children = c
                        .children
                        .iter()
                        .filter(|&&x| keep[x])
                        .map(|&x| renum[x])
                        .collect();
                    tend.claims.push(c);
                }
            }
            self.rebuild_tendency(t);
        }
        self.batch_gen += 1;
        self.invalidate_scores();
        pruned
    }

    /// `n` and everything below it along child edges, PRO before CON, each once.
    fn subtree(&self, n: NodeIdx) -> Vec<NodeIdx> {
        let mut out = Vec::new();
        let mut seen: FxSet<NodeIdx> = FxSet::default();
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            if !seen.insert(x) {
                continue;
            }
            out.push(x);
            stack.extend(self.nodes[x].con.iter().rev().copied());
            stack.extend(self.nodes[x].pro.iter().rev().copied());
        }
        out
    }
}
