//! What a tendency does each round: position observations in its tree (sprouting or reusing
//! content-addressed sub-claims), post on the nodes it agrees with in every tree, and update
//! persistent novelty. These are `World` methods because a tendency's moves touch other trees.

use std::collections::HashMap;

use super::error::{Result, SubstrateError};
use super::ids::{self, Digest};
use super::probe::Termination;
use super::vector;
use super::world::{Claim, Node, NodeIdx, Observation, ParentLink, Position, TendencyIdx, World};

const NOVELTY_GAMMA_PRO: f64 = 1.0;
const NOVELTY_GAMMA_CON: f64 = 0.5;
const NOVELTY_DRIFT: f64 = 0.01;
/// Cross-tendency edges reach tendencies whose anchor is within this many bandwidths.
const CROSS_EDGE_REACH: f64 = 1.5;

/// A sprout request (the prototype's `sprout_child` arguments).
#[derive(Debug, Clone)]
pub struct Sprout<'a> {
    pub parent: NodeIdx,
    pub position: Position,
    pub anchor: &'a [f64],
    pub axis: &'a [f64],
    pub observation: Option<Digest>,
    pub content: &'a str,
}

impl World {
    /// Adds a sub-claim under `parent` in tendency `t`'s tree, or reuses the node with the same
    /// content id, then discovers cross-tendency edges.
    pub fn sprout_child(&mut self, t: TendencyIdx, s: &Sprout<'_>) -> Result<NodeIdx> {
        let tend = &self.tendencies[t];
        if !tend.contains_node(s.parent) {
            return Err(SubstrateError::NodeNotInTree {
                node: self.nodes[s.parent].id.short(),
                tendency: tend.id.clone(),
            });
        }
        let parent_claim_idx = *tend.node_claim.get(&s.parent).ok_or_else(|| {
            SubstrateError::InvalidWorld(format!(
                "tendency `{}` has no claim for parent {}",
                tend.id,
                self.nodes[s.parent].id.short()
            ))
        })?;
        let parent_claim = &tend.claims[parent_claim_idx];
        let axis: Vec<f64> = if s.axis.is_empty() {
            parent_claim.axis.clone()
        } else {
            s.axis.to_vec()
        };
        let parent_depth = parent_claim.depth;
        let id = ids::node_address(s.anchor, &axis);

        // One node per content id across the whole world. (The prototype looks the id up only in
        // the sprouting tree and can create a second object with the same id when the node lives
        // only in another tree; a content address must name one node, so we reuse it.)
        if let Some(existing) = self.by_id.get(&id).copied() {
            if self.tendencies[t].contains_node(existing) {
                if s.parent != existing {
                    self.add_parent_link(
                        existing,
                        ParentLink {
                            parent: s.parent,
                            position: s.position,
                            tendency: t,
                        },
                    );
                    self.attach_child(s.parent, existing, s.position);
                }
                self.discover_cross_edges(t, existing, s.anchor);
                return Ok(existing);
            }
            self.link_new_in_tree(t, existing, s, parent_claim_idx, parent_depth, axis);
            self.discover_cross_edges(t, existing, s.anchor);
            return Ok(existing);
        }
        let node = self.insert_node(Node {
            id,
            anchor: s.anchor.to_vec(),
            axis: axis.clone(),
            observation: s.observation,
            content: s.content.to_string(),
            parents: Vec::new(),
            stakes: Vec::new(),
            pro: Vec::new(),
            con: Vec::new(),
            n: 1.0,
        });
        self.link_new_in_tree(t, node, s, parent_claim_idx, parent_depth, axis);
        self.discover_cross_edges(t, node, s.anchor);
        Ok(node)
    }

    /// The tree-side half of a fresh sprout: link, child list, index, and a claim under the
    /// parent's claim.
    fn link_new_in_tree(
        &mut self,
        t: TendencyIdx,
        node: NodeIdx,
        s: &Sprout<'_>,
        parent_claim: usize,
        parent_depth: u32,
        axis: Vec<f64>,
    ) {
        self.add_parent_link(
            node,
            ParentLink {
                parent: s.parent,
                position: s.position,
                tendency: t,
            },
        );
        // `add_child` in the prototype checks only the list of the requested position.
        let p = &mut self.nodes[s.parent];
        let list = if s.position == Position::Con {
            &mut p.con
        } else {
            &mut p.pro
        };
        if !list.contains(&node) {
            list.push(node);
        }
        self.invalidate_scores();
        let tend = &mut self.tendencies[t];
        tend.push_index(node);
        if !tend.node_claim.contains_key(&node) {
            let c = tend.claims.len();
            tend.claims.push(Claim {
                content: s.content.to_string(),
                depth: parent_depth + 1,
                stake: 0.0,
                anchor: s.anchor.to_vec(),
                axis: vector::normalized(&axis),
                children: Vec::new(),
                node,
            });
            tend.claims[parent_claim].children.push(c);
            tend.node_claim.insert(node, c);
        }
    }

