//! Settlement as `ResultsRewards.finalize/expire` performs it: credits by the consensus rule
//! (expected values from `consensus::run`), the slashes in the order the contract applies them
//! with their reasons, and the escrow refunded to the project.

use alloy::primitives::{Address, B256, U256};
use autonet_contracts::commitment::{ground_truth_commitment, solution_commitment};
use autonet_contracts::{
    Chain, Contracts, EmbeddedChain, ProtocolView, RewardEvent, Role, TaskInfo, TaskStatus,
    consensus,
};

use crate::embedded::fixture;
use crate::helpers::{Cast, advance_past, vote_round, wad_milli};
use crate::scenarios::{funded_project, stake_all, task_params};

const HELD_OUT: B256 = B256::repeat_byte(0x11);
const GT_SALT: B256 = B256::repeat_byte(0x22);

fn bundle(i: usize) -> B256 {
    B256::repeat_byte(0x40 + i as u8)
}
fn salt(i: usize) -> B256 {
    B256::repeat_byte(0x60 + i as u8)
}

/// A task where solvers `0..committed` commit and `0..revealed` reveal, the ground truth is
/// revealed if `ground_truth`; the chain is left in the vote phase. Returns the task, its
/// record and the block it was created after.
async fn task_to_votes(
    c: &Contracts<EmbeddedChain>,
    cast: &Cast,
    committed: usize,
    revealed: usize,
    ground_truth: bool,
) -> (U256, TaskInfo, u64) {
    stake_all(c, cast).await;
    let project = funded_project(c, cast).await;
    let from = c.block_number().await.unwrap();
    let params = task_params(project, ground_truth_commitment(HELD_OUT, GT_SALT));
    let task = c.create_task(cast.proposer, &params).await.unwrap();
    let info = c.task_info(task).await.unwrap();
    for (i, s) in cast.solvers.iter().enumerate().take(committed) {
        c.commit(*s, task, solution_commitment(bundle(i), salt(i), *s))
            .await
            .unwrap();
    }
    advance_past(c, info.commit_deadline).await;
    if ground_truth {
        c.reveal_ground_truth(cast.proposer, task, HELD_OUT, GT_SALT)
            .await
            .unwrap();
    }
    for (i, s) in cast.solvers.iter().enumerate().take(revealed) {
        c.reveal(*s, task, bundle(i), salt(i)).await.unwrap();
    }
    advance_past(c, info.reveal_deadline).await;
    (task, info, from)
}

/// The slashes of blocks `from..` as (account, amount, reason).
async fn slashes(c: &Contracts<EmbeddedChain>, from: u64) -> Vec<(Address, U256, String)> {
    let to = c.block_number().await.unwrap();
    c.reward_events(from, to)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            RewardEvent::Slashed {
                account,
                amount,
                reason,
                ..
            } => Some((account, amount, reason)),
            _ => None,
        })
        .collect()
}

fn tenth(role: Role) -> U256 {
    role.min_stake() / U256::from(10)
}

