//! Inference with a world model.
//!
//! Alignment mode (turn-shaped input): the turns are observed, the world equilibrates (8 rounds),
//! and the softmax of the root scores (max subtracted first, `libm::exp`) gives the probabilities;
//! the prediction is the first root with the highest score. General mode: the world equilibrates
//! (4 rounds) and the region nearest the query's coordinates is rendered: the closest sub-claims
//! with their scores and up to three children each. (The prototype's general mode chains a keyword
//! and coordinate locator; this one locates by coordinates only.)

use serde::Serialize;
use serde_json::Value;

use super::equilibrate::{GENERAL_ROUNDS, TOLERANCE, TRAIN_ROUNDS};
use super::error::{Result, SubstrateError};
use super::turn::{IMPACT_FIELDS, TurnEmbedder, turn_to_observation};
use super::vector;
use super::world::World;

/// Keys that make an input turn-shaped (alignment mode).
const TURN_KEYS: [&str; 6] = [
    "turn",
    "turns",
    "tool_calls",
    "tool_call",
    "tool",
    "command",
];

/// How many sub-claims general mode renders, and children per sub-claim.
const REGION_SIZE: usize = 5;
const CHILDREN_PER_NODE: usize = 3;

/// An inference answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inference {
    /// `alignment` (turn-shaped input) or `general`.
    pub mode: &'static str,
    /// Alignment mode: the index of the best-scoring root, in charter order; else empty.
    pub predictions: Vec<usize>,
    /// Alignment mode: one softmax over the root scores; else empty.
    pub probabilities: Vec<Vec<f64>>,
    /// Net score of every root after equilibration, as (root id, score) in charter order.
    pub root_scores: Vec<(String, f64)>,
    /// Alignment mode: the predicted root's id.
    pub aligned_principle: Option<String>,
    /// Alignment mode: the predicted root's thesis.
    pub principle_thesis: Option<String>,
    /// General mode: the sub-claims nearest the query; else empty.
    pub structure: Vec<RenderedNode>,
}

/// One rendered sub-claim of general mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenderedNode {
    /// Node id (hex).
    pub id: String,
    /// The sub-claim's text.
    pub content: String,
    /// Its net score after equilibration.
    pub score: f64,
    /// Text of up to three children, PRO before CON.
    pub children: Vec<String>,
}

/// Whether the input is turn-shaped.
pub fn is_turn_shaped(input: &Value) -> bool {
    let Value::Object(m) = input else {
        return false;
    };
    TURN_KEYS
        .iter()
        .chain(IMPACT_FIELDS.iter())
        .any(|k| m.contains_key(*k))
}

/// The turns of a turn-shaped input: `turns` (a list), `turn` (one), or the input itself.
fn turns_of(input: &Value) -> Result<Vec<Value>> {
    match input.get("turns") {
        Some(Value::Array(a)) => return Ok(a.clone()),
        Some(_) => return Err(SubstrateError::InvalidTurn("`turns` must be a list".into())),
        None => {}
    }
    Ok(vec![
        input.get("turn").cloned().unwrap_or_else(|| input.clone()),
    ])
}

/// Softmax with the maximum subtracted first.
pub fn softmax(v: &[f64]) -> Vec<f64> {
    let m = v
        .iter()
        .fold(f64::NEG_INFINITY, |a, &b| vector::py_max(a, b));
    let e: Vec<f64> = v.iter().map(|x| libm::exp(x - m)).collect();
    let mut s = 0.0;
    for x in &e {
        s += x;
    }
    e.iter().map(|x| x / s).collect()
}

/// Runs inference on a copy of `world`.
pub fn infer(world: &World, input: &Value, embedder: &dyn TurnEmbedder) -> Result<Inference> {
    let mut w = world.clone();
    w.clear_observations();
    let dim = w.charter.dim();
    if is_turn_shaped(input) {
        for (i, t) in turns_of(input)?.iter().enumerate() {
            w.add_observation(turn_to_observation(t, i as u64, dim, embedder)?)?;
        }
        w.equilibrate(TRAIN_ROUNDS, TOLERANCE)?;
        let root_scores = w.root_scores();
        let scores: Vec<f64> = root_scores.iter().map(|(_, s)| *s).collect();
        let probs = softmax(&scores);
        let mut pred = 0;
        for (i, s) in scores.iter().enumerate() {
            if *s > scores[pred] {
                pred = i;
            }
        }
        let root = &w.tendencies[pred];
        return Ok(Inference {
            mode: "alignment",
            predictions: vec![pred],
            probabilities: vec![probs],
            aligned_principle: Some(root.id.clone()),
            principle_thesis: Some(root.thesis.clone()),
            root_scores,
            structure: Vec::new(),
        });
    }
    w.equilibrate(GENERAL_ROUNDS, TOLERANCE)?;
    let query = embedder.embed(input, dim)?;
    super::charter::check_coords("query coordinates", &query, dim)?;
    let mut cands: Vec<(f64, usize)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for t in &w.tendencies {
        for &n in &t.index {
            if n != t.root && seen.insert(n) {
                cands.push((vector::euclid_sq(&query, &w.nodes[n].anchor), n));
            }
        }
    }
    cands.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let structure = cands
        .iter()
        .take(REGION_SIZE)
        .map(|&(_, n)| {
            let node = &w.nodes[n];
            RenderedNode {
                id: node.id.to_hex(),
                content: node.content.clone(),
                score: w.net_score(n),
                children: node
                    .pro
                    .iter()
                    .chain(&node.con)
                    .take(CHILDREN_PER_NODE)
                    .map(|&c| w.nodes[c].content.clone())
                    .collect(),
            }
        })
        .collect();
    Ok(Inference {
        mode: "general",
        predictions: Vec::new(),
        probabilities: Vec::new(),
        root_scores: w.root_scores(),
        aligned_principle: None,
        principle_thesis: None,
        structure,
    })
}
