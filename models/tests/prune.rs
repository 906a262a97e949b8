//! Pruning of settled sub-claims.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common_turns;

use autonet_models::substrate::{
    World,
    keyword::KeywordEmbedder,
    prune::{NOVELTY_THRESHOLD, SCORE_THRESHOLD, ScoreHistory},
    solver,
};

fn trained() -> World {
    let mut w = World::charter_v1();
    solver::train(
        &mut w,
        &common_turns::e2e_turns(),
        1,
        "s",
        &KeywordEmbedder::new().unwrap(),
    )
    .unwrap();
    w
}

#[test]
fn supported_sub_claims_are_kept() {
    let mut w = trained();
    let before = w.hash();
    assert!(
        w.prune_settled(SCORE_THRESHOLD, NOVELTY_THRESHOLD, None)
            .is_empty()
    );
    assert_eq!(w.unique_node_count(), trained().unique_node_count());
    assert_ne!(before, World::charter_v1().hash());
}

#[test]
fn settled_subtrees_leave_every_tree_and_the_world_keeps_working() {
    let mut w = trained();
    let roots = w.tendencies.len();
    let pruned = w.prune_settled(f64::INFINITY, f64::INFINITY, None);
    assert!(!pruned.is_empty());
    assert_eq!(w.unique_node_count(), roots);
    for t in &w.tendencies {
        assert_eq!(
            t.claims.len(),
            1,
            "only the root claim survives in {}",
            t.id
        );
    }
    // Still trains, and still round-trips through its encoding.
    solver::train(
        &mut w,
        &common_turns::recon_a(),
        1,
        "s",
        &KeywordEmbedder::new().unwrap(),
    )
    .unwrap();
    assert!(w.unique_node_count() > roots);
    let decoded = World::decode(&w.encode()).unwrap();
    assert_eq!(decoded.hash(), w.hash());
}

#[test]
fn a_moving_history_protects_a_node() {
    let mut w = trained();
    let mut history = ScoreHistory::default();
    history.record(&w);
    // Judged on a history whose scores are all tiny and still: settled.
    let quiet = ScoreHistory {
        snapshots: history
            .snapshots
            .iter()
            .map(|s| s.keys().map(|k| (*k, 0.01)).collect())
            .collect(),
    };
    let mut w2 = w.clone();
    assert!(
        !w2.prune_settled(SCORE_THRESHOLD, NOVELTY_THRESHOLD, Some(&quiet))
            .is_empty()
    );
    // The same small scores with a jump between snapshots: not settled.
    let mut moving = quiet.clone();
    moving
        .snapshots
        .push(quiet.snapshots[0].keys().map(|k| (*k, -0.04)).collect());
    assert!(
        w.prune_settled(SCORE_THRESHOLD, NOVELTY_THRESHOLD, Some(&moving))
            .is_empty()
    );
}
