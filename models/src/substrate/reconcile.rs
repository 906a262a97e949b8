//! Epoch reconciliation: how much each node's score moved, how much of that movement is paid
//! (mint), and to which agents.
//!
//! For a node ν with start score s₀ and close score s_c (0 where absent) and its series over the
//! snapshots that contain it:
//! - novelty(ν) = the largest step of the series (a diagnostic);
//! - survival(ν) = clip\[0,1\](mean(series) / s_c) when s_c > 0, else 0;
//! - mint(ν) = (s_c − s₀) · survival · n(ν) when s_c > 0 and s_c > s₀, else 0 (falls and movement
//!   ending ≤ 0 are never paid); n(ν) is the node's persistent novelty;
//! - the mint gate scales mint(ν) by max(0, 1 − g·v(ν)), where v(ν) = clip\[0,1\](mean net score of
//!   ν's CON children that score > 0, / 0.5): standing, supported objections to a node hold back its
//!   mint. (The prototype finds "violations" by substring-matching node ids in content and rescales
//!   every agent uniformly, both flagged as placeholders there; here the gate is structural and
//!   applied per node before attribution, so it hits the agents who built the gated node.)
//! - attribution: the agents whose PRO sprout events name a node of ν's subtree (ν itself and
//!   everything below it along child edges) share mint(ν) and novelty(ν) by event count. CON
//!   contributors never mint. With no PRO events the share goes to `_unattributed`, which is not
//!   paid. (The prototype walks only the first tree holding ν and matches raw, unremapped ids; our
//!   ids are canonical, and child lists are shared across trees, so the subtree is the same from
//!   every tree.)

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::events::Event;
use super::ids::Digest;
use super::vector::py_max;
use super::world::{Position, World};

/// Name of the bucket for mint nobody earned.
pub const UNATTRIBUTED: &str = "_unattributed";
/// Fixed point of the mint list: 1e18 (WAD).
pub const WAD: f64 = 1e18;

/// Score snapshots of one epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpochSnapshots {
    /// Net score of every node when the epoch opened.
    pub start: BTreeMap<Digest, f64>,
    /// Net scores at each checkpoint during the epoch, in order.
    pub checkpoints: Vec<BTreeMap<Digest, f64>>,
    /// Net score of every node when the epoch closed.
    pub close: BTreeMap<Digest, f64>,
}

/// The reconciled epoch.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Reconciliation {
    /// Mint per agent (including [`UNATTRIBUTED`]), in score units before WAD scaling.
    pub agent_mint: BTreeMap<String, f64>,
    /// Novelty attributed to each agent (a diagnostic, never paid).
    pub agent_novelty: BTreeMap<String, f64>,
    /// Positive node mints after the gate, keyed by node id hex.
    pub node_mint: BTreeMap<String, f64>,
    /// Positive novelty (largest score step) per node, keyed by node id hex.
    pub node_novelty: BTreeMap<String, f64>,
    /// Gate violation v(ν) in [0, 1] of nodes with supported objections, keyed by node id hex.
    pub node_violation: BTreeMap<String, f64>,
    /// Sum of `agent_mint`.
    pub total_mint: f64,
    /// Sum of `agent_novelty`.
    pub total_novelty: f64,
    /// Set by [`apply_emission_pool`]: the mint before scaling, and the pool it was scaled to.
    pub raw_mint_total: Option<f64>,
    /// The pool the mint was scaled to (see `raw_mint_total`).
    pub emission_pool: Option<f64>,
}

/// One entry of the mint list: an agent and its mint in WAD fixed point.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MintEntry {
    /// The agent's id.
    pub agent: String,
    /// Its mint, scaled by [`WAD`] and truncated.
    pub amount: u128,
}

fn series(s: &EpochSnapshots, id: &Digest) -> Vec<f64> {
    let mut out = Vec::new();
    out.extend(s.start.get(id));
    for c in &s.checkpoints {
        out.extend(c.get(id));
    }
    out.extend(s.close.get(id));
    out
}

/// Violation level of node `n` (see the module docs).
fn violation(world: &World, n: usize) -> f64 {
    let scores: Vec<f64> = world.nodes[n]
        .con
        .iter()
        .map(|&c| world.net_score(c))
        .filter(|&v| v > 0.0)
        .collect();
    if scores.is_empty() {
        return 0.0;
    }
    let mut sum = 0.0;
    for v in &scores {
        sum += v;
    }
    (sum / scores.len() as f64 / 0.5).clamp(0.0, 1.0)
}

