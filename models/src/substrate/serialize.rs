//! A world as a global model: canonical CBOR of its complete state, and the world hash.
//!
//! Unlike the prototype's payload (which drops novelty, observation ids and co-parent links and
//! regenerates root uuids), this encoding keeps everything the engine reads, so decoding gives back
//! exactly the same world and the same hash.

use serde::{Deserialize, Serialize};

use super::charter::{Charter, check_coords};
use super::error::{Result, SubstrateError};
use super::ids::{self, Digest, f64_bits, f64_vec_bits};
use super::world::{Claim, Node, ParentLink, Position, Poster, Stake, World, root_node_id};

/// Largest world model accepted, in bytes.
pub const MAX_WORLD_BYTES: usize = 512 * 1024 * 1024;
const WORLD_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct LinkRec(u64, Position, u32);

#[derive(Serialize, Deserialize)]
struct StakeRec {
    tendency: Option<u32>,
    agent: Option<String>,
    #[serde(with = "f64_bits")]
    weight: f64,
}

#[derive(Serialize, Deserialize)]
struct NodeRec {
    id: Digest,
    #[serde(with = "f64_vec_bits")]
    anchor: Vec<f64>,
    #[serde(with = "f64_vec_bits")]
    axis: Vec<f64>,
    observation: Option<Digest>,
    content: String,
    parents: Vec<LinkRec>,
    stakes: Vec<StakeRec>,
    pro: Vec<u64>,
    con: Vec<u64>,
    #[serde(with = "f64_bits")]
    n: f64,
}

#[derive(Serialize, Deserialize)]
struct ClaimRec {
    content: String,
    depth: u32,
    #[serde(with = "f64_bits")]
    stake: f64,
    #[serde(with = "f64_vec_bits")]
    anchor: Vec<f64>,
    #[serde(with = "f64_vec_bits")]
    axis: Vec<f64>,
    children: Vec<u64>,
    node: u64,
}

