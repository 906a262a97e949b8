//! One JEPA epoch through the [`TrainingModel`] interface (tiny graphs, CPU, ONNX Runtime from
//! `ORT_DYLIB_PATH` or the Python package, as `scripts/test` sets up): honest deltas verify,
//! garbage, a scaled delta and a neighbour's delta do not; aggregation is reproducible and mints
//! per sample; the merged model lowers the held-out loss.

use alloy::primitives::{Address, B256};

use crate::assign::slice_of;
use crate::data::draw;
use crate::jepa::{Jepa, MINT_PER_SAMPLE_WEI};
use crate::model::{Accepted, TrainingModel};
use crate::score::Verdict;
use autonet_models::jepa::verify::{decode_delta, encode_delta};

#[test]
fn a_jepa_epoch_verifies_honest_deltas_and_lowers_held_out_loss() {
    let model = Jepa::new().unwrap();
    let base = model.genesis();
    let seed = B256::repeat_byte(9);
    let batch = draw(&model.training_items(), seed, 256);
    let held = draw(&model.held_out_items(), seed, 32);
    let solvers: Vec<Address> = (1..=3u8).map(Address::repeat_byte).collect();
    let slices: Vec<Vec<String>> = solvers
        .iter()
        .map(|s| slice_of(seed, *s, &batch, 96))
        .collect();
    let deltas: Vec<Vec<u8>> = solvers
        .iter()
        .zip(&slices)
        .map(|(s, slice)| model.train(&base, slice, 1, &s.to_string()).unwrap())
        .collect();
    let verify = |i: usize, solution: &[u8]| {
        model
            .verify(
                &base,
                &slices[i],
                1,
                &solvers[i].to_string(),
                solution,
                &held,
            )
            .unwrap()
    };
    for (i, d) in deltas.iter().enumerate() {
        let v = verify(i, d);
        assert!(matches!(v, Verdict::Valid { .. }), "solver {i}: {v:?}");
    }
    // Garbage, a neighbour's delta and a tripled delta are refused.
    assert!(matches!(verify(0, b"garbage"), Verdict::Invalid(_)));
    assert!(matches!(verify(0, &deltas[1]), Verdict::Invalid(_)));
    let layout = model.layout().clone();
    let honest = decode_delta(&deltas[0], &layout).unwrap();
    let tripled = autonet_models::jepa::WeightDelta {
        values: honest.values.iter().map(|v| 3.0 * v).collect(),
    };
    let forged = encode_delta(&tripled, &layout);
    assert!(matches!(verify(0, &forged), Verdict::Invalid(_)));

    let accepted: Vec<Accepted> = (0..3)
        .map(|i| Accepted {
            author: solvers[i].to_string(),
            slice: slices[i].clone(),
            epochs: 1,
            solution: deltas[i].clone(),
        })
        .collect();
    let agg = model.aggregate(&base, &accepted).unwrap();
    let mut reversed = accepted.clone();
    reversed.reverse();
    assert_eq!(model.aggregate(&base, &reversed).unwrap().model, agg.model);
    assert_eq!(agg.mint.len(), 3);
    assert!(agg.mint.values().all(|&m| m == 96 * MINT_PER_SAMPLE_WEI));
    let before = model.held_out_loss(&base).unwrap().unwrap();
    let after = model.held_out_loss(&agg.model).unwrap().unwrap();
    assert!(after < before, "held-out loss {before} -> {after}");
    assert!(
        model
            .verify(b"not a model", &slices[0], 1, "x", &deltas[0], &held)
            .is_err()
    );
}
