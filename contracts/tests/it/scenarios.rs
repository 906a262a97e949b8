//! Scenario bodies, generic over the backend: the same code runs on the embedded EVM and anvil.

use alloy::primitives::{Address, B256, U256};
use autonet_contracts::bindings::{ParticipantStaking, Project, ResultsRewards, TaskContract};
use autonet_contracts::commitment::{
    ground_truth_commitment, solution_commitment, vote_commitment,
};
use autonet_contracts::consensus;
use autonet_contracts::merkle::{MerkleTree, mint_leaf};
use autonet_contracts::revert::{
    ParticipantStakingErrors, ProjectErrors, ResultsRewardsErrors, TaskContractErrors,
};
use autonet_contracts::{Backend, Chain, Contracts, Role, TaskParams, TaskStatus};

use crate::helpers::{Cast, advance_past, assert_revert, atn, vote_salt, wad_milli};

/// Every role stakes its minimum.
pub async fn stake_all<B: Backend>(c: &Contracts<B>, cast: &Cast) {
    c.stake(cast.proposer, Role::Proposer, Role::Proposer.min_stake())
        .await
        .unwrap();
    for s in cast.solvers {
        c.stake(s, Role::Solver, Role::Solver.min_stake())
            .await
            .unwrap();
    }
    for k in cast.coordinators {
        c.stake(k, Role::Coordinator, Role::Coordinator.min_stake())
            .await
            .unwrap();
    }
    c.stake(
        cast.aggregator,
        Role::Aggregator,
        Role::Aggregator.min_stake(),
    )
    .await
    .unwrap();
}

/// Creates and funds a project with threshold 0.5.
pub async fn funded_project<B: Backend>(c: &Contracts<B>, cast: &Cast) -> U256 {
    let id = c
        .create_project(cast.deployer, "world-model", wad_milli(500))
        .await
        .unwrap();
    c.fund_project(cast.deployer, id, atn(10_000))
        .await
        .unwrap();
    id
}

pub fn task_params(project_id: U256, gt_commit: B256) -> TaskParams {
    TaskParams {
        project_id,
        spec_hash: B256::repeat_byte(0x5e),
        ground_truth_commit: gt_commit,
        solver_reward: atn(300),
        coordinator_reward: atn(30),
        commit_blocks: 12,
        reveal_blocks: 12,
        vote_blocks: 12,
        epoch: 1,
    }
}

async fn total_stake<B: Backend>(c: &Contracts<B>, who: &[Address]) -> U256 {
    let mut sum = U256::ZERO;
    for a in who {
        sum += c.stake_of(*a).await.unwrap().amount;
    }
    sum
}

