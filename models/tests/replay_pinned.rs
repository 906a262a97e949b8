//! World hash, bundle ids and root scores of a longer synthetic stream (`autonet substrate
//! sample`, 400 turns in tasks of 50, 2 epochs each), pinned from the engine before its replay
//! speed-ups: caching, memo reuse and flat lookups must not change a bit of any of them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use autonet_models::substrate::{World, ids, keyword::KeywordEmbedder, sample, solver};

#[test]
fn long_sample_stream_is_bit_identical_to_the_pinned_engine() {
    let turns = sample::synthetic_turns(9, 400);
    let emb = KeywordEmbedder::new().unwrap();
    let mut w = World::charter_v1();
    let mut bundle_ids = Vec::new();
    for task in turns.chunks(50) {
        let b = solver::train(&mut w, task, 2, "bench", &emb).unwrap();
        bundle_ids.push(b.id().to_hex());
    }
    assert_eq!(w.nodes.len(), 361);
    assert_eq!(w.unique_node_count(), 361);
    assert_eq!(
        w.hash().to_hex(),
        "e48cec0f812518a1266e9e26e856b127002be056dfee64391551b6dd3c260222"
    );
    assert_eq!(
        &ids::content_id("x", &bundle_ids).to_hex()[..16],
        "8279c7df57954dac"
    );
    let roots: Vec<String> = w
        .root_scores()
        .iter()
        .map(|(id, s)| format!("{id}={:016x}", s.to_bits()))
        .collect();
    assert_eq!(
        roots.join(","),
        "life_precious=40f4bdc000000000,self_preservation=c0a7460000000000,\
         promotion_of_intelligence=c0bd530000000000,evolution=c0e56f0000000000,\
         correctness=410ec0d000000000,simplicity=410ec0d000000000"
    );
}
