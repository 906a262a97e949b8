//! The world: one tree per charter root (tendency), sharing one arena of content-addressed nodes.
//!
//! A node is stored once, keyed by its content id, and may be indexed in several tendencies'
//! trees (cross-tendency co-parenting): its parent links say under which node, at which position
//! and in which tree it hangs. Children lists live on the node, so a co-parented node contributes
//! to every parent it has. Net scores follow the prototype's recursion
//! `net = posts + Σ net(pro children) − Σ net(con children)`, with a node re-entered during its own
//! computation contributing 0, and a memo that lives until the next mutation (the prototype's
//! per-node cache, which the engine only reads after a full invalidation).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use super::charter::{Charter, check_coords};
use super::dense::{FlatPoints, NodeBits};
use super::error::{Result, SubstrateError};
use super::fxhash::{FxMap, FxSet};
use super::ids::{self, Digest};
use super::probe::{EvalCache, EvalKey};
use super::score::ScoreMemo;
use super::vector;

/// Index of a node in the world's arena.
pub type NodeIdx = usize;
/// Index of a tendency in charter order.
pub type TendencyIdx = usize;

/// Where a node sits relative to a parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Position {
    /// Supports the parent: adds its net score to the parent's.
    Pro,
    /// Opposes the parent: subtracts its net score from the parent's.
    Con,
    /// A tree's root; it has no parent.
    Root,
}

impl Position {
    /// The lowercase name used in events and rendered output (`pro`, `con`, `root`).
    pub fn as_str(self) -> &'static str {
        match self {
            Position::Pro => "pro",
            Position::Con => "con",
            Position::Root => "root",
        }
    }
}

/// One parent edge of a node: which node, at which position, in which tendency's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParentLink {
    /// The parent node.
    pub parent: NodeIdx,
    /// Whether this node supports or opposes the parent.
    pub position: Position,
    /// The tree (tendency) the edge belongs to.
    pub tendency: TendencyIdx,
}

/// Who placed a post.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Poster {
    /// A tendency's equilibrium post (rewritten every round).
    Tendency(TendencyIdx),
    /// An agent's explicit post (replayed `author_post`), never stripped by rounds.
    Agent(String),
}

/// A post on a node; weights are 1.0 except on legacy paths.
#[derive(Debug, Clone, PartialEq)]
pub struct Stake {
    /// Who placed it.
    pub poster: Poster,
    /// Added to the node's net score; positive weights also lower its novelty.
    pub weight: f64,
}

/// A sub-claim or root.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Content id: [`super::ids::node_address`] of anchor and axis, or
    /// [`root_node_id`] for a root.
    pub id: Digest,
    /// Content-address inputs (empty for roots).
    pub anchor: Vec<f64>,
    /// Polarity axis of the claim, as proposed (the other content-address input).
    pub axis: Vec<f64>,
    /// The observation the node was sprouted for, if any.
    pub observation: Option<Digest>,
    /// Human-readable text of the claim (a root's thesis, an observation's label).
    pub content: String,
    /// Every edge to a parent, in the order they were added; empty for roots.
    pub parents: Vec<ParentLink>,
    /// Posts on the node, summed into its net score.
    pub stakes: Vec<Stake>,
    /// Children supporting this node (in every tree it is indexed in).
    pub pro: Vec<NodeIdx>,
    /// Children opposing this node.
    pub con: Vec<NodeIdx>,
    /// Persistent novelty in [0, 1].
    pub n: f64,
}

impl Node {
    /// Position of the first parent link (Root for a root).
    pub fn position(&self) -> Position {
        self.parents.first().map_or(Position::Root, |l| l.position)
    }
}

/// A point observed in charter coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Content id of the observation (its turn, or as the event gives it).
    pub id: Digest,
    /// The point, one value per charter dimension.
    pub coords: Vec<f64>,
    /// Human-readable text; becomes the content of nodes sprouted for it.
    pub label: String,
}

/// A coordinate claim held by one tendency about one node.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Text of the claim (as the node's content).
    pub content: String,
    /// Distance from the root claim in the claim tree (root = 0).
    pub depth: u32,
    /// Weight in the frame's disruption test; 0 for every claim the engine creates.
    pub stake: f64,
    /// Where the claim sits in charter coordinates (probe similarity is measured to it).
    pub anchor: Vec<f64>,
    /// Unit-length polarity axis.
    pub axis: Vec<f64>,
    /// Claims below this one in the claim tree (adjacency walks it).
    pub children: Vec<usize>,
    /// The node this claim is about.
    pub node: NodeIdx,
}

