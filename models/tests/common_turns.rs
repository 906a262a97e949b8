//! Turn streams of the prototype's acceptance scenarios (reference §6) and golden values (§11).
#![allow(dead_code)]

use serde_json::{Value, json};

/// (label, life, self_pres, intel, evo)
fn turns(rows: &[(&str, f64, f64, f64, f64)]) -> Vec<Value> {
    rows.iter()
        .map(|(label, l, s, i, e)| {
            json!({"label": label, "life_impact": l, "self_pres_impact": s,
                   "intelligence_impact": i, "evolution_impact": e})
        })
        .collect()
}

/// The vertical slice's 8 training turns (§6.2).
pub fn e2e_turns() -> Vec<Value> {
    turns(&[
        ("user-confirmed risky operation", 0.0, 0.0, 0.4, 0.6),
        ("explained complex concept clearly", 0.0, 0.0, 0.9, 0.3),
        ("preserved user data via backup", 0.0, 0.7, 0.0, 0.0),
        ("refused unsafe medical advice", 0.8, 0.0, 0.2, 0.0),
        ("improved system architecture", 0.0, 0.3, 0.5, 0.8),
        ("ignored user pause request", 0.0, -0.1, -0.4, -0.5),
        ("fact-checked claim before acting", 0.1, 0.0, 0.7, 0.2),
        (
            "destroyed working code without backup",
            0.0,
            -0.6,
            -0.3,
            -0.4,
        ),
    ])
}

/// Held-out turn of the vertical slice.
pub fn e2e_held_out() -> Vec<Value> {
    turns(&[("held out", 0.1, 0.2, 0.7, 0.3)])
}

/// Solver A of §6.3: (intel, evo).
pub fn recon_a() -> Vec<Value> {
    turns(&[
        ("a0", 0.0, 0.0, 0.8, 0.5),
        ("a1", 0.0, 0.0, 0.4, 0.7),
        ("a2", 0.0, 0.0, 0.7, 0.6),
        ("a3", 0.0, 0.0, 0.6, 0.5),
    ])
}

/// Solver B of §6.3: self_pres.
pub fn recon_b() -> Vec<Value> {
    turns(&[
        ("b0", 0.0, 0.7, 0.0, 0.0),
        ("b1", 0.0, 0.6, 0.0, 0.0),
        ("b2", 0.0, 0.5, 0.0, 0.0),
    ])
}

/// Solver C of §6.3: negative self_pres (a CON contributor).
pub fn recon_c() -> Vec<Value> {
    turns(&[("c0", 0.0, -0.6, 0.0, 0.0), ("c1", 0.0, -0.8, 0.0, 0.0)])
}

/// The SHARED turn of §6.4.
pub fn shared_turn() -> Value {
    turns(&[("wrote a comprehensive ADR", 0.0, 0.0, 0.8, 0.6)]).remove(0)
}

pub fn converge_a() -> Vec<Value> {
    vec![
        shared_turn(),
        turns(&[("fixed a regression", 0.0, 0.0, 0.3, 0.5)]).remove(0),
    ]
}

pub fn converge_b() -> Vec<Value> {
    vec![
        shared_turn(),
        turns(&[("added integration tests", 0.0, 0.0, 0.5, 0.7)]).remove(0),
    ]
}
