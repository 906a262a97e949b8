//! Turns (JSON objects from an agent transcript) and how they become observations.
//!
//! A turn carrying any explicit impact field uses those six values as coordinates (missing ones
//! are 0); otherwise a [`TurnEmbedder`] scores it. The observation id is the content id of the
//! turn's canonical CBOR form (keys sorted, integers as integers, floats as bits), so the same
//! turn is the same observation on every peer and in every epoch.

use serde::Serialize;
use serde_json::Value;

use super::error::{Result, SubstrateError};
use super::ids::{self, Digest};
use super::world::Observation;

/// Impact fields in charter order.
pub const IMPACT_FIELDS: [&str; 6] = [
    "life_impact",
    "self_pres_impact",
    "intelligence_impact",
    "evolution_impact",
    "correctness_impact",
    "simplicity_impact",
];

/// Largest accepted turn, in bytes of canonical CBOR.
pub const MAX_TURN_BYTES: usize = 256 * 1024;

/// Maps a turn to charter coordinates. The keyword heuristic is the default; an LLM-based
/// embedder can implement this trait later (it must be deterministic to be verifiable).
pub trait TurnEmbedder {
    /// Coordinates of the turn, one per charter dimension.
    fn embed(&self, turn: &Value, dim: usize) -> Result<Vec<f64>>;
}

/// Canonical CBOR form of a JSON value.
#[derive(Serialize)]
enum Canon<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    FloatBits(u64),
    Str(&'a str),
    List(Vec<Canon<'a>>),
    Map(Vec<(&'a str, Canon<'a>)>),
}

fn canon(v: &Value) -> Canon<'_> {
    match v {
        Value::Null => Canon::Null,
        Value::Bool(b) => Canon::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Canon::Int(i)
            } else if let Some(u) = n.as_u64() {
                Canon::UInt(u)
            } else {
                Canon::FloatBits(n.as_f64().unwrap_or(f64::NAN).to_bits())
            }
        }
        Value::String(s) => Canon::Str(s),
        Value::Array(a) => Canon::List(a.iter().map(canon).collect()),
        Value::Object(m) => {
            let mut entries: Vec<_> = m.iter().map(|(k, v)| (k.as_str(), canon(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Canon::Map(entries)
        }
    }
}

/// Content id of a turn.
pub fn turn_id(turn: &Value) -> Digest {
    ids::content_id("autonet/substrate/turn/v1", &canon(turn))
}

/// Turn → observation (`turn_index` names unlabelled turns, as the prototype's `turn_{i}`).
pub fn turn_to_observation(
    turn: &Value,
    turn_index: u64,
    dim: usize,
    embedder: &dyn TurnEmbedder,
) -> Result<Observation> {
    let Value::Object(map) = turn else {
        return Err(SubstrateError::InvalidTurn(
            "a turn must be a JSON object".into(),
        ));
    };
    let size = ids::encode(&canon(turn)).len();
    if size > MAX_TURN_BYTES {
        return Err(SubstrateError::Oversized {
            what: "turn",
            got: size,
            limit: MAX_TURN_BYTES,
        });
    }
    let has_impact = IMPACT_FIELDS.iter().any(|f| map.contains_key(*f));
    let coords = if has_impact {
        let mut c = vec![0.0; dim];
        for (i, f) in IMPACT_FIELDS.iter().enumerate() {
            let Some(v) = map.get(*f) else { continue };
            let x = v.as_f64().ok_or_else(|| {
                SubstrateError::InvalidTurn(format!("impact field `{f}` is not a number: {v}"))
            })?;
            if i >= dim {
                return Err(SubstrateError::WrongDimension {
                    what: "turn impact fields",
                    expected: dim,
                    got: i + 1,
                });
            }
            c[i] = x;
        }
        c
    } else {
        embedder.embed(turn, dim)?
    };
    super::charter::check_coords("turn coordinates", &coords, dim)?;
    let label = match map.get("label") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => format!("turn_{turn_index}"),
    };
    Ok(Observation {
        id: turn_id(turn),
        coords,
        label,
    })
}
