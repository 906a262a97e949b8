//! A solver's content-addressed delta is re-evaluated by a coordinator on the held-out batch:
//! the honest claim is accepted within the tolerance, a tampered delta is rejected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autonet_models::jepa::data::committed_digits;
use autonet_models::jepa::rng::Rng;
use autonet_models::jepa::verify::{
    Tolerance, Verdict, candidate, decode_delta, delta_id, encode_delta, judge,
};
use autonet_models::jepa::{Device, GraphSource, VlBatch, VlJepa, WeightDelta};

#[test]
fn coordinator_accepts_honest_claims_and_rejects_tampered_deltas() {
    let source = GraphSource::parse("tiny").unwrap();
    let (train, held_out) = committed_digits().unwrap();
    // Solver and coordinator start from the same published base (same seed).
    let mut solver = VlJepa::new(&source, Device::Cpu, 12).unwrap();
    let mut coordinator = VlJepa::new(&source, Device::Cpu, 12).unwrap();
    let base = solver.state.params.clone();
    let b = solver.config.batch;
    let held = VlBatch::new(
        &held_out[..b].iter().collect::<Vec<_>>(),
        &solver.config,
        None,
        &mut Rng::new(77),
    );

    let mut rng = Rng::new(1);
    for _ in 0..5 {
        let picked: Vec<_> = (0..b).map(|_| &train[rng.below(train.len())]).collect();
        solver
            .step(&VlBatch::new(&picked, &solver.config, None, &mut rng))
            .unwrap();
    }
    let delta = solver.state.params.delta_from(&base).unwrap();
    solver.target = base.clone(); // the held-out loss is judged against the base's target
    let claimed = solver
        .evaluate(&solver.state.params.clone(), &held)
        .unwrap()
        .loss;
    let wire = encode_delta(&delta, &solver.model.layout);
    let id = delta_id(&delta, &solver.model.layout);

    let layout = coordinator.model.layout.clone();
    let received = decode_delta(&wire, &layout).unwrap();
    assert_eq!(delta_id(&received, &layout), id);
    let measured = coordinator
        .evaluate(&candidate(&base, &received).unwrap(), &held)
        .unwrap()
        .loss;
    assert!(
        matches!(
            judge(claimed, measured, Tolerance::default()),
            Verdict::Accepted { .. }
        ),
        "{claimed} vs {measured}"
    );

    let tampered = WeightDelta {
        values: received.values.iter().map(|v| 3.0 * v).collect(),
    };
    let measured = coordinator
        .evaluate(&candidate(&base, &tampered).unwrap(), &held)
        .unwrap()
        .loss;
    assert!(
        matches!(
            judge(claimed, measured, Tolerance::default()),
            Verdict::Rejected { .. }
        ),
        "{claimed} vs {measured}"
    );
}