#[derive(Serialize, Deserialize)]
struct IntegratedRec(Digest, #[serde(with = "f64_vec_bits")] Vec<f64>);

#[derive(Serialize, Deserialize)]
struct IntentRec(u32, u64, #[serde(with = "f64_bits")] f64);

#[derive(Serialize, Deserialize)]
struct TendencyRec {
    root: u64,
    index: Vec<u64>,
    claims: Vec<ClaimRec>,
    integrated: Vec<IntegratedRec>,
    con_positioned: Vec<Digest>,
    last_stakes: Vec<IntentRec>,
}

#[derive(Serialize, Deserialize)]
struct ObsRec {
    id: Digest,
    #[serde(with = "f64_vec_bits")]
    coords: Vec<f64>,
    label: String,
}

#[derive(Serialize, Deserialize)]
struct WorldRec {
    version: u32,
    charter: Charter,
    nodes: Vec<NodeRec>,
    tendencies: Vec<TendencyRec>,
    observations: Vec<ObsRec>,
    history_len: u64,
}

fn to_rec(w: &World) -> WorldRec {
    let u = |x: usize| x as u64;
    WorldRec {
        version: WORLD_VERSION,
        charter: w.charter.clone(),
        nodes: w
            .nodes
            .iter()
            .map(|n| NodeRec {
                id: n.id,
                anchor: n.anchor.clone(),
                axis: n.axis.clone(),
                observation: n.observation,
                content: n.content.clone(),
                parents: n
                    .parents
                    .iter()
                    .map(|l| LinkRec(u(l.parent), l.position, l.tendency as u32))
                    .collect(),
                stakes: n
                    .stakes
                    .iter()
                    .map(|s| match &s.poster {
                        Poster::Tendency(t) => StakeRec {
                            tendency: Some(*t as u32),
                            agent: None,
                            weight: s.weight,
                        },
                        Poster::Agent(a) => StakeRec {
                            tendency: None,
                            agent: Some(a.clone()),
                            weight: s.weight,
                        },
                    })
                    .collect(),
                pro: n.pro.iter().map(|&x| u(x)).collect(),
                con: n.con.iter().map(|&x| u(x)).collect(),
                n: n.n,
            })
            .collect(),
        tendencies: w
            .tendencies
            .iter()
            .map(|t| TendencyRec {
                root: u(t.root),
                index: t.index.iter().map(|&x| u(x)).collect(),
                claims: t
                    .claims
                    .iter()
                    .map(|c| ClaimRec {
                        content: c.content.clone(),
                        depth: c.depth,
                        stake: c.stake,
                        anchor: c.anchor.clone(),
                        axis: c.axis.clone(),
                        children: c.children.iter().map(|&x| u(x)).collect(),
                        node: u(c.node),
                    })
                    .collect(),
                integrated: t
                    .integrated
                    .iter()
                    .map(|(d, c)| IntegratedRec(*d, c.clone()))
                    .collect(),
                con_positioned: t.con_positioned.iter().copied().collect(),
                last_stakes: t
                    .last_stakes
                    .iter()
                    .map(|&((tt, n), v)| IntentRec(tt as u32, u(n), v))
                    .collect(),
            })
            .collect(),
        observations: w
            .observations
            .iter()
            .map(|o| ObsRec {
                id: o.id,
                coords: o.coords.clone(),
                label: o.label.clone(),
            })
            .collect(),
        history_len: w.history_len,
    }
}

impl World {
    /// Canonical CBOR of the whole world.
    pub fn encode(&self) -> Vec<u8> {
        ids::encode(&to_rec(self))
    }

    /// The world hash: BLAKE3 over the canonical encoding.
    pub fn hash(&self) -> Digest {
        ids::content_id("autonet/substrate/world/v1", &to_rec(self))
    }

    /// Decodes a world model, checking every reference and coordinate.
    pub fn decode(bytes: &[u8]) -> Result<World> {
        let rec: WorldRec = ids::decode_canonical("world model", bytes, MAX_WORLD_BYTES)?;
        from_rec(rec)
    }
}

fn from_rec(rec: WorldRec) -> Result<World> {
    let bad = |m: String| SubstrateError::InvalidWorld(m);
    if rec.version != WORLD_VERSION {
        return Err(bad(format!("version {}", rec.version)));
    }
    let mut w = World::from_charter(&rec.charter)?;
    let nn = rec.nodes.len();
    let nt = w.tendencies.len();
    if rec.tendencies.len() != nt {
        return Err(bad(format!(
            "{} tendencies for a charter of {nt}",
            rec.tendencies.len()
        )));
    }
    let idx = |x: u64| -> Result<usize> {
        usize::try_from(x)
            .ok()
            .filter(|&i| i < nn)
            .ok_or_else(|| bad(format!("node index {x} out of range")))
    };
    let tidx = |x: u32| -> Result<usize> {
        usize::try_from(x)
            .ok()
            .filter(|&i| i < nt)
            .ok_or_else(|| bad(format!("tendency index {x} out of range")))
    };
    let mut nodes = Vec::with_capacity(nn);
    let roots: Vec<u64> = rec.tendencies.iter().map(|t| t.root).collect();
    for (i, n) in rec.nodes.into_iter().enumerate() {
        nodes.push(node_from_rec(&w, &roots, i, n, &idx, &tidx)?);
    }
    w.nodes.clear();
    w.by_id.clear();
    w.obs_nodes.clear();
    for n in nodes {
        if w.by_id.contains_key(&n.id) {
            return Err(bad(format!("duplicate node id {}", n.id.short())));
        }
        w.insert_node(n);
    }
    for (t, tr) in rec.tendencies.into_iter().enumerate() {
        tendency_from_rec(&mut w, t, tr, &idx, &tidx)?;
    }
    w.observations.clear();
    w.obs_pos.clear();
    for o in rec.observations {
        w.add_observation(super::world::Observation {
            id: o.id,
            coords: o.coords,
            label: o.label,
        })?;
    }
    w.history_len = rec.history_len;
    derive_sets(&mut w);
    // Child edges may form cycles across trees: training co-parents content-addressed nodes in
    // several trees and can hang X under Y in one tree and Y under X in another (three solvers'
    // slices of the shipped traces do). Every walk is cycle-guarded (`net_score` scores a node
    // on its own cycle as 0, `reaches` keeps a seen set), so such worlds are valid and must
    // round-trip; rejecting them made a trained world undecodable as the next epoch's base.
    Ok(w)
}

/// One node of a decoded world, checked: a root, or coordinates matching its content id;
/// finite novelty; links and stakes naming existing nodes and tendencies.
fn node_from_rec(
    w: &World,
    roots: &[u64],
    i: usize,
    n: NodeRec,
    idx: &dyn Fn(u64) -> Result<usize>,
    tidx: &dyn Fn(u32) -> Result<usize>,
) -> Result<Node> {
    let bad = |m: String| SubstrateError::InvalidWorld(m);
    let dim = w.charter.dim();
    let charter_id = w.charter.id();
    if n.parents.is_empty() && n.anchor.is_empty() {
        let is_root = roots.get(i).is_some_and(|&r| r == i as u64)
            || w.charter
                .roots
                .iter()
                .any(|r| root_node_id(&charter_id, &r.id) == n.id);
        if !is_root {
            return Err(bad(format!(
                "node {} has no coordinates and is not a root",
                n.id.short()
            )));
        }
    } else {
        check_coords("node anchor", &n.anchor, dim)?;
        check_coords("node axis", &n.axis, dim)?;
        let computed = ids::node_address(&n.anchor, &n.axis);
        if computed != n.id {
            return Err(SubstrateError::ContentIdMismatch {
                claimed: n.id.short(),
                computed: computed.short(),
            });
        }
    }
    if !n.n.is_finite() {
        return Err(bad(format!("node {} has non-finite novelty", n.id.short())));
    }
    let mut parents = Vec::new();
    for LinkRec(p, pos, t) in n.parents {
        parents.push(ParentLink {
            parent: idx(p)?,
            position: pos,
            tendency: tidx(t)?,
        });
    }
    let mut stakes = Vec::new();
    for s in n.stakes {
        let poster = match (s.tendency, s.agent) {
            (Some(t), None) => Poster::Tendency(tidx(t)?),
            (None, Some(a)) => Poster::Agent(a),
            _ => return Err(bad("a stake needs exactly one poster".into())),
        };
        stakes.push(Stake {
            poster,
            weight: s.weight,
        });
    }
    Ok(Node {
        id: n.id,
        anchor: n.anchor,
        axis: n.axis,
        observation: n.observation,
        content: n.content,
        parents,
        stakes,
        pro: n.pro.into_iter().map(idx).collect::<Result<_>>()?,
        con: n.con.into_iter().map(idx).collect::<Result<_>>()?,
        n: n.n,
    })
}

/// Tendency `t` of a decoded world: its tree index, claims (children after their parent),
/// integrated observations and last stakes, checked and rebuilt.
fn tendency_from_rec(
    w: &mut World,
    t: usize,
    tr: TendencyRec,
    idx: &dyn Fn(u64) -> Result<usize>,
    tidx: &dyn Fn(u32) -> Result<usize>,
) -> Result<()> {
    let bad = |m: String| SubstrateError::InvalidWorld(m);
    let dim = w.charter.dim();
    let tend = &mut w.tendencies[t];
    tend.root = idx(tr.root)?;
    tend.index.clear();
    for x in tr.index {
        tend.index.push(idx(x)?);
    }
    let ncl = tr.claims.len();
    tend.claims.clear();
    tend.node_claim.clear();
    for (ci, c) in tr.claims.into_iter().enumerate() {
        check_coords("claim anchor", &c.anchor, dim)?;
        check_coords("claim axis", &c.axis, dim)?;
        let children = c
            .children
            .into_iter()
            .map(|x| {
                usize::try_from(x)
                    .ok()
                    .filter(|&i| i < ncl && i > ci)
                    .ok_or_else(|| bad(format!("claim child {x} invalid")))
            })
            .collect::<Result<Vec<_>>>()?;
        let node = idx(c.node)?;
        tend.node_claim.insert(node, ci);
        tend.claims.push(Claim {
            content: c.content,
            depth: c.depth,
            stake: c.stake,
            anchor: c.anchor,
            axis: c.axis,
            children,
            node,
        });
    }
    if tend.claims.first().map(|c| c.node) != Some(tend.root) {
        return Err(bad(format!(
            "tendency `{}`: claim 0 is not the root claim",
            tend.id
        )));
    }
    tend.integrated.clear();
    for IntegratedRec(d, c) in tr.integrated {
        check_coords("integrated observation", &c, dim)?;
        tend.integrated.push((d, c));
    }
    tend.con_positioned = tr.con_positioned.into_iter().collect();
    let mut ls = Vec::new();
    for IntentRec(tt, n, v) in tr.last_stakes {
        ls.push(((tidx(tt)?, idx(n)?), v));
    }
    tend.last_stakes = ls;
    w.rebuild_tendency(t);
    let tend = &w.tendencies[t];
    if tend.index_pos.len() != tend.index.len() {
        return Err(bad(format!("tendency `{}` indexes a node twice", tend.id)));
    }
    if tend.node_claim.len() != tend.claims.len() {
        return Err(bad(format!(
            "tendency `{}` has two claims for one node",
            tend.id
        )));
    }
    Ok(())
}

/// The sets a decoded world derives from its nodes rather than stores.
fn derive_sets(w: &mut World) {
    // After decoding, every node is considered unsettled until a round shows otherwise.
    w.unsettled = (0..w.nodes.len()).collect();
    w.watched = (0..w.nodes.len())
        .filter(|&n| {
            !w.nodes[n].con.is_empty()
                || w.nodes[n]
                    .stakes
                    .iter()
                    .any(|s| matches!(s.poster, Poster::Agent(_)))
        })
        .collect();
    w.posted = (0..w.nodes.len())
        .filter(|&n| {
            w.nodes[n]
                .stakes
                .iter()
                .any(|s| matches!(s.poster, Poster::Tendency(_)))
        })
        .collect();
}

impl World {
    /// Whether the child edges contain a cycle.
    pub fn reaches_cycle(&self) -> bool {
        // Kahn's algorithm over all child edges.
        let n = self.nodes.len();
        let mut indeg = vec![0usize; n];
        for node in &self.nodes {
            for &c in node.pro.iter().chain(&node.con) {
                indeg[c] += 1;
            }
        }
        let mut queue: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
        let mut seen = 0;
        while let Some(x) = queue.pop() {
            seen += 1;
            for &c in self.nodes[x].pro.iter().chain(&self.nodes[x].con) {
                indeg[c] -= 1;
                if indeg[c] == 0 {
                    queue.push(c);
                }
            }
        }
        seen != n
    }
}
