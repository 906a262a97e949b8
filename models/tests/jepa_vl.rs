//! VL-JEPA on ONNX Runtime (tiny config, CPU): training lowers held-out loss without collapse,
//! the float64 gradient graph matches finite differences, deltas reproduce parameters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common_vl;

use autonet_models::jepa::data::committed_digits;
use autonet_models::jepa::probe::linear_probe_accuracy;
use autonet_models::jepa::rng::Rng;
use autonet_models::jepa::{Device, GraphSource, VlBatch, VlJepa};

#[test]
fn training_lowers_held_out_loss_without_collapse() {
    let source = GraphSource::parse("tiny").unwrap();
    let mut vl = VlJepa::new(&source, Device::Cpu, 7).unwrap();
    let (train, held_out) = committed_digits().unwrap();
    let b = vl.config.batch;
    let mut rng = Rng::new(11);
    let eval = common_vl::eval_batches(&vl, &held_out, 4, &mut rng);
    let eval_loss = |vl: &mut VlJepa| {
        let params = vl.state.params.clone();
        let parts: Vec<_> = eval
            .iter()
            .map(|batch| vl.evaluate(&params, batch).unwrap())
            .collect();
        let loss = parts.iter().map(|p| p.loss).sum::<f64>() / parts.len() as f64;
        let std = parts.iter().map(|p| p.embed_std).sum::<f64>() / parts.len() as f64;
        (loss, std)
    };
    let (before, std_before) = eval_loss(&mut vl);
    let base = vl.state.params.clone();
    for step in 0..60 {
        let picked: Vec<_> = (0..b).map(|_| &train[rng.below(train.len())]).collect();
        let batch = VlBatch::new(&picked, &vl.config, None, &mut rng);
        let parts = vl.step(&batch).unwrap();
        assert!(parts.loss.is_finite(), "step {step}: {parts:?}");
    }
    let (after, std_after) = eval_loss(&mut vl);
    eprintln!(
        "held-out loss {before:.4} -> {after:.4}; embed std {std_before:.3} -> {std_after:.3}"
    );
    assert!(
        after < before,
        "held-out loss did not fall: {before} -> {after}"
    );
    assert!(std_after > 0.3, "embeddings collapsed: std {std_after}");

    // Linear probe on the pooled plan with a caption that does not name the digit.
    let feats = |vl: &mut VlJepa, digits: &[autonet_models::jepa::data::Digit]| {
        let mut rng = Rng::new(3);
        let refs: Vec<_> = digits.iter().collect();
        let batch = VlBatch::new(&refs, &vl.config, Some("digit"), &mut rng);
        let params = vl.state.params.clone();
        (vl.pooled(&params, &batch).unwrap(), batch.labels)
    };
    let (train_x, train_y) = feats(&mut vl, &train[..600]);
    let (test_x, test_y) = feats(&mut vl, &held_out);
    let acc = linear_probe_accuracy(&train_x, &train_y, &test_x, &test_y, vl.config.dim, 10);
    eprintln!("linear probe accuracy {acc:.3} (chance 0.1)");
    assert!(acc >= 0.3, "linear probe {acc} below 3x chance");

    // The f64 delta applied to the base reproduces the new parameters within 1 ulp.
    let delta = vl.state.params.delta_from(&base).unwrap();
    let rebuilt = base.apply(&delta).unwrap();
    for (i, (&r, &n)) in rebuilt.data.iter().zip(&vl.state.params.data).enumerate() {
        let ulps = (r.to_bits() as i64 - n.to_bits() as i64).abs();
        assert!(r == n || ulps <= 1, "scalar {i}: rebuilt {r} vs new {n}");
    }
}