#[tokio::test]
async fn finalize_pays_by_consensus_slashes_invalid_dissent_and_silence_and_refunds_the_rest() {
    let (c, cast) = fixture().await;
    // Four solvers commit, three reveal; coordinators 0 and 1 agree, 2 dissents.
    let (task, info, from) = task_to_votes(&c, &cast, 4, 3, true).await;
    let (half, one, zero) = (wad_milli(500), wad_milli(1000), U256::ZERO);
    let scores = vec![
        vec![half, one, zero],
        vec![half, one, zero],
        vec![one, zero, one],
    ];
    let votes: Vec<_> = cast.coordinators.into_iter().zip(scores.clone()).collect();
    vote_round(&c, task, &votes).await.unwrap();
    advance_past(&c, info.vote_deadline).await;
    let (solver_pool, coordinator_pool) = (info.solver_reward, info.coordinator_reward);
    let expected = consensus::run(
        &[Role::Coordinator.min_stake(); 3],
        &scores,
        wad_milli(500),
        solver_pool,
        coordinator_pool,
    )
    .unwrap();
    assert_eq!(expected.accepted, [true, true, false]);
    assert!(expected.consensus[2].is_zero());
    assert_eq!(expected.dissent, [false, false, true]);
    let project_before = c.atn_balance(c.addresses.project).await.unwrap();

    c.finalize(cast.outsider, task).await.unwrap();
    assert_eq!(
        c.task_info(task).await.unwrap().status,
        TaskStatus::Finalized
    );
    let mut paid = U256::ZERO;
    for (j, s) in cast.solvers.iter().enumerate().take(3) {
        assert_eq!(c.claimable(*s).await.unwrap(), expected.solver_rewards[j]);
        paid += expected.solver_rewards[j];
    }
    assert!(expected.solver_rewards[0] > U256::ZERO && expected.solver_rewards[1] > U256::ZERO);
    assert_eq!(c.claimable(cast.solvers[3]).await.unwrap(), U256::ZERO);
    for (i, k) in cast.coordinators.iter().enumerate() {
        assert_eq!(c.claimable(*k).await.unwrap(), expected.coordinator_fees[i]);
        paid += expected.coordinator_fees[i];
    }
    assert_eq!(c.claimable(cast.coordinators[2]).await.unwrap(), U256::ZERO);
    assert_eq!(
        c.atn_balance(c.addresses.project).await.unwrap(),
        project_before + solver_pool + coordinator_pool - paid,
        "the unpaid escrow is refunded"
    );
    assert_eq!(
        slashes(&c, from).await,
        vec![
            (
                cast.solvers[2],
                tenth(Role::Solver),
                "invalid-solution".into()
            ),
            (
                cast.coordinators[2],
                tenth(Role::Coordinator),
                "dissent".into()
            ),
            (cast.solvers[3], tenth(Role::Solver), "no-reveal".into()),
        ]
    );
}

/// A task that cannot finalize (`votes` coordinators vote on solver 0's solution; fewer than
/// two) expires: the whole escrow goes back to the project, nobody is paid, and the slashes are
/// `expected` (given the task's solvers and proposer).
async fn expires(
    votes: usize,
    ground_truth: bool,
    expected: impl FnOnce(&Cast) -> Vec<(Address, U256, String)>,
) {
    let (c, cast) = fixture().await;
    // Two solvers commit, one reveals.
    let (task, info, from) = task_to_votes(&c, &cast, 2, 1, ground_truth).await;
    let votes: Vec<_> = cast.coordinators[..votes]
        .iter()
        .map(|k| (*k, vec![wad_milli(1000)]))
        .collect();
    vote_round(&c, task, &votes).await.unwrap();
    advance_past(&c, info.vote_deadline).await;
    assert!(c.finalize(cast.outsider, task).await.is_err());
    let project_before = c.atn_balance(c.addresses.project).await.unwrap();

    c.expire(cast.outsider, task).await.unwrap();
    assert_eq!(c.task_info(task).await.unwrap().status, TaskStatus::Expired);
    assert_eq!(
        c.atn_balance(c.addresses.project).await.unwrap(),
        project_before + info.solver_reward + info.coordinator_reward,
        "the whole escrow is refunded"
    );
    for who in [cast.solvers[0], cast.coordinators[0]] {
        assert_eq!(c.claimable(who).await.unwrap(), U256::ZERO);
    }
    assert_eq!(slashes(&c, from).await, expected(&cast));
}

#[tokio::test]
async fn one_vote_expires_and_slashes_the_silent_solver() {
    expires(1, true, |cast| {
        vec![(cast.solvers[1], tenth(Role::Solver), "no-reveal".into())]
    })
    .await;
}

#[tokio::test]
async fn no_ground_truth_expires_and_slashes_silent_solver_then_proposer() {
    // Votes need the ground truth: without it nobody can vote.
    expires(0, false, |cast| {
        vec![
            (cast.solvers[1], tenth(Role::Solver), "no-reveal".into()),
            (
                cast.proposer,
                tenth(Role::Proposer),
                "no-ground-truth".into(),
            ),
        ]
    })
    .await;
}