/// Reconciles an epoch. `events` are the merged events replayed this epoch; `agent_weights`
/// scales each agent's mint (1.0 when absent); `gate_strength` is g (0 disables the gate).
pub fn reconcile_epoch(
    world: &World,
    snaps: &EpochSnapshots,
    events: &[Event],
    agent_weights: &BTreeMap<String, f64>,
    gate_strength: f64,
) -> Reconciliation {
    // PRO sprout events per (node id, author); a node has one event per tree, counted each.
    let mut pro_counts: HashMap<Digest, BTreeMap<&str, u64>> = HashMap::new();
    for e in events {
        if let Event::SubClaimSprouted(s) = e
            && s.position == Position::Pro
        {
            *pro_counts
                .entry(s.node_id)
                .or_default()
                .entry(&s.author)
                .or_default() += 1;
        }
    }
    let mut ids: BTreeSet<Digest> = snaps.start.keys().copied().collect();
    ids.extend(snaps.close.keys());
    for c in &snaps.checkpoints {
        ids.extend(c.keys());
    }
    let mut r = Reconciliation::default();
    for id in ids {
        let ser = series(snaps, &id);
        let mut nov = 0.0f64;
        for w in ser.windows(2) {
            nov = py_max(nov, (w[1] - w[0]).abs());
        }
        let s0 = snaps.start.get(&id).copied().unwrap_or(0.0);
        let sc = snaps.close.get(&id).copied().unwrap_or(0.0);
        let node = world.node_by_id(&id);
        let n_factor = node.map_or(1.0, |n| world.nodes[n].n);
        let mut mint = 0.0;
        if sc > 0.0 && sc - s0 > 0.0 {
            let mut sum = 0.0;
            for v in &ser {
                sum += v;
            }
            let surv = (sum / ser.len() as f64 / sc).clamp(0.0, 1.0);
            mint = (sc - s0) * surv * n_factor;
        }
        if let Some(n) = node
            && gate_strength > 0.0
        {
            let v = violation(world, n);
            if v > 0.0 {
                r.node_violation.insert(id.to_hex(), v);
            }
            mint *= py_max(0.0, 1.0 - gate_strength * v);
        }
        if mint > 0.0 {
            r.node_mint.insert(id.to_hex(), mint);
        }
        if nov > 0.0 {
            r.node_novelty.insert(id.to_hex(), nov);
        }
        if mint <= 0.0 && nov <= 0.0 {
            continue;
        }
        // Attribution over ν's subtree.
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        if let Some(start) = node {
            let mut seen = HashSet::new();
            let mut queue = std::collections::VecDeque::from([start]);
            while let Some(x) = queue.pop_front() {
                if !seen.insert(x) {
                    continue;
                }
                if let Some(c) = pro_counts.get(&world.nodes[x].id) {
                    for (a, k) in c {
                        *counts.entry(a).or_default() += k;
                    }
                }
                queue.extend(
                    world.nodes[x]
                        .pro
                        .iter()
                        .chain(&world.nodes[x].con)
                        .copied(),
                );
            }
        }
        let total: u64 = counts.values().sum();
        if total == 0 {
            *r.agent_mint.entry(UNATTRIBUTED.to_string()).or_default() += mint;
            *r.agent_novelty.entry(UNATTRIBUTED.to_string()).or_default() += nov;
            continue;
        }
        for (a, k) in counts {
            let share = k as f64 / total as f64;
            let weight = agent_weights.get(a).copied().unwrap_or(1.0);
            *r.agent_mint.entry(a.to_string()).or_default() += mint * share * weight;
            *r.agent_novelty.entry(a.to_string()).or_default() += nov * share;
        }
    }
    r.total_mint = r.agent_mint.values().sum();
    r.total_novelty = r.agent_novelty.values().sum();
    r
}

/// Scales the mint to an emission pool (apply after the gate): every agent's and node's mint is
/// multiplied by pool / raw, where raw is the total mint (the `_unattributed` share included, and
/// left unpaid). The pool must come from canonical data (emission rate × anchored epoch duration).
/// With raw ≤ 0 nothing is scaled.
pub fn apply_emission_pool(r: &mut Reconciliation, pool: f64) {
    let raw: f64 = r.agent_mint.values().sum();
    r.raw_mint_total = Some(raw);
    r.emission_pool = Some(pool);
    if raw <= 0.0 || !pool.is_finite() {
        return;
    }
    let scale = pool / raw;
    r.agent_mint.values_mut().for_each(|m| *m *= scale);
    r.node_mint.values_mut().for_each(|m| *m *= scale);
    r.total_mint = r.agent_mint.values().sum();
}

/// The mint list for the mint root: (agent, WAD amount) for every paid agent with a positive
/// amount, sorted by agent. Amounts are ⌊mint · 1e18⌋ (one IEEE multiplication, then truncation).
pub fn mint_list(r: &Reconciliation) -> Vec<MintEntry> {
    r.agent_mint
        .iter()
        .filter(|(a, _)| a.as_str() != UNATTRIBUTED)
        .filter_map(|(a, &m)| {
            let wad = m * WAD;
            // `as` truncates toward zero and saturates; non-positive and NaN map to 0.
            let amount = if wad.is_finite() && wad > 0.0 {
                wad as u128
            } else {
                0
            };
            (amount > 0).then(|| MintEntry {
                agent: a.clone(),
                amount,
            })
        })
        .collect()
}
