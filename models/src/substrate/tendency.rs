//! What a tendency does each round: position observations in its tree (sprouting or reusing
//! content-addressed sub-claims), post on the nodes it agrees with in every tree, and update
//! persistent novelty. These are `World` methods because a tendency's moves touch other trees.

use super::dense::NodeBits;
use super::error::{Result, SubstrateError};
use super::fxhash::FxMap;
use super::ids::{self, Digest};
use super::probe::{EvalKey, Termination};
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
    /// The node to hang the sub-claim under.
    pub parent: NodeIdx,
    /// Whether it supports or opposes the parent.
    pub position: Position,
    /// The sub-claim's point in charter coordinates (content-address input).
    pub anchor: &'a [f64],
    /// Its polarity axis (content-address input).
    pub axis: &'a [f64],
    /// The observation it is sprouted for, if any.
    pub observation: Option<Digest>,
    /// Its human-readable text.
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
            if s.position == Position::Con && p.con.len() == 1 {
                self.watched.push(s.parent);
            }
        }
        self.invalidate_scores();
        self.index_node(t, node);
        let tend = &mut self.tendencies[t];
        if !tend.node_claim.contains_key(&node) {
            let claim = Claim {
                content: s.content.to_string(),
                depth: parent_depth + 1,
                stake: 0.0,
                anchor: s.anchor.to_vec(),
                axis: vector::normalized(&axis),
                children: Vec::new(),
                node,
            };
            tend.add_claim(claim, Some(parent_claim));
            let bandwidth = tend.bandwidth;
            self.caches[t].claim_added(s.anchor, bandwidth);
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
            let (parent, _) =
                nearest_claimed(other, &self.nodes, &mut self.cross_cache, o, node, anchor);
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
            self.index_node(o, node);
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
            self.index_node(t, n);
            self.attach_child(parent, n, position);
            let tend = &mut self.tendencies[t];
            if !tend.node_claim.contains_key(&n) {
                // A claim record for lookups only; the prototype does not hang it in the claim tree.
                tend.add_claim(
                    Claim {
                        content: label,
                        depth,
                        stake: 0.0,
                        anchor: obs.coords.clone(),
                        axis: vector::normalized(&polarity),
                        children: Vec::new(),
                        node: n,
                    },
                    None,
                );
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
        let mut values: FxMap<(TendencyIdx, NodeIdx), f64> = FxMap::default();
        let mut add = |k: (TendencyIdx, NodeIdx), v: f64| {
            let e = values.entry(k).or_insert_with(|| {
                keys.push(k);
                0.0
            });
            *e += v;
        };
        let root = self.tendencies[t].root;
        for i in 0..self.observations.len() {
            let obs = &self.observations[i];
            if self.tendencies[t].con_positioned_fast.contains(&obs.id)
                && let Some(n) = self.own_obs_child(t, &obs.id, Position::Con)
            {
                add((t, n), 1.0);
                continue;
            }
            // The frame's only top-level claim is the root claim: "related" means the point touches
            // the root's anchor dimensions, and the related claim's node is the root.
            if !self.tendencies[t].is_related(&obs.coords) {
                continue;
            }
            let term =
                self.caches[t].evaluate(&self.tendencies[t], EvalKey::Obs(obs.id), &obs.coords);
            let obs = obs.clone();
            match term {
                Termination::Integrated => {
                    let n = self.ensure_obs_child(t, root, &obs, Position::Pro)?;
                    add((t, n), 1.0);
                    if self.tendencies[t].absorb(obs.id, &obs.coords) {
                        self.caches[t].absorbed(&obs.coords);
                    }
                }
                Termination::ContradictsRoot | Termination::Disrupts => {
                    let n = self.ensure_obs_child(t, root, &obs, Position::Con)?;
                    add((t, n), 1.0);
                    let tend = &mut self.tendencies[t];
                    if tend.con_positioned.insert(obs.id) {
                        tend.con_positioned_fast.insert(obs.id);
                    }
                }
                Termination::Orthogonal | Termination::MaxIterations => {}
            }
        }
        // Cross pass. Only nodes whose observation is in the current batch, or that carry no
        // observation (their target is the tree's claim anchor), can be targets; they are visited
        // in index order, as the prototype's full index walk would.
        for o in 0..self.tendencies.len() {
            if o == t {
                continue;
            }
            let index_len = self.tendencies[o].index.len();
            let fresh = matches!(&self.targets[o], Some((g, len, _)) if *g == self.batch_gen && *len == index_len);
            if !fresh {
                let other = &self.tendencies[o];
                let mut found: Vec<(usize, NodeIdx)> = Vec::new();
                for obs in &self.observations {
                    for &n in self.obs_nodes.get(&obs.id).map_or(&[][..], Vec::as_slice) {
                        if let Some(&p) = other.index_pos.get(&n) {
                            found.push((p, n));
                        }
                    }
                }
                for &n in &other.plain {
                    found.push((other.index_pos[&n], n));
                }
                found.sort_unstable();
                found.dedup();
                self.targets[o] = Some((
                    self.batch_gen,
                    index_len,
                    found.into_iter().map(|(_, n)| n).collect(),
                ));
            }
            let other = &self.tendencies[o];
            let targets = self.targets[o]
                .as_ref()
                .map_or(&[][..], |(_, _, v)| v.as_slice());
            for &n in targets {
                let (key, target): (EvalKey, &[f64]) = match self.nodes[n].observation {
                    Some(obs) => match self.obs_pos.get(&obs) {
                        Some(&i) => (EvalKey::Obs(obs), &self.observations[i].coords),
                        None => continue,
                    },
                    None => match other.claim_of(n) {
                        Some(c) if !c.anchor.is_empty() => (EvalKey::Anchor(o, n), &c.anchor),
                        _ => continue,
                    },
                };
                let signed = match self.caches[t].evaluate(&self.tendencies[t], key, target) {
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
    pub(crate) fn update_novelty(
        &mut self,
        t: TendencyIdx,
        live: &[NodeIdx],
        changed: &mut Vec<NodeIdx>,
    ) {
        let root = self.tendencies[t].root;
        self.nodes[root].n = 1.0;
        for &n in live {
            if n == root || !self.tendencies[t].contains_node(n) {
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
                con_rate += vector::py_max(self.round_net_score(c), 0.0);
            }
            let v = self.nodes[n].n;
            let d = (-NOVELTY_GAMMA_PRO * v * pro_rate
                + NOVELTY_GAMMA_CON * (1.0 - v) * con_rate
                + NOVELTY_DRIFT * (1.0 - v))
                * 1.0;
            let new = (v + d).clamp(0.0, 1.0);
            if new.to_bits() != v.to_bits() {
                changed.push(n);
            }
            self.nodes[n].n = new;
        }
    }

    /// Nodes whose novelty update this round might change something: those with posts, CON
    /// children or agent posts, and those whose novelty moved last round. Every other node has no
    /// posts and no objections and sits at the drift's fixed point, where the prototype's update is
    /// a no-op; skipping it gives the same bits without visiting every node every round.
    pub(crate) fn novelty_live_set(&self) -> Vec<NodeIdx> {
        // Sorted and deduplicated through a bitmap: O(nodes / 64 + live) rather than a sort.
        let mut live = NodeBits::with_capacity(self.nodes.len());
        for &n in self
            .posted
            .iter()
            .chain(&self.unsettled)
            .chain(&self.watched)
        {
            live.insert(n);
        }
        live.to_sorted_vec()
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

/// Tree `o`'s non-root claimed node nearest to `anchor` (first in index order on ties), other than
/// `node`, or its root when there is none. Claims are only ever added, so the search resumes from
/// where the memo for (o, node) stopped in the tree's claim log: the same answer as a full scan of
/// the index, without one per call.
fn nearest_claimed(
    other: &super::world::Tendency,
    _nodes: &[Node],
    cache: &mut FxMap<(TendencyIdx, NodeIdx), (usize, NodeIdx, f64)>,
    o: TendencyIdx,
    node: NodeIdx,
    anchor: &[f64],
) -> (NodeIdx, f64) {
    let (mut from, mut best, mut best_d) =
        cache
            .get(&(o, node))
            .copied()
            .unwrap_or((0, other.root, f64::INFINITY));
    let log = &other.claim_log;
    while from < log.len() {
        let cand = log[from];
        let at = from;
        from += 1;
        if cand == node {
            continue;
        }
        // The log's anchors are stored back to back (a scan per sprout and tree: no hash lookup
        // or pointer chase per candidate); a gap falls back to the claim record.
        let claim_anchor = match other.claim_log_anchors.get(at) {
            Some(a) => a,
            None => match other.claim_of(cand) {
                Some(claim) => claim.anchor.as_slice(),
                None => continue,
            },
        };
        if claim_anchor.is_empty() {
            continue;
        }
        let d = vector::euclid_sq(anchor, claim_anchor).sqrt();
        let earlier = || other.index_pos.get(&cand) < other.index_pos.get(&best);
        if d < best_d || (d == best_d && best != other.root && earlier()) {
            best = cand;
            best_d = d;
        }
    }
    cache.insert((o, node), (from, best, best_d));
    (best, best_d)
}