/// One tendency: a root's tree index, claim tree, frame and last round's intents.
#[derive(Debug, Clone, PartialEq)]
pub struct Tendency {
    /// The charter root's id.
    pub id: String,
    /// The charter root's thesis (the root node's content).
    pub thesis: String,
    /// The root's anchor in charter coordinates.
    pub anchor: Vec<f64>,
    /// The root's polarity axis as the charter gives it (not normalised).
    pub axis: Vec<f64>,
    /// Multiplies every stake this tendency places in a round.
    pub budget: f64,
    /// Similarity bandwidth of the frame (the charter's); also scales cross-edge reach.
    pub bandwidth: f64,
    /// The tree's root node.
    pub root: NodeIdx,
    /// The tree's node index in insertion order.
    pub index: Vec<NodeIdx>,
    pub(crate) index_pos: FxMap<NodeIdx, usize>,
    /// The indexed nodes as a bitmap (derived; membership tests of the per-round loops).
    pub(crate) member: NodeBits,
    /// Indexed nodes without an observation, in index order (cross-pass targets by anchor).
    pub(crate) plain: Vec<NodeIdx>,
    /// Claim arena; claim 0 is the root claim.
    pub claims: Vec<Claim>,
    pub(crate) node_claim: FxMap<NodeIdx, usize>,
    /// Claim tree in walk order (derived from `claims`).
    pub(crate) walk: Vec<usize>,
    /// Non-root nodes in the order they got a claim here (derived; feeds the incremental
    /// nearest-claim search of cross-edge discovery).
    pub(crate) claim_log: Vec<NodeIdx>,
    /// The anchors of `claim_log`'s claims, in log order (derived).
    pub(crate) claim_log_anchors: FlatPoints,
    /// Observations absorbed into the frame, in absorption order.
    pub integrated: Vec<(Digest, Vec<f64>)>,
    pub(crate) integrated_ids: FxSet<Digest>,
    /// The distinct points of `integrated` (derived; containment tests scan these).
    pub(crate) integrated_points: FlatPoints,
    pub(crate) integrated_seen: FxSet<Vec<u64>>,
    /// Observations this tendency placed as CON children of its root; later rounds keep them
    /// there without probing them again.
    pub con_positioned: BTreeSet<Digest>,
    /// `con_positioned` as a hash set (derived; every observation of the batch is looked up in it
    /// by every tendency every round).
    pub(crate) con_positioned_fast: FxSet<Digest>,
    /// Last round's intents keyed by (target tendency, node), in first-touch order.
    pub last_stakes: Vec<((TendencyIdx, NodeIdx), f64)>,
}

impl Tendency {
    /// Whether `node` is indexed in this tendency's tree.
    pub fn contains_node(&self, node: NodeIdx) -> bool {
        self.member.contains(node)
    }

    /// This tendency's claim about `node`, if it holds one.
    pub fn claim_of(&self, node: NodeIdx) -> Option<&Claim> {
        self.node_claim.get(&node).map(|&c| &self.claims[c])
    }

    /// Records a claim about `claim.node`, hung under claim `parent` in the claim tree if given.
    pub(crate) fn add_claim(&mut self, claim: Claim, parent: Option<usize>) -> usize {
        let c = self.claims.len();
        let node = claim.node;
        self.claims.push(claim);
        self.node_claim.insert(node, c);
        if node != self.root {
            self.claim_log.push(node);
            self.claim_log_anchors.push(&self.claims[c].anchor);
        }
        if let Some(p) = parent {
            self.claims[p].children.push(c);
            self.walk_add_leaf(p, c);
        }
        c
    }

    /// Absorbs an observation into the frame (once per id).
    pub(crate) fn absorb(&mut self, id: Digest, coords: &[f64]) -> bool {
        if !self.integrated_ids.insert(id) {
            return false;
        }
        self.integrated.push((id, coords.to_vec()));
        self.note_integrated_point(coords);
        true
    }