    /// Co-parents `node` into every other tendency whose anchor is within reach, under that
    /// tree's nearest claimed node (or its root), PRO or CON by the sign of anchor · axis.
    pub(crate) fn discover_cross_edges(&mut self, t: TendencyIdx, node: NodeIdx, anchor: &[f64]) {
        if anchor.is_empty() {
            return;
        }
        for o in 0..self.tendencies.len() {
            if o == t {
                continue;
            }
            let other = &self.tendencies[o];
            if other.anchor.is_empty() {
                continue;
            }
            let d = vector::euclid_sq(anchor, &other.anchor).sqrt();
            if d >= other.bandwidth * CROSS_EDGE_REACH {
                continue;
            }
            let mut parent = other.root;
            let mut best = f64::INFINITY;
            for &cand in &other.index {
                if cand == other.root || cand == node {
                    continue;
                }
                let Some(claim) = other.claim_of(cand) else {
                    continue;
                };
                if claim.anchor.is_empty() {
                    continue;
                }
                let cd = vector::euclid_sq(anchor, &claim.anchor).sqrt();
                if cd < best {
                    best = cd;
                    parent = cand;
                }
            }
            let position = if vector::dot(anchor, &other.axis) >= 0.0 {
                Position::Pro
            } else {
                Position::Con
            };
            if self.nodes[node]
                .parents
                .iter()
                .any(|l| l.parent == parent && l.tendency == o)
            {
                continue;
            }
            self.add_parent_link(
                node,
                ParentLink {
                    parent,
                    position,
                    tendency: o,
                },
            );
            self.attach_child(parent, node, position);
            self.tendencies[o].push_index(node);
        }
    }

    /// First node of tendency `t`'s index carrying observation `obs` whose first link is at
    /// `position`.
    fn own_obs_child(&self, t: TendencyIdx, obs: &Digest, position: Position) -> Option<NodeIdx> {
        let tend = &self.tendencies[t];
        self.obs_nodes
            .get(obs)?
            .iter()
            .copied()
            .filter(|&n| self.nodes[n].position() == position)
            .filter_map(|n| tend.index_pos.get(&n).map(|&p| (p, n)))
            .min()
            .map(|(_, n)| n)
    }

    /// First node in world order (tendency, then index order) carrying observation `obs`.
    fn obs_node_anywhere(&self, obs: &Digest) -> Option<NodeIdx> {
        let cands = self.obs_nodes.get(obs)?;
        for tend in &self.tendencies {
            if let Some((_, n)) = cands
                .iter()
                .filter_map(|&n| tend.index_pos.get(&n).map(|&p| (p, n)))
                .min()
            {
                return Some(n);
            }
        }
        None
    }

    /// One observation becomes one node: reuse this tree's child at that position, else the node
    /// any tree already made for the observation (adding this tree's link), else sprout.
    fn ensure_obs_child(
        &mut self,
        t: TendencyIdx,
        parent: NodeIdx,
        obs: &Observation,
        position: Position,
    ) -> Result<NodeIdx> {
        if let Some(n) = self.own_obs_child(t, &obs.id, position) {
            return Ok(n);
        }
        let label = obs_label(obs);
        let parent_claim_idx = *self.tendencies[t].node_claim.get(&parent).ok_or_else(|| {
            SubstrateError::InvalidWorld(format!(
                "no claim for parent {}",
                self.nodes[parent].id.short()
            ))
        })?;
        let parent_claim = &self.tendencies[t].claims[parent_claim_idx];
        let mut polarity = parent_claim.axis.clone();
        if position == Position::Con {
            polarity.iter_mut().for_each(|u| *u = -*u);
        }
        let depth = parent_claim.depth + 1;
        if let Some(n) = self.obs_node_anywhere(&obs.id) {
            self.add_parent_link(
                n,
                ParentLink {
                    parent,
                    position,
                    tendency: t,
                },
            );
            self.tendencies[t].push_index(n);
            self.attach_child(parent, n, position);
            let tend = &mut self.tendencies[t];
            if !tend.node_claim.contains_key(&n) {
                // A claim record for lookups only; the prototype does not hang it in the claim tree.
                let c = tend.claims.len();
                tend.claims.push(Claim {
                    content: label,
                    depth,
                    stake: 0.0,
                    anchor: obs.coords.clone(),
                    axis: vector::normalized(&polarity),
                    children: Vec::new(),
                    node: n,
                });
                tend.node_claim.insert(n, c);
            }
            return Ok(n);
        }
        self.sprout_child(
            t,
            &Sprout {
                parent,
                position,
                anchor: &obs.coords,
                axis: &polarity,
                observation: Some(obs.id),
                content: &label,
            },
        )
    }

