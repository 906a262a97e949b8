//! Two protocol epochs of VL-JEPA (tiny config, CPU) through the pure library functions:
//! solvers train their deterministic slices from the global model, coordinators re-evaluate
//! each content-addressed delta on the held-out batch and accept honest claims within the
//! tolerance, a tampered delta and a delta under a wrong id are refused, the aggregator merges
//! the accepted deltas with a robust rule, and the held-out loss falls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autonet_models::aggregate::Rule;
use autonet_models::jepa::data::committed_digits;
use autonet_models::jepa::federated::{
    GlobalModel, aggregate_epoch, held_out_batch, held_out_loss, solve, solver_slice, verify,
};
use autonet_models::jepa::verify::{Tolerance, Verdict, encode_delta};
use autonet_models::jepa::{Device, GraphSource, VlJepa, WeightDelta};

#[test]
fn two_epochs_verify_aggregate_and_lower_held_out_loss() {
    let source = GraphSource::parse("tiny").unwrap();
    let (train, held_out) = committed_digits().unwrap();
    let mut solver_vl = VlJepa::new(&source, Device::Cpu, 3).unwrap();
    let mut coordinator_vl = VlJepa::new(&source, Device::Cpu, 3).unwrap();
    let mut model = GlobalModel {
        params: solver_vl.state.params.clone(),
        target: solver_vl.target.clone(),
    };
    let eval: Vec<_> = (0..4)
        .map(|i| held_out_batch(&coordinator_vl, &held_out, 100 + 16 * i, 5))
        .collect();
    let mean_loss = |vl: &mut VlJepa, m: &GlobalModel| {
        eval.iter()
            .map(|b| held_out_loss(vl, m, &m.params, b).unwrap())
            .sum::<f64>()
            / eval.len() as f64
    };
    let start = mean_loss(&mut coordinator_vl, &model);
    let solvers: [&[u8]; 3] = [b"solver-0", b"solver-1", b"solver-2"];
    let mut losses = vec![start];
    for epoch in 0..2u64 {
        let held = held_out_batch(&coordinator_vl, &held_out, 16 * epoch as usize, epoch);
        let mut accepted = Vec::new();
        for (i, who) in solvers.iter().enumerate() {
            let slice = solver_slice(epoch, who, train.len(), 256);
            let solution = solve(
                &mut solver_vl,
                &model,
                &train,
                &slice,
                6,
                100 + i as u64,
                &held,
            )
            .unwrap();
            let (verdict, delta) = verify(
                &mut coordinator_vl,
                &model,
                &solution,
                &held,
                Tolerance::default(),
            )
            .unwrap();
            assert!(matches!(verdict, Verdict::Accepted { .. }), "{verdict:?}");
            let delta = delta.unwrap();

            if i == 0 {
                // The same claim with the delta tripled is refused.
                let layout = coordinator_vl.model.layout.clone();
                let tripled = WeightDelta {
                    values: delta.values.iter().map(|v| 3.0 * v).collect(),
                };
                let mut forged = solution.clone();
                forged.wire = encode_delta(&tripled, &layout);
                forged.id = autonet_models::jepa::verify::delta_id(&tripled, &layout);
                let (verdict, _) = verify(
                    &mut coordinator_vl,
                    &model,
                    &forged,
                    &held,
                    Tolerance::default(),
                )
                .unwrap();
                assert!(matches!(verdict, Verdict::Rejected { .. }), "{verdict:?}");
                // A delta that does not hash to the committed id is refused outright.
                let mut swapped = forged.clone();
                swapped.id = solution.id;
                assert!(
                    verify(
                        &mut coordinator_vl,
                        &model,
                        &swapped,
                        &held,
                        Tolerance::default()
                    )
                    .unwrap_err()
                    .to_string()
                    .contains("content id")
                );
            }
            accepted.push((delta, solution.samples));
        }
        model = aggregate_epoch(&model, &accepted, Rule::Median, 0.99).unwrap();
        losses.push(mean_loss(&mut coordinator_vl, &model));
    }
    eprintln!("held-out loss by epoch: {losses:.4?}");
    assert!(
        losses[2] < losses[0],
        "two epochs did not lower the held-out loss: {losses:?}"
    );
}