    fn note_integrated_point(&mut self, coords: &[f64]) {
        // Containment is "any absorbed point within 0.05": a point seen before adds nothing.
        if self
            .integrated_seen
            .insert(coords.iter().map(|x| x.to_bits()).collect())
        {
            self.integrated_points.push(coords);
        }
    }

    fn push_index(&mut self, node: NodeIdx, plain: bool) {
        if !self.index_pos.contains_key(&node) {
            self.index_pos.insert(node, self.index.len());
            self.index.push(node);
            self.member.insert(node);
            if plain {
                self.plain.push(node);
            }
        }
    }
}

/// The world model.
#[derive(Debug, Clone)]
pub struct World {
    /// The charter the world was built from.
    pub charter: Charter,
    /// One tendency per charter root, in charter order.
    pub tendencies: Vec<Tendency>,
    /// The node arena shared by every tree; indices are [`NodeIdx`], never reused.
    pub nodes: Vec<Node>,
    pub(crate) by_id: FxMap<Digest, NodeIdx>,
    pub(crate) obs_nodes: FxMap<Digest, Vec<NodeIdx>>,
    /// The current observation batch, in insertion order.
    pub observations: Vec<Observation>,
    pub(crate) obs_pos: FxMap<Digest, usize>,
    /// Per-tendency probe caches (derived state, not part of the model).
    pub(crate) caches: Vec<EvalCache>,
    /// Cross-edge discovery memo: (tree, node) → (claim-log position scanned, best parent, its
    /// distance).
    pub(crate) cross_cache: FxMap<(TendencyIdx, NodeIdx), (usize, NodeIdx, f64)>,
    /// Nodes whose novelty update may not be a no-op whatever the posts: nodes with CON children
    /// or agent posts (derived; see `update_novelty`).
    pub(crate) watched: Vec<NodeIdx>,
    /// Nodes whose novelty changed in the last round (derived).
    pub(crate) unsettled: Vec<NodeIdx>,
    /// Nodes carrying tendency posts (derived; lets `apply_stakes` strip only those).
    pub(crate) posted: Vec<NodeIdx>,
    /// The tendency posts of the last `apply_stakes`, (node, poster) in the order they were placed
    /// (derived; tells whether a round changed any post).
    pub(crate) last_posts: Vec<(NodeIdx, TendencyIdx)>,
    /// Bumped whenever the observation batch changes (keys `targets`).
    pub(crate) batch_gen: u64,
    /// Per tree: (batch generation, index length, cross-pass targets in index order).
    pub(crate) targets: Vec<Option<(u64, usize, Vec<NodeIdx>)>>,
    /// How many observations were ever added (the prototype's append-only history, counted).
    pub history_len: u64,
    pub(crate) memo: RefCell<ScoreMemo>,
}

impl PartialEq for World {
    fn eq(&self, other: &Self) -> bool {
        self.charter == other.charter
            && self.tendencies == other.tendencies
            && self.nodes == other.nodes
            && self.observations == other.observations
            && self.history_len == other.history_len
    }
}

/// Deterministic id of a root node: the charter and the root's id, never a random uuid, so every
/// peer's world from the same charter has the same root ids.
pub fn root_node_id(charter_id: &Digest, tendency_id: &str) -> Digest {
    ids::content_id("autonet/substrate/root/v1", &(charter_id, tendency_id))
}

impl World {
    /// A world under `charter` with nothing in it, not even the roots' trees.
    fn empty(charter: Charter) -> Self {
        World {
            charter,
            tendencies: Vec::new(),
            nodes: Vec::new(),
            by_id: FxMap::default(),
            obs_nodes: FxMap::default(),
            observations: Vec::new(),
            obs_pos: FxMap::default(),
            caches: Vec::new(),
            cross_cache: FxMap::default(),
            watched: Vec::new(),
            unsettled: Vec::new(),
            posted: Vec::new(),
            last_posts: Vec::new(),
            batch_gen: 0,
            targets: Vec::new(),
            history_len: 0,
            memo: RefCell::new(ScoreMemo::default()),
        }
    }

