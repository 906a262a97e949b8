//! Reference §11: the prototype's root scores, event counts and node counts, reproduced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common_turns;

use autonet_models::substrate::{EventCounts, World, solver, turn::TurnEmbedder};
use serde_json::Value;

struct NoEmbedder;
impl TurnEmbedder for NoEmbedder {
    fn embed(&self, _: &Value, _: usize) -> autonet_models::substrate::Result<Vec<f64>> {
        panic!("every test turn has explicit impact fields")
    }
}

fn check(
    turns: Vec<Value>,
    epochs: u32,
    total: usize,
    sprouts: usize,
    unique: usize,
    roots: &[f64],
) {
    let mut w = World::charter_v1();
    let bundle = solver::train(&mut w, &turns, epochs, "solver", &NoEmbedder).unwrap();
    let c = EventCounts::of(&bundle.events);
    let scores: Vec<f64> = w.root_scores().into_iter().map(|(_, s)| s).collect();
    eprintln!(
        "counts {c:?} unique {} roots {scores:?}",
        w.unique_node_count()
    );
    assert_eq!(c.prototype_total(), total, "events total");
    assert_eq!(c.sprouts, sprouts, "sprout events");
    assert_eq!(w.unique_node_count(), unique, "unique node ids");
    for (got, want) in scores.iter().zip(roots) {
        assert!(
            (got - want).abs() < 1e-6,
            "root scores {scores:?} vs {roots:?}"
        );
    }
}

#[test]
fn e2e_8_turns_2_epochs() {
    check(
        common_turns::e2e_turns(),
        2,
        64,
        48,
        14,
        &[762.0, 626.0, 431.0, 793.0, 864.0, 864.0],
    );
}

#[test]
fn run_a() {
    check(common_turns::recon_a(), 2, 32, 24, 10, &[133.0; 6]);
}

#[test]
fn run_b() {
    check(common_turns::recon_b(), 2, 24, 18, 9, &[98.0; 6]);
}

#[test]
fn run_c() {
    check(
        common_turns::recon_c(),
        2,
        16,
        12,
        8,
        &[56.0, -47.0, 56.0, 56.0, 56.0, 56.0],
    );
}

#[test]
fn run_ma_and_mb() {
    check(common_turns::converge_a(), 1, 14, 12, 8, &[69.0; 6]);
    check(common_turns::converge_b(), 1, 14, 12, 8, &[69.0; 6]);
}
