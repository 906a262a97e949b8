//! Per-turn state dumps for the differential fuzzer (`scripts/fuzz-prototype`).
//!
//! The dump is engine-neutral so it can be compared line by line with what
//! `scripts/prototype-driver.py --trace` writes for the Python prototype: node ids differ between
//! the engines (BLAKE3 of CBOR here, sha256 of JSON there), so a node is keyed by its
//! content-address inputs written as Python reprs (`a=[0.5, -0.0] x=[1.0, 0.0]`) and a root by
//! `root:<tendency>`. Debug output only; nothing in the model depends on it.

use serde_json::{Map, Value, json};

use super::world::{NodeIdx, Poster, World};

/// Python `repr` of the floats the fuzzer uses (one-decimal coordinates, ±1/0 axes): Rust's
/// shortest round-trip `Debug` form agrees with it there (`0.1`, `1.0`, `-0.0`); exponents
/// (`1e-5` against `1e-05`) never occur in these keys.
fn py_float(x: f64) -> String {
    format!("{x:?}")
}

fn py_list(v: &[f64]) -> String {
    v.iter()
        .map(|x| py_float(*x))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The engine-neutral key of node `n`.
pub fn node_key(world: &World, n: NodeIdx) -> String {
    if let Some(t) = world.tendencies.iter().find(|t| t.root == n) {
        return format!("root:{}", t.id);
    }
    let node = &world.nodes[n];
    format!("a=[{}] x=[{}]", py_list(&node.anchor), py_list(&node.axis))
}

/// The world after one turn: root scores, every tree's index in order, and per node its net
/// score, posts (poster ids, sorted), novelty, parent links and child lists in order.
///
/// Scores are read roots first, then tree by tree in index order, as the prototype driver reads
/// them: with a cycle in the graph the net-score memo makes a value depend on which node was
/// computed first, so both sides must read in the same order.
pub fn trace_state(world: &World, epoch: u32, turn: usize) -> Value {
    let roots: Map<String, Value> = world
        .root_scores()
        .into_iter()
        .map(|(id, s)| (id, json!(s)))
        .collect();
    let mut trees = Map::new();
    let mut nodes = std::collections::BTreeMap::new();
    let mut key_of: Vec<Option<String>> = vec![None; world.nodes.len()];
    let mut key =
        |n: NodeIdx| -> String { key_of[n].get_or_insert_with(|| node_key(world, n)).clone() };
    for t in &world.tendencies {
        let keys: Vec<String> = t.index.iter().map(|&n| key(n)).collect();
        for (&n, k) in t.index.iter().zip(&keys) {
            if nodes.contains_key(k) {
                // Indexed in an earlier tree: same node, same data; read its score again so the
                // memo sees the same order of reads as the prototype driver's.
                world.net_score(n);
                continue;
            }
            let node = &world.nodes[n];
            let mut stakes: Vec<String> = node
                .stakes
                .iter()
                .map(|s| match &s.poster {
                    Poster::Tendency(p) => world.tendencies[*p].id.clone(),
                    Poster::Agent(a) => a.clone(),
                })
                .collect();
            stakes.sort();
            let parents: Vec<Value> = node
                .parents
                .iter()
                .map(|l| {
                    json!([
                        key(l.parent),
                        l.position.as_str(),
                        world.tendencies[l.tendency].id
                    ])
                })
                .collect();
            let pro: Vec<String> = node.pro.iter().map(|&c| key(c)).collect();
            let con: Vec<String> = node.con.iter().map(|&c| key(c)).collect();
            nodes.insert(
                k.clone(),
                json!({
                    "score": world.net_score(n),
                    "stakes": stakes,
                    "n": node.n,
                    "parents": parents,
                    "pro": pro,
                    "con": con,
                }),
            );
        }
        trees.insert(t.id.clone(), json!(keys));
    }
    json!({
        "epoch": epoch,
        "turn": turn,
        "roots": roots,
        "trees": trees,
        "nodes": nodes,
        "duplicate_objects": [],
    })
}
