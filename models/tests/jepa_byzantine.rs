//! Five VL-JEPA solvers (tiny config, CPU), one Byzantine: robust rules keep the held-out loss
//! within 5% of FedAvg over the four honest solvers; plain FedAvg over all five degrades.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common_vl;

use autonet_models::aggregate::{Rule, Update, aggregate, fedavg};
use autonet_models::jepa::data::committed_digits;
use autonet_models::jepa::rng::Rng;
use autonet_models::jepa::{
    Device, GraphSource, ParamSet, TrainState, VlBatch, VlJepa, WeightDelta,
};

const STEPS_PER_SOLVER: usize = 8;

#[derive(Debug, Clone, Copy)]
enum Attack {
    /// Its own honest delta × −10.
    ScaledMinusTen,
    /// The sign-flipped sum of the four honest deltas (an attacker who sees the others'
    /// updates and cancels them under plain averaging).
    SignFlip,
    /// Its own honest delta × −1. Under plain FedAvg this only shortens the step (the test
    /// prints the effect but does not require a degradation).
    OwnSignFlip,
    /// Gaussian noise with 10× the norm of its honest delta.
    Noise,
}

fn corrupt(attack: Attack, honest: &[f64], others: &[Update], rng: &mut Rng) -> Vec<f64> {
    match attack {
        Attack::ScaledMinusTen => honest.iter().map(|x| -10.0 * x).collect(),
        Attack::SignFlip => (0..honest.len())
            .map(|j| -others.iter().map(|u| u.delta[j]).sum::<f64>())
            .collect(),
        Attack::OwnSignFlip => honest.iter().map(|x| -x).collect(),
        Attack::Noise => {
            let noise: Vec<f64> = honest.iter().map(|_| rng.normal()).collect();
            let scale = 10.0
                * WeightDelta {
                    values: honest.to_vec(),
                }
                .norm()
                / WeightDelta {
                    values: noise.clone(),
                }
                .norm();
            noise.iter().map(|x| x * scale).collect()
        }
    }
}

#[test]
fn robust_rules_resist_one_byzantine_solver_of_five() {
    let source = GraphSource::parse("tiny").unwrap();
    let mut vl = VlJepa::new(&source, Device::Cpu, 21).unwrap();
    let base = vl.state.params.clone();
    let base_target = vl.target.clone();
    let (train, held_out) = committed_digits().unwrap();
    let b = vl.config.batch;
    let mut rng = Rng::new(99);
    let eval = common_vl::eval_batches(&vl, &held_out, 4, &mut rng);

    // Each solver trains from the base on its own shard of the training set.
    let shard = train.len() / 5;
    let mut honest = Vec::new();
    for solver in 0..5 {
        vl.state = TrainState::new(base.clone());
        vl.target = base_target.clone();
        let mut rng = Rng::new(1000 + solver as u64);
        let digits = &train[solver * shard..(solver + 1) * shard];
        for _ in 0..STEPS_PER_SOLVER {
            let picked: Vec<_> = (0..b).map(|_| &digits[rng.below(digits.len())]).collect();
            vl.step(&VlBatch::new(&picked, &vl.config, None, &mut rng))
                .unwrap();
        }
        let delta = vl.state.params.delta_from(&base).unwrap();
        honest.push(Update {
            delta: delta.values,
            samples: (STEPS_PER_SOLVER * b) as u64,
        });
    }
    vl.target = base_target;
    let mut held_out_loss = |delta: &[f64]| -> f64 {
        let params: ParamSet = base
            .apply(&WeightDelta {
                values: delta.to_vec(),
            })
            .unwrap();
        eval.iter()
            .map(|batch| vl.evaluate(&params, batch).unwrap().loss)
            .sum::<f64>()
            / eval.len() as f64
    };
    let base_loss = held_out_loss(&vec![0.0; base.data.len()]);
    let honest_loss = held_out_loss(&fedavg(&honest[..4]).unwrap());
    let norms: Vec<f64> = honest
        .iter()
        .map(|u| {
            WeightDelta {
                values: u.delta.clone(),
            }
            .norm()
        })
        .collect();
    eprintln!(
        "update norms {norms:.3?}; held-out loss: base {base_loss:.4}, honest FedAvg(4) {honest_loss:.4}"
    );
    assert!(
        honest_loss < base_loss,
        "honest training did not help: {base_loss} -> {honest_loss}"
    );

    let rules = [
        ("trimmed mean", Rule::TrimmedMean { trim: 1 }),
        ("median", Rule::Median),
        ("Multi-Krum", Rule::MultiKrum { f: 1 }),
        ("CenteredClip", Rule::CENTERED_CLIP),
    ];
    let mut rng = Rng::new(4242);
    for attack in [
        Attack::ScaledMinusTen,
        Attack::SignFlip,
        Attack::OwnSignFlip,
        Attack::Noise,
    ] {
        let mut updates = honest.clone();
        updates[4].delta = corrupt(attack, &honest[4].delta, &honest[..4], &mut rng);
        let plain = held_out_loss(&fedavg(&updates).unwrap());
        eprintln!(
            "{attack:?}: FedAvg(5) {plain:.4} ({:+.1}% vs honest)",
            100.0 * (plain / honest_loss - 1.0)
        );
        assert!(
            matches!(attack, Attack::OwnSignFlip) || plain > honest_loss * 1.05,
            "{attack:?}: plain FedAvg over five did not degrade ({plain} vs {honest_loss})"
        );
        for (name, rule) in rules {
            let loss = held_out_loss(&aggregate(rule, &updates).unwrap());
            eprintln!(
                "{attack:?}: {name} {loss:.4} ({:+.1}%)",
                100.0 * (loss / honest_loss - 1.0)
            );
            assert!(
                (loss - honest_loss).abs() <= 0.05 * honest_loss,
                "{attack:?}: {name} gives {loss}, honest FedAvg {honest_loss}"
            );
        }
    }
}
