//! The pure core end to end on the shipped traces: assignment, training, verification by
//! recompute (honest, copied, garbage), scoring, settlement and aggregation into a mint list.

use alloy::primitives::{Address, B256, U256};
use autonet_contracts::consensus::{self, WAD};

use crate::assign::slice_of;
use crate::data::{draw, held_out_turns, training_turns};
use crate::mint::MintList;
use crate::model::{Accepted, Substrate, TrainingModel};
use crate::score::{Verdict, acceptance_threshold, score};

#[test]
fn an_epoch_on_the_shipped_traces() {
    let model = Substrate::new().unwrap();
    let base = model.genesis();
    let seed = B256::repeat_byte(42);
    let batch = draw(&training_turns(), seed, 12);
    let held = draw(&held_out_turns(), seed, 4);
    let solvers: Vec<Address> = (1..=3u8).map(Address::repeat_byte).collect();
    let slices: Vec<Vec<String>> = solvers
        .iter()
        .map(|s| slice_of(seed, *s, &batch, 4))
        .collect();
    let bundles: Vec<Vec<u8>> = solvers
        .iter()
        .zip(&slices)
        .map(|(s, slice)| model.train(&base, slice, 1, &s.to_string()).unwrap())
        .collect();
    // Honest bundles verify; a copy of a neighbour's bundle and garbage do not.
    let verdicts: Vec<Verdict> = (0..3)
        .map(|i| {
            model
                .verify(
                    &base,
                    &slices[i],
                    1,
                    &solvers[i].to_string(),
                    &bundles[i],
                    &held,
                )
                .unwrap()
        })
        .collect();
    assert!(verdicts.iter().all(|v| matches!(v, Verdict::Valid { .. })));
    let copy = model
        .verify(
            &base,
            &slices[1],
            1,
            &solvers[1].to_string(),
            &bundles[0],
            &held,
        )
        .unwrap();
    assert!(matches!(copy, Verdict::Invalid(_)), "{copy:?}");
    let garbage = model
        .verify(
            &base,
            &slices[1],
            1,
            &solvers[1].to_string(),
            b"not a bundle",
            &held,
        )
        .unwrap();
    assert!(matches!(garbage, Verdict::Invalid(_)));
    // Solver 1 copied: honest coordinators score it 0. The consensus rule, as
    // `ResultsRewards.finalize` runs it, pays the other two and leaves solver 1 at consensus 0
    // (which the contract slashes as `invalid-solution`); no honest coordinator dissents.
    let scores = vec![score(&verdicts[0]), score(&copy), score(&verdicts[2])];
    let (solver_pool, coordinator_pool) = (U256::from(30) * WAD, U256::from(3) * WAD);
    let out = consensus::run(
        &[U256::from(500) * WAD; 3],
        &[scores.clone(), scores.clone(), scores],
        acceptance_threshold(),
        solver_pool,
        coordinator_pool,
    )
    .unwrap();
    assert_eq!(out.accepted, [true, false, true]);
    assert!(out.consensus[1].is_zero());
    assert!(out.solver_rewards[0] > U256::ZERO && out.solver_rewards[2] > U256::ZERO);
    assert!(out.solver_rewards[1].is_zero());
    assert!(out.solver_rewards.iter().fold(U256::ZERO, |a, r| a + *r) <= solver_pool);
    assert_eq!(out.dissent, [false; 3]);
    assert!(out.coordinator_fees.iter().all(|f| *f > U256::ZERO));
    // Aggregation of the accepted bundles is order-independent and mints only to them.
    let acc = |i: usize| Accepted {
        author: solvers[i].to_string(),
        slice: slices[i].clone(),
        epochs: 1,
        solution: bundles[i].clone(),
    };
    let agg = model.aggregate(&base, &[acc(0), acc(2)]).unwrap();
    let again = model.aggregate(&base, &[acc(2), acc(0)]).unwrap();
    assert_eq!(agg.model, again.model);
    let list = MintList::from_agents(1, &agg.mint).unwrap();
    assert!(
        list.pairs()
            .iter()
            .all(|(a, _)| *a == solvers[0] || *a == solvers[2])
    );
    assert_ne!(agg.model, base);
}

/// Several epochs of three solvers each: every published world decodes again (the next epoch's
/// base), with overlapping slices that co-parent the same content-addressed nodes.
#[test]
fn merged_worlds_stay_valid_across_epochs() {
    use autonet_models::substrate::World;
    let model = Substrate::new().unwrap();
    let mut base = model.genesis();
    for epoch in 0..4u8 {
        let seed = B256::repeat_byte(epoch + 1);
        let batch = draw(&training_turns(), seed, 16);
        let mut accepted = Vec::new();
        for s in (1..=3u8).map(Address::repeat_byte) {
            let slice = slice_of(seed, s, &batch, 4);
            let solution = model.train(&base, &slice, 1, &s.to_string()).unwrap();
            accepted.push(Accepted {
                author: s.to_string(),
                slice,
                epochs: 1,
                solution,
            });
        }
        let agg = model.aggregate(&base, &accepted).unwrap();
        let decoded = World::decode(&agg.model);
        assert!(decoded.is_ok(), "epoch {epoch}: {:?}", decoded.err());
        assert!(!agg.mint.is_empty() || epoch > 0);
        base = agg.model;
    }
}