    /// A fresh world with one empty tree per charter root.
    pub fn from_charter(charter: &Charter) -> Result<Self> {
        charter.validate()?;
        let charter_id = charter.id();
        let mut w = World::empty(charter.clone());
        for r in &charter.roots {
            let id = root_node_id(&charter_id, &r.id);
            let root = w.insert_node(Node {
                id,
                anchor: Vec::new(),
                axis: Vec::new(),
                observation: None,
                content: r.thesis.clone(),
                parents: Vec::new(),
                stakes: Vec::new(),
                pro: Vec::new(),
                con: Vec::new(),
                n: 1.0,
            });
            let root_claim = Claim {
                content: r.thesis.clone(),
                depth: 0,
                stake: 1.0,
                anchor: r.anchor.clone(),
                axis: vector::normalized(&r.polarity_axis),
                children: Vec::new(),
                node: root,
            };
            let mut t = Tendency {
                id: r.id.clone(),
                thesis: r.thesis.clone(),
                anchor: r.anchor.clone(),
                axis: r.polarity_axis.clone(),
                budget: r.budget,
                bandwidth: charter.bandwidth,
                root,
                index: Vec::new(),
                index_pos: FxMap::default(),
                member: NodeBits::default(),
                plain: Vec::new(),
                claims: vec![root_claim],
                node_claim: FxMap::from_iter([(root, 0)]),
                walk: vec![0],
                claim_log: Vec::new(),
                claim_log_anchors: FlatPoints::new(charter.dim()),
                integrated: Vec::new(),
                integrated_ids: FxSet::default(),
                integrated_points: FlatPoints::new(charter.dim()),
                integrated_seen: FxSet::default(),
                con_positioned: BTreeSet::new(),
                con_positioned_fast: FxSet::default(),
                last_stakes: Vec::new(),
            };
            t.push_index(root, true);
            w.tendencies.push(t);
            w.caches.push(EvalCache::default());
            w.targets.push(None);
        }
        Ok(w)
    }

    /// The prototype's charter world (charter v1).
    pub fn charter_v1() -> Self {
        // v1 is a constant that always validates.
        World::from_charter(&Charter::v1()).unwrap_or_else(|_| unreachable_world())
    }

    pub(crate) fn insert_node(&mut self, node: Node) -> NodeIdx {
        let idx = self.nodes.len();
        self.by_id.insert(node.id, idx);
        if let Some(o) = node.observation {
            self.obs_nodes.entry(o).or_default().push(idx);
        }
        self.nodes.push(node);
        self.invalidate_scores();
        idx
    }

    /// The arena index of the node with content id `id`.
    pub fn node_by_id(&self, id: &Digest) -> Option<NodeIdx> {
        self.by_id.get(id).copied()
    }