/// The full lifecycle of the acceptance list, with wrong, late and unstaked calls.
pub async fn lifecycle<B: Backend>(c: &Contracts<B>, cast: &Cast) {
    stake_all(c, cast).await;
    let project = funded_project(c, cast).await;
    let (held_out, gt_salt) = (B256::repeat_byte(0x11), B256::repeat_byte(0x22));
    let params = task_params(project, ground_truth_commitment(held_out, gt_salt));
    assert_revert!(
        c.create_task(cast.solvers[0], &params).await,
        TaskContractErrors::NotActive
    );
    let task = c.create_task(cast.proposer, &params).await.unwrap();
    let info = c
        .view(c.addresses.task, TaskContract::getTaskCall { taskId: task })
        .await
        .unwrap();

    // Commit: four solvers; the fourth will not reveal.
    let bundles: Vec<B256> = (1..=4u8).map(B256::repeat_byte).collect();
    let salts: Vec<B256> = (0x31..=0x34u8).map(B256::repeat_byte).collect();
    for i in 0..4 {
        let commitment = solution_commitment(bundles[i], salts[i], cast.solvers[i]);
        c.commit(cast.solvers[i], task, commitment).await.unwrap();
    }
    assert_revert!(
        c.commit(cast.solvers[0], task, B256::repeat_byte(9)).await,
        TaskContractErrors::AlreadyCommitted,
    );
    assert_revert!(
        c.commit(cast.outsider, task, B256::repeat_byte(9)).await,
        TaskContractErrors::NotActive,
    );
    assert_revert!(
        c.reveal(cast.solvers[0], task, bundles[0], salts[0]).await,
        TaskContractErrors::WrongPhase,
    );

    // Reveal phase.
    advance_past(c, info.commitDeadline).await;
    assert_revert!(
        c.commit(cast.proposer, task, B256::repeat_byte(9)).await,
        TaskContractErrors::WrongPhase,
    );
    assert_revert!(
        c.reveal_ground_truth(cast.solvers[0], task, held_out, gt_salt)
            .await,
        TaskContractErrors::NotProposer,
    );
    assert_revert!(
        c.reveal_ground_truth(cast.proposer, task, held_out, B256::ZERO)
            .await,
        TaskContractErrors::CommitmentMismatch,
    );
    c.reveal_ground_truth(cast.proposer, task, held_out, gt_salt)
        .await
        .unwrap();
    assert_revert!(
        c.reveal(cast.solvers[0], task, bundles[0], salts[1]).await,
        TaskContractErrors::CommitmentMismatch,
    );
    // Someone else's reveal of a copied commitment fails: the solver address is bound in.
    assert_revert!(
        c.reveal(cast.outsider, task, bundles[0], salts[0]).await,
        TaskContractErrors::NotCommitted,
    );
    for i in 0..3 {
        c.reveal(cast.solvers[i], task, bundles[i], salts[i])
            .await
            .unwrap();
    }
    assert_revert!(
        c.reveal(cast.solvers[0], task, bundles[0], salts[0]).await,
        TaskContractErrors::AlreadyRevealed,
    );
    assert_eq!(
        c.revealed_solvers(task).await.unwrap(),
        cast.solvers[..3].to_vec()
    );
    let commit_vote = |who: Address, scores: &[U256]| {
        let commitment = vote_commitment(task, who, scores, vote_salt(task, who));
        c.commit_vote(who, task, commitment)
    };
    assert_revert!(
        commit_vote(cast.coordinators[0], &[wad_milli(1); 3]).await,
        ResultsRewardsErrors::WrongPhase,
    );

    // Vote phase: two honest coordinators find solver 3's bundle invalid; the third dissents.
    // Votes are committed first and revealed once the commit window has closed.
    advance_past(c, info.revealDeadline).await;
    let votes = [
        vec![wad_milli(900), wad_milli(800), U256::ZERO],
        vec![wad_milli(800), wad_milli(900), U256::ZERO],
        vec![U256::ZERO, U256::ZERO, wad_milli(1000)],
    ];
    assert_revert!(
        commit_vote(cast.solvers[0], &votes[0]).await,
        ResultsRewardsErrors::NotActive
    );
    assert_revert!(
        c.commit_vote(cast.coordinators[0], task, B256::ZERO).await,
        ResultsRewardsErrors::ZeroCommitment,
    );
    for (k, v) in cast.coordinators.iter().zip(&votes) {
        commit_vote(*k, v).await.unwrap();
    }
    assert_revert!(
        commit_vote(cast.coordinators[0], &votes[0]).await,
        ResultsRewardsErrors::AlreadyVoted,
    );
    assert_revert!(
        c.reveal_vote(
            cast.coordinators[0],
            task,
            votes[0].clone(),
            vote_salt(task, cast.coordinators[0]),
        )
        .await,
        ResultsRewardsErrors::WrongPhase,
    );
    advance_past(c, info.voteCommitDeadline).await;
    assert_revert!(
        commit_vote(cast.coordinators[0], &votes[0]).await,
        ResultsRewardsErrors::WrongPhase,
    );
    let reveal =
        |who: Address, scores: Vec<U256>| c.reveal_vote(who, task, scores, vote_salt(task, who));
    assert_revert!(
        reveal(cast.coordinators[0], vec![wad_milli(1)]).await,
        ResultsRewardsErrors::WrongScoreCount,
    );
    assert_revert!(
        reveal(
            cast.coordinators[0],
            vec![wad_milli(1001), U256::ZERO, U256::ZERO],
        )
        .await,
        ResultsRewardsErrors::ScoreOutOfRange,
    );
    // A vote that differs from its commitment (copied late, or changed) is refused.
    assert_revert!(
        reveal(cast.coordinators[0], votes[1].clone()).await,
        ResultsRewardsErrors::CommitmentMismatch,
    );
    assert_revert!(
        reveal(cast.outsider, votes[0].clone()).await,
        ResultsRewardsErrors::NotCommitted,
    );
    for (k, v) in cast.coordinators.iter().zip(&votes) {
        reveal(*k, v.clone()).await.unwrap();
    }
    assert_revert!(
        reveal(cast.coordinators[0], votes[0].clone()).await,
        ResultsRewardsErrors::AlreadyVoted,
    );
    let d = c.addresses;
    let voters = c
        .view(d.rewards, ResultsRewards::getVotersCall { taskId: task })
        .await
        .unwrap();
    assert_eq!(voters, cast.coordinators.to_vec());
    let stored = ResultsRewards::getVoteCall {
        taskId: task,
        coordinator: cast.coordinators[2],
    };
    assert_eq!(c.view(d.rewards, stored).await.unwrap(), votes[2]);
    let snapshot = ResultsRewards::voteStakeCall {
        _0: task,
        _1: cast.coordinators[0],
    };
    assert_eq!(
        c.view(d.rewards, snapshot).await.unwrap(),
        Role::Coordinator.min_stake()
    );
    let committers = c
        .view(d.task, TaskContract::getCommittersCall { taskId: task })
        .await
        .unwrap();
    assert_eq!(committers, cast.solvers.to_vec());
    let posted = c
        .view(
            d.task,
            TaskContract::commitmentsCall {
                _0: task,
                _1: cast.solvers[3],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        posted,
        solution_commitment(bundles[3], salts[3], cast.solvers[3])
    );
    let revealed = TaskContract::revealedBundlesCall {
        _0: task,
        _1: cast.solvers[3],
    };
    assert_eq!(c.view(d.task, revealed).await.unwrap(), B256::ZERO);
    let close = TaskContract::closeTaskCall {
        taskId: task,
        status: TaskStatus::Finalized.into(),
    };
    assert_revert!(
        c.send(cast.outsider, d.task, close).await,
        TaskContractErrors::NotAuthorized
    );
    let refund = Project::refundTaskBudgetCall {
        projectId: project,
        amount: atn(1),
    };
    assert_revert!(
        c.send(cast.outsider, d.project, refund).await,
        ProjectErrors::NotAuthorized,
    );
    let threshold = Project::thresholdOfCall { projectId: project };
    assert_eq!(c.view(d.project, threshold).await.unwrap(), wad_milli(500));
    assert_revert!(
        c.finalize(cast.outsider, task).await,
        ResultsRewardsErrors::WrongPhase
    );
    advance_past(c, info.voteDeadline).await;
    assert_revert!(
        reveal(cast.coordinators[0], votes[0].clone()).await,
        ResultsRewardsErrors::WrongPhase,
    );
    assert_revert!(
        c.expire(cast.outsider, task).await,
        ResultsRewardsErrors::CanFinalize
    );

    // Expected outcome from the Rust consensus core.
    let stakes = vec![Role::Coordinator.min_stake(); 3];
    let expected = consensus::run(
        &stakes,
        &votes,
        wad_milli(500),
        params.solver_reward,
        params.coordinator_reward,
    )
    .unwrap();
    assert_eq!(expected.accepted, vec![true, true, false]);
    assert_eq!(expected.dissent, vec![false, false, true]);
    let everyone: Vec<Address> = cast
        .solvers
        .iter()
        .chain(cast.coordinators.iter())
        .copied()
        .chain([cast.proposer, cast.aggregator])
        .collect();
    let staked_before = total_stake(c, &everyone).await;
    c.finalize(cast.outsider, task).await.unwrap();
    assert_revert!(
        c.finalize(cast.outsider, task).await,
        ResultsRewardsErrors::TaskNotOpen
    );

    // Accepted solvers and honest coordinators are credited exactly; they claim once.
    for j in 0..2 {
        assert_eq!(
            c.claimable(cast.solvers[j]).await.unwrap(),
            expected.solver_rewards[j]
        );
        assert!(expected.solver_rewards[j] > U256::ZERO);
    }
    for i in 0..2 {
        assert_eq!(
            c.claimable(cast.coordinators[i]).await.unwrap(),
            expected.coordinator_fees[i]
        );
    }
    assert_eq!(c.claimable(cast.solvers[2]).await.unwrap(), U256::ZERO);
    assert_eq!(c.claimable(cast.coordinators[2]).await.unwrap(), U256::ZERO);
    let before = c.atn_balance(cast.solvers[0]).await.unwrap();
    c.claim(cast.solvers[0]).await.unwrap();
    assert_eq!(
        c.atn_balance(cast.solvers[0]).await.unwrap(),
        before + expected.solver_rewards[0]
    );
    assert_revert!(
        c.claim(cast.solvers[0]).await,
        ResultsRewardsErrors::NothingToClaim
    );
    assert_revert!(
        c.claim(cast.solvers[2]).await,
        ResultsRewardsErrors::NothingToClaim
    );
    for (i, k) in cast.coordinators.iter().enumerate() {
        let bond = c
            .view(c.addresses.rewards, ResultsRewards::bondsCall(*k))
            .await
            .unwrap();
        assert_eq!(
            bond,
            consensus::update_bond(U256::ZERO, expected.trust[i]),
            "bond of {i}"
        );
    }

    // Slashing: the non-revealing solver, the invalid solver and the dissenter lose 10%.
    let tenth = |x: U256| x - x / U256::from(10);
    assert_eq!(
        c.stake_of(cast.solvers[3]).await.unwrap().amount,
        tenth(Role::Solver.min_stake())
    );
    assert_eq!(
        c.stake_of(cast.solvers[2]).await.unwrap().amount,
        tenth(Role::Solver.min_stake())
    );
    assert_eq!(
        c.stake_of(cast.coordinators[2]).await.unwrap().amount,
        tenth(Role::Coordinator.min_stake())
    );
    assert_eq!(
        c.stake_of(cast.solvers[0]).await.unwrap().amount,
        Role::Solver.min_stake()
    );
    let slashed =
        Role::Solver.min_stake() / U256::from(5) + Role::Coordinator.min_stake() / U256::from(10);
    assert_eq!(total_stake(c, &everyone).await, staked_before - slashed);
    let on_chain_total = c
        .view(c.addresses.staking, ParticipantStaking::totalStakedCall {})
        .await
        .unwrap();
    assert_eq!(on_chain_total, total_stake(c, &everyone).await);

    mint_root(c, cast).await;
    unbonding(c, cast).await;
}

/// An epoch mint root confirmed by ≥ 2/3 of coordinator stake, claimed with proofs once.
pub async fn mint_root<B: Backend>(c: &Contracts<B>, cast: &Cast) {
    let epoch = U256::from(1);
    let model = B256::repeat_byte(0x4d);
    let entries = [
        (cast.solvers[0], atn(7)),
        (cast.solvers[1], atn(3)),
        (cast.proposer, atn(1)),
    ];
    let tree = MerkleTree::new(entries.iter().map(|(a, v)| mint_leaf(*a, *v)).collect()).unwrap();
    let root = tree.root();
    assert_revert!(
        c.post_mint_root(cast.solvers[0], epoch, root, atn(11), model)
            .await,
        ResultsRewardsErrors::NotActive,
    );
    assert_revert!(
        c.confirm_mint_root(cast.coordinators[0], epoch, root).await,
        ResultsRewardsErrors::UnknownMintRoot,
    );
    c.post_mint_root(cast.aggregator, epoch, root, atn(11), model)
        .await
        .unwrap();
    assert_revert!(
        c.post_mint_root(cast.aggregator, epoch, root, atn(11), model)
            .await,
        ResultsRewardsErrors::MintRootExists,
    );
    assert_revert!(
        c.claim_mint(cast.solvers[0], epoch, atn(7), tree.proof(0).unwrap())
            .await,
        ResultsRewardsErrors::EpochNotFinal,
    );
    assert_revert!(
        c.confirm_mint_root(cast.aggregator, epoch, root).await,
        ResultsRewardsErrors::NotActive,
    );
    c.confirm_mint_root(cast.coordinators[0], epoch, root)
        .await
        .unwrap();
    assert_revert!(
        c.confirm_mint_root(cast.coordinators[0], epoch, root).await,
        ResultsRewardsErrors::AlreadyConfirmed,
    );
    c.confirm_mint_root(cast.coordinators[1], epoch, root)
        .await
        .unwrap();
    // The dissenter was slashed below the coordinator minimum: no longer active.
    assert_revert!(
        c.confirm_mint_root(cast.coordinators[2], epoch, root).await,
        ResultsRewardsErrors::NotActive,
    );
    assert_revert!(
        c.post_mint_root(cast.aggregator, epoch, B256::repeat_byte(3), atn(1), model)
            .await,
        ResultsRewardsErrors::EpochFinal,
    );
    let before = c.atn_balance(cast.solvers[0]).await.unwrap();
    assert_revert!(
        c.claim_mint(cast.solvers[0], epoch, atn(8), tree.proof(0).unwrap())
            .await,
        ResultsRewardsErrors::InvalidProof,
    );
    c.claim_mint(cast.solvers[0], epoch, atn(7), tree.proof(0).unwrap())
        .await
        .unwrap();
    assert_eq!(
        c.atn_balance(cast.solvers[0]).await.unwrap(),
        before + atn(7)
    );
    assert_revert!(
        c.claim_mint(cast.solvers[0], epoch, atn(7), tree.proof(0).unwrap())
            .await,
        ResultsRewardsErrors::AlreadyClaimed,
    );
    assert_revert!(
        c.claim_mint(cast.outsider, epoch, atn(7), tree.proof(0).unwrap())
            .await,
        ResultsRewardsErrors::InvalidProof,
    );
    c.claim_mint(cast.proposer, epoch, atn(1), tree.proof(2).unwrap())
        .await
        .unwrap();
    let r = c.addresses.rewards;
    assert_eq!(
        c.view(r, ResultsRewards::finalMintRootCall(epoch))
            .await
            .unwrap(),
        root
    );
    let by = ResultsRewards::confirmedByCall {
        _0: epoch,
        _1: root,
        _2: cast.coordinators[1],
    };
    assert!(c.view(r, by).await.unwrap());
    assert!(
        c.view(
            r,
            ResultsRewards::mintClaimedCall {
                _0: epoch,
                _1: cast.proposer
            }
        )
        .await
        .unwrap()
    );
    assert!(
        !c.view(
            r,
            ResultsRewards::mintClaimedCall {
                _0: epoch,
                _1: cast.solvers[1]
            }
        )
        .await
        .unwrap()
    );
    let info = c
        .view(r, ResultsRewards::getMintRootCall { epoch, root })
        .await
        .unwrap();
    assert_eq!(
        (info.poster, info.total, info.claimed),
        (cast.aggregator, atn(11), atn(8))
    );
    // A root whose leaves promise more than its posted total cannot mint past the total.
    let big = MerkleTree::new(vec![mint_leaf(cast.solvers[1], atn(20))]).unwrap();
    let epoch2 = U256::from(2);
    settle_empty_epoch(c, cast, 2).await;
    c.post_mint_root(
        cast.aggregator,
        epoch2,
        big.root(),
        atn(5),
        B256::repeat_byte(0x4e),
    )
    .await
    .unwrap();
    c.confirm_mint_root(cast.coordinators[0], epoch2, big.root())
        .await
        .unwrap();
    c.confirm_mint_root(cast.coordinators[1], epoch2, big.root())
        .await
        .unwrap();
    let over = c
        .claim_mint(cast.solvers[1], epoch2, atn(20), big.proof(0).unwrap())
        .await;
    assert_revert!(over, ResultsRewardsErrors::MintExceedsRoot);
}

/// A task of `epoch` that nobody works on: the ground truth is revealed (no slash), then it expires.
async fn settle_empty_epoch<B: Backend>(c: &Contracts<B>, cast: &Cast, epoch: u64) {
    let (held_out, gt_salt) = (B256::repeat_byte(0x13), B256::repeat_byte(0x23));
    let params = TaskParams {
        epoch,
        ..task_params(U256::from(1), ground_truth_commitment(held_out, gt_salt))
    };
    let task = c.create_task(cast.proposer, &params).await.unwrap();
    let info = c
        .view(c.addresses.task, TaskContract::getTaskCall { taskId: task })
        .await
        .unwrap();
    advance_past(c, info.commitDeadline).await;
    c.reveal_ground_truth(cast.proposer, task, held_out, gt_salt)
        .await
        .unwrap();
    advance_past(c, info.voteDeadline).await;
    c.expire(cast.deployer, task).await.unwrap();
}

/// Unbonding: inactive at once, locked until the unbonding period ends.
pub async fn unbonding<B: Backend>(c: &Contracts<B>, cast: &Cast) {
    let s = cast.solvers[1];
    let amount = c.stake_of(s).await.unwrap().amount;
    let st = c.addresses.staking;
    let solver_role = Role::Solver as u8;
    let is_active = ParticipantStaking::isActiveParticipantCall {
        account: s,
        role: solver_role,
    };
    assert!(c.view(st, is_active).await.unwrap());
    let active = ParticipantStaking::activeStakeOfCall {
        account: s,
        role: solver_role,
    };
    assert_eq!(c.view(st, active.clone()).await.unwrap(), amount);
    let coordinator_total = ParticipantStaking::activeRoleStakeCall(Role::Coordinator as u8);
    let min = Role::Coordinator.min_stake();
    let expected_total = min * U256::from(3) - min / U256::from(10);
    assert_eq!(c.view(st, coordinator_total).await.unwrap(), expected_total);
    assert_revert!(c.unstake(s).await, ParticipantStakingErrors::NotUnbonding);
    c.request_unstake(s).await.unwrap();
    assert_revert!(
        c.request_unstake(s).await,
        ParticipantStakingErrors::AlreadyUnbonding
    );
    assert_revert!(c.unstake(s).await, ParticipantStakingErrors::StillLocked);
    assert_eq!(
        c.view(st, active).await.unwrap(),
        U256::ZERO,
        "unbonding stake is inactive"
    );
    let unlock = c.stake_of(s).await.unwrap().unlock_block;
    advance_past(c, unlock).await;
    let before = c.atn_balance(s).await.unwrap();
    c.unstake(s).await.unwrap();
    assert_eq!(c.atn_balance(s).await.unwrap(), before + amount);
    assert_revert!(c.unstake(s).await, ParticipantStakingErrors::NotStaked);
}

/// A task nobody votes on expires: escrow refunded, the silent proposer slashed.
pub async fn expiry<B: Backend>(c: &Contracts<B>, cast: &Cast) {
    stake_all(c, cast).await;
    let project = funded_project(c, cast).await;
    let params = task_params(project, B256::repeat_byte(7));
    let task = c.create_task(cast.proposer, &params).await.unwrap();
    let info = c
        .view(c.addresses.task, TaskContract::getTaskCall { taskId: task })
        .await
        .unwrap();
    assert_revert!(
        c.expire(cast.outsider, task).await,
        ResultsRewardsErrors::WrongPhase
    );
    advance_past(c, info.voteDeadline).await;
    let project_before = c.atn_balance(c.addresses.project).await.unwrap();
    c.expire(cast.outsider, task).await.unwrap();
    assert_eq!(
        c.atn_balance(c.addresses.project).await.unwrap(),
        project_before + atn(330)
    );
    let p = c.stake_of(cast.proposer).await.unwrap().amount;
    assert_eq!(
        p,
        Role::Proposer.min_stake() - Role::Proposer.min_stake() / U256::from(10)
    );
    assert_revert!(
        c.expire(cast.outsider, task).await,
        ResultsRewardsErrors::TaskNotOpen
    );
}