    /// Tendency `t`'s move for this round: position every current observation in its own tree and
    /// post on every node of other trees its frame integrates. Leaves the intents in `last_stakes`.
    pub(crate) fn act(&mut self, t: TendencyIdx) -> Result<()> {
        let mut keys: Vec<(TendencyIdx, NodeIdx)> = Vec::new();
        let mut values: HashMap<(TendencyIdx, NodeIdx), f64> = HashMap::new();
        let mut add = |k: (TendencyIdx, NodeIdx), v: f64| {
            let e = values.entry(k).or_insert_with(|| {
                keys.push(k);
                0.0
            });
            *e += v;
        };
        let root = self.tendencies[t].root;
        for i in 0..self.observations.len() {
            let obs = self.observations[i].clone();
            if self.tendencies[t].con_positioned.contains(&obs.id)
                && let Some(n) = self.own_obs_child(t, &obs.id, Position::Con)
            {
                add((t, n), 1.0);
                continue;
            }
            let tend = &self.tendencies[t];
            let term = tend.evaluate(&obs.coords);
            // The frame's only top-level claim is the root claim: related means "touches the
            // root's anchor dimensions", and the related claim's node is the root.
            if !tend.is_related(&obs.coords) {
                continue;
            }
            match term {
                Termination::Integrated => {
                    let n = self.ensure_obs_child(t, root, &obs, Position::Pro)?;
                    add((t, n), 1.0);
                    let tend = &mut self.tendencies[t];
                    if tend.integrated_ids.insert(obs.id) {
                        tend.integrated.push((obs.id, obs.coords.clone()));
                    }
                }
                Termination::ContradictsRoot | Termination::Disrupts => {
                    let n = self.ensure_obs_child(t, root, &obs, Position::Con)?;
                    add((t, n), 1.0);
                    self.tendencies[t].con_positioned.insert(obs.id);
                }
                Termination::Orthogonal | Termination::MaxIterations => {}
            }
        }
        let me = &self.tendencies[t];
        for (o, other) in self.tendencies.iter().enumerate() {
            if o == t {
                continue;
            }
            for &n in &other.index {
                let target: &[f64] = match self.nodes[n].observation {
                    Some(obs) => match self.observation(&obs) {
                        Some(ob) => &ob.coords,
                        None => continue,
                    },
                    None => match other.claim_of(n) {
                        Some(c) if !c.anchor.is_empty() => &c.anchor,
                        _ => continue,
                    },
                };
                let signed = match me.evaluate(target) {
                    Termination::Integrated => 1.0,
                    Termination::ContradictsRoot | Termination::Disrupts => -1.0,
                    _ => continue,
                };
                add((o, n), signed);
            }
        }
        let budget = self.tendencies[t].budget;
        self.tendencies[t].last_stakes =
            keys.into_iter().map(|k| (k, values[&k] * budget)).collect();
        Ok(())
    }

    /// Per-node persistent novelty update of tendency `t`'s tree (dt = 1).
    pub(crate) fn update_novelty(&mut self, t: TendencyIdx) {
        let root = self.tendencies[t].root;
        for i in 0..self.tendencies[t].index.len() {
            let n = self.tendencies[t].index[i];
            if n == root {
                self.nodes[n].n = 1.0;
                continue;
            }
            let mut pro_rate = 0.0;
            for s in &self.nodes[n].stakes {
                if s.weight > 0.0 {
                    pro_rate += s.weight;
                }
            }
            let mut con_rate = 0.0;
            for &c in &self.nodes[n].con {
                con_rate += vector::py_max(self.net_score(c), 0.0);
            }
            let v = self.nodes[n].n;
            let d = (-NOVELTY_GAMMA_PRO * v * pro_rate
                + NOVELTY_GAMMA_CON * (1.0 - v) * con_rate
                + NOVELTY_DRIFT * (1.0 - v))
                * 1.0;
            self.nodes[n].n = (v + d).clamp(0.0, 1.0);
        }
    }
}

/// The node content for an observation: its label, or `obs:` and the id's first 6 hex digits.
pub fn obs_label(obs: &Observation) -> String {
    if obs.label.is_empty() {
        format!("obs:{}", &obs.id.to_hex()[..6])
    } else {
        obs.label.clone()
    }
}