    /// The index of the tendency of charter root `id`; an unknown id is an error.
    pub fn tendency_by_id(&self, id: &str) -> Result<TendencyIdx> {
        self.tendencies
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| SubstrateError::UnknownTendency(id.to_string()))
    }

    /// Adds an observation to the current batch (replacing one with the same id in place).
    pub fn add_observation(&mut self, obs: Observation) -> Result<()> {
        check_coords("observation coordinates", &obs.coords, self.charter.dim())?;
        self.history_len += 1;
        self.batch_gen += 1;
        match self.obs_pos.get(&obs.id) {
            Some(&i) => {
                // Same id, possibly other coordinates: cached probe results for it are stale.
                for c in &mut self.caches {
                    c.forget(&EvalKey::Obs(obs.id));
                }
                self.observations[i] = obs;
            }
            None => {
                self.obs_pos.insert(obs.id, self.observations.len());
                self.observations.push(obs);
            }
        }
        Ok(())
    }

    /// The observation `id` of the current batch.
    pub fn observation(&self, id: &Digest) -> Option<&Observation> {
        self.obs_pos.get(id).map(|&i| &self.observations[i])
    }

    /// Ends the current batch (the solver does this after each epoch).
    pub fn clear_observations(&mut self) {
        self.observations.clear();
        self.obs_pos.clear();
        self.batch_gen += 1;
        for c in &mut self.caches {
            c.clear();
        }
    }

    /// Indexes `node` in tendency `t`'s tree (no-op if it is there).
    pub(crate) fn index_node(&mut self, t: TendencyIdx, node: NodeIdx) {
        let plain = self.nodes[node].observation.is_none();
        self.tendencies[t].push_index(node, plain);
    }

    /// Rebuilds tendency `t`'s derived lookups (index positions, plain nodes, claim walk) and
    /// drops its probe cache; used after decoding and pruning.
    pub(crate) fn rebuild_tendency(&mut self, t: TendencyIdx) {
        let tend = &mut self.tendencies[t];
        tend.index_pos = tend
            .index
            .iter()
            .enumerate()
            .map(|(i, &n)| (n, i))
            .collect();
        tend.member = NodeBits::with_capacity(self.nodes.len());
        for &n in &tend.index {
            tend.member.insert(n);
        }
        tend.plain = tend
            .index
            .iter()
            .copied()
            .filter(|&n| self.nodes[n].observation.is_none())
            .collect();
        tend.node_claim = tend
            .claims
            .iter()
            .enumerate()
            .map(|(i, c)| (c.node, i))
            .collect();
        tend.integrated_ids = tend.integrated.iter().map(|(d, _)| *d).collect();
        tend.con_positioned_fast = tend.con_positioned.iter().copied().collect();
        tend.integrated_points.clear();
        tend.integrated_seen.clear();
        let integrated = std::mem::take(&mut tend.integrated);
        for (_, p) in &integrated {
            tend.note_integrated_point(p);
        }
        tend.integrated = integrated;
        tend.rebuild_walk();
        tend.claim_log = tend
            .index
            .iter()
            .copied()
            .filter(|n| *n != tend.root && tend.node_claim.contains_key(n))
            .collect();
        tend.claim_log_anchors.clear();
        for n in &tend.claim_log {
            let c = tend.node_claim[n];
            tend.claim_log_anchors.push(&tend.claims[c].anchor);
        }
        if let Some(c) = self.caches.get_mut(t) {
            c.clear();
        }
        self.cross_cache.clear();
    }

    /// Number of distinct nodes indexed in at least one tree (roots included).
    pub fn unique_node_count(&self) -> usize {
        let mut seen = HashSet::new();
        for t in &self.tendencies {
            seen.extend(t.index.iter().copied());
        }
        seen.len()
    }

    /// Σ over trees of the tree's index size (a co-parented node counts once per tree).
    pub fn tree_occurrences(&self) -> usize {
        self.tendencies.iter().map(|t| t.index.len()).sum()
    }

    /// Adds a parent link unless it is a self-link or the (parent, tendency) pair exists already.
    pub(crate) fn add_parent_link(&mut self, child: NodeIdx, link: ParentLink) -> bool {
        if link.parent == child {
            return false;
        }
        let node = &mut self.nodes[child];
        if node
            .parents
            .iter()
            .any(|l| l.parent == link.parent && l.tendency == link.tendency)
        {
            return false;
        }
        node.parents.push(link);
        self.invalidate_scores();
        true
    }

    /// Lists `child` under `parent` at `position` unless it is already in either child list.
    pub(crate) fn attach_child(&mut self, parent: NodeIdx, child: NodeIdx, position: Position) {
        let p = &mut self.nodes[parent];
        if p.pro.contains(&child) || p.con.contains(&child) {
            return;
        }
        match position {
            Position::Con => {
                p.con.push(child);
                if p.con.len() == 1 {
                    self.watched.push(parent);
                }
            }
            _ => p.pro.push(child),
        }
        self.invalidate_scores();
    }

    pub(crate) fn invalidate_scores(&self) {
        self.memo.borrow_mut().invalidate();
    }

    /// Root score of every tendency, in charter order.
    pub fn root_scores(&self) -> Vec<(String, f64)> {
        self.tendencies
            .iter()
            .map(|t| (t.id.clone(), self.net_score(t.root)))
            .collect()
    }

    /// `{node id → net score}` over every tree's index (the epoch snapshot).
    pub fn snapshot_scores(&self) -> std::collections::BTreeMap<Digest, f64> {
        let mut out = std::collections::BTreeMap::new();
        for t in &self.tendencies {
            for &n in &t.index {
                out.insert(self.nodes[n].id, self.net_score(n));
            }
        }
        out
    }

    /// Whether `target` can be reached from `from` by following child edges.
    pub fn reaches(&self, from: NodeIdx, target: NodeIdx) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![from];
        while let Some(x) = stack.pop() {
            if x == target {
                return true;
            }
            if seen.insert(x) {
                stack.extend(self.nodes[x].pro.iter().chain(&self.nodes[x].con).copied());
            }
        }
        false
    }
}

#[cold]
fn unreachable_world() -> World {
    World::empty(Charter {
        version: 0,
        bandwidth: 1.0,
        roots: Vec::new(),
    })
}
