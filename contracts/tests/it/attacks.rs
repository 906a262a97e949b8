//! The attacks of the security review, each played against the contract suite on the embedded
//! EVM. Every test here failed on 1eec540 (the closing note of the security issue quotes how) and
//! documents one line of `SECURITY.md`.

use alloy::primitives::{Address, B256, U256};
use autonet_contracts::bindings::{ModelShardRegistry, ParticipantStaking, ResultsRewards};
use autonet_contracts::commitment::{
    ground_truth_commitment, solution_commitment, vote_commitment,
};
use autonet_contracts::merkle::{MerkleTree, mint_leaf, shard_leaf};
use autonet_contracts::revert::{
    ModelShardRegistryErrors, ParticipantStakingErrors, ResultsRewardsErrors, TaskContractErrors,
};
use autonet_contracts::{
    Backend, Chain, Contracts, EmbeddedChain, ModelRegistration, ProtocolView, Role, TaskParams,
    TaskStatus,
};

use crate::helpers::{advance_past, assert_revert, atn, vote_round, vote_salt, wad_milli};

const ACCOUNTS: u32 = 40;

/// Accounts: 0 deploys and funds, 1 proposes, 2..6 solve, 6..9 coordinate, 9 aggregates,
/// 10 is a second (hostile) aggregator, the rest start with ATN and no stake.
struct Arena {
    c: Contracts<EmbeddedChain>,
    acc: Vec<Address>,
    project: U256,
}

impl Arena {
    async fn new() -> Arena {
        let c = EmbeddedChain::genesis(ACCOUNTS, atn(50_000)).await.unwrap();
        let acc = c.backend().accounts();
        c.stake(acc[1], Role::Proposer, Role::Proposer.min_stake())
            .await
            .unwrap();
        for s in &acc[2..6] {
            c.stake(*s, Role::Solver, Role::Solver.min_stake())
                .await
                .unwrap();
        }
        for k in &acc[6..9] {
            c.stake(*k, Role::Coordinator, Role::Coordinator.min_stake())
                .await
                .unwrap();
        }
        for a in [acc[9], acc[10]] {
            c.stake(a, Role::Aggregator, Role::Aggregator.min_stake())
                .await
                .unwrap();
        }
        let project = c
            .create_project(acc[0], "arena", wad_milli(500))
            .await
            .unwrap();
        c.fund_project(acc[0], project, atn(20_000)).await.unwrap();
        Arena { c, acc, project }
    }

    fn proposer(&self) -> Address {
        self.acc[1]
    }
    fn solvers(&self) -> &[Address] {
        &self.acc[2..6]
    }
    fn coordinators(&self) -> &[Address] {
        &self.acc[6..9]
    }
    fn aggregator(&self) -> Address {
        self.acc[9]
    }
    fn rogue_aggregator(&self) -> Address {
        self.acc[10]
    }

    fn params(&self, epoch: u64) -> TaskParams {
        TaskParams {
            project_id: self.project,
            spec_hash: B256::repeat_byte(0x5e),
            ground_truth_commit: ground_truth_commitment(B256::repeat_byte(0x11), salt()),
            solver_reward: atn(300),
            coordinator_reward: atn(30),
            commit_blocks: 5,
            reveal_blocks: 5,
            vote_blocks: 10,
            epoch,
        }
    }

    /// Runs `task` up to its vote phase: `solvers` commit, the ground truth and the solutions
    /// are revealed. Returns the task's record.
    async fn open_to_votes(&self, task: U256, solvers: &[Address]) -> autonet_contracts::TaskInfo {
        let c = &self.c;
        let info = c.task_info(task).await.unwrap();
        for s in solvers {
            c.commit(*s, task, solution_commitment(bundle(*s), salt(), *s))
                .await
                .unwrap();
        }
        advance_past(c, info.commit_deadline).await;
        c.reveal_ground_truth(self.proposer(), task, B256::repeat_byte(0x11), salt())
            .await
            .unwrap();
        for s in solvers {
            c.reveal(*s, task, bundle(*s), salt()).await.unwrap();
        }
        advance_past(c, info.reveal_deadline).await;
        info
    }

    /// A task of `epoch` where `solvers` commit and reveal and `votes` are cast, then settled
    /// (finalized, or expired when it cannot finalize). Returns the task id.
    async fn run_task(
        &self,
        epoch: u64,
        solvers: &[Address],
        votes: &[(Address, Vec<U256>)],
    ) -> U256 {
        let c = &self.c;
        let task = c
            .create_task(self.proposer(), &self.params(epoch))
            .await
            .unwrap();
        let info = self.open_to_votes(task, solvers).await;
        vote_round(c, task, votes).await.unwrap();
        advance_past(c, info.vote_deadline).await;
        if c.finalize(self.acc[0], task).await.is_err() {
            c.expire(self.acc[0], task).await.unwrap();
        }
        task
    }

    /// Epoch `epoch` with one settled task that every coordinator scored 0.9 for one solver.
    async fn settled_epoch(&self, epoch: u64) {
        let votes: Vec<_> = self
            .coordinators()
            .iter()
            .map(|k| (*k, vec![wad_milli(900)]))
            .collect();
        self.run_task(epoch, &self.solvers()[..1], &votes).await;
    }
}

fn salt() -> B256 {
    B256::repeat_byte(0x22)
}

fn bundle(solver: Address) -> B256 {
    B256::left_padding_from(solver.as_slice())
}

fn mint_tree(entries: &[(Address, U256)]) -> MerkleTree {
    MerkleTree::new(entries.iter().map(|(a, v)| mint_leaf(*a, *v)).collect()).unwrap()
}

/// Item 1: a coordinator confirms, unbonds, restakes from a fresh address and confirms again.
/// On 1eec540 the second confirmation counted and the root became final with one third of the
/// real stake; now stake counts at the snapshot before the root was posted, so the fresh address
/// weighs nothing.
#[tokio::test]
async fn restaked_coordinator_cannot_confirm_a_root_twice() {
    let a = Arena::new().await;
    let c = &a.c;
    a.settled_epoch(1).await;
    let attacker = a.coordinators()[0];
    let tree = mint_tree(&[(attacker, atn(5_000))]);
    c.post_mint_root(
        a.rogue_aggregator(),
        U256::from(1),
        tree.root(),
        atn(5_000),
        B256::repeat_byte(7),
    )
    .await
    .unwrap();
    c.confirm_mint_root(attacker, U256::from(1), tree.root())
        .await
        .unwrap();
    c.request_unstake(attacker).await.unwrap();
    let unlock = c.stake_of(attacker).await.unwrap().unlock_block;
    advance_past(c, unlock).await;
    c.unstake(attacker).await.unwrap();
    let fresh = a.acc[20];
    c.transfer_atn(attacker, fresh, Role::Coordinator.min_stake())
        .await
        .unwrap();
    c.stake(fresh, Role::Coordinator, Role::Coordinator.min_stake())
        .await
        .unwrap();
    assert_revert!(
        c.confirm_mint_root(fresh, U256::from(1), tree.root()).await,
        ResultsRewardsErrors::NotActive,
    );
    assert!(c.final_mint_root(U256::from(1)).await.unwrap().is_zero());
    // One identity confirms once per epoch, whatever the root.
    let other = mint_tree(&[(attacker, atn(1))]);
    c.post_mint_root(
        a.rogue_aggregator(),
        U256::from(1),
        other.root(),
        atn(1),
        B256::repeat_byte(8),
    )
    .await
    .unwrap();
    assert_revert!(
        c.confirm_mint_root(a.coordinators()[1], U256::from(1), other.root())
            .await
            .and(
                c.confirm_mint_root(a.coordinators()[1], U256::from(1), tree.root())
                    .await,
            ),
        ResultsRewardsErrors::AlreadyConfirmed,
    );
}

/// Item 1: roots for a future epoch, an epoch with an open task, or above the emission.
#[tokio::test]
async fn mint_roots_only_for_settled_epochs_within_emission() {
    let a = Arena::new().await;
    let c = &a.c;
    let agg = a.aggregator();
    let root = mint_tree(&[(agg, atn(1))]).root();
    let model = B256::repeat_byte(7);
    // No task at all: nothing to pay for (1eec540 accepted any epoch, future ones included).
    assert_revert!(
        c.post_mint_root(agg, U256::from(1), root, atn(1), model)
            .await,
        TaskContractErrors::EpochNotSettled,
    );
    let task = c.create_task(a.proposer(), &a.params(1)).await.unwrap();
    assert_revert!(
        c.post_mint_root(agg, U256::from(1), root, atn(1), model)
            .await,
        TaskContractErrors::EpochNotSettled,
    );
    assert_revert!(
        c.post_mint_root(agg, U256::from(9), root, atn(1), model)
            .await,
        TaskContractErrors::EpochNotSettled,
    );
    let info = c.task_info(task).await.unwrap();
    advance_past(c, info.commit_deadline).await;
    c.reveal_ground_truth(a.proposer(), task, B256::repeat_byte(0x11), salt())
        .await
        .unwrap();
    advance_past(c, info.vote_deadline).await;
    c.expire(agg, task).await.unwrap();
    // The emission caps the root's total (1eec540 accepted any total).
    let emission = autonet_contracts::DeployConfig::default().epoch_emission;
    assert_revert!(
        c.post_mint_root(agg, U256::from(1), root, emission + U256::from(1), model)
            .await,
        ResultsRewardsErrors::EmissionExceeded,
    );
    c.post_mint_root(agg, U256::from(1), root, atn(1), model)
        .await
        .unwrap();
    // Sealed: no task joins the epoch once its root exists; epochs open in order.
    assert_revert!(
        c.create_task(a.proposer(), &a.params(1)).await,
        TaskContractErrors::EpochSealed,
    );
    assert_revert!(
        c.create_task(a.proposer(), &a.params(3)).await,
        TaskContractErrors::BadEpoch
    );
    c.create_task(a.proposer(), &a.params(2)).await.unwrap();
}

/// Item 2: `commitSolution(task, 0)` left the slot reusable; 30 zero commits and a real one
/// filled every slot on 1eec540.
#[tokio::test]
async fn zero_commitments_cannot_fill_slots() {
    let a = Arena::new().await;
    let c = &a.c;
    let task = c.create_task(a.proposer(), &a.params(1)).await.unwrap();
    let solver = a.solvers()[0];
    assert_revert!(
        c.commit(solver, task, B256::ZERO).await,
        TaskContractErrors::ZeroCommitment
    );
    c.commit(
        solver,
        task,
        solution_commitment(bundle(solver), salt(), solver),
    )
    .await
    .unwrap();
    assert_revert!(
        c.commit(solver, task, B256::repeat_byte(1)).await,
        TaskContractErrors::AlreadyCommitted,
    );
    c.commit(a.solvers()[1], task, B256::repeat_byte(1))
        .await
        .unwrap();
    assert_eq!(
        c.committers(task).await.unwrap(),
        vec![solver, a.solvers()[1]]
    );
}

/// Item 3: a proposer and a solver with open obligations unbond before the task ends. On
/// 1eec540 both left in full and `expire` slashed nothing.
#[tokio::test]
async fn stake_with_an_open_obligation_cannot_leave() {
    let a = Arena::new().await;
    let c = &a.c;
    let (proposer, solver) = (a.proposer(), a.solvers()[0]);
    let task = c.create_task(proposer, &a.params(1)).await.unwrap();
    c.commit(
        solver,
        task,
        solution_commitment(bundle(solver), salt(), solver),
    )
    .await
    .unwrap();
    for who in [proposer, solver] {
        c.request_unstake(who).await.unwrap();
    }
    let unlock = c.stake_of(solver).await.unwrap().unlock_block;
    let info = c.task_info(task).await.unwrap();
    assert!(unlock > info.vote_deadline, "unbonding outlasts the task");
    advance_past(c, unlock).await;
    for who in [proposer, solver] {
        assert_revert!(
            c.unstake(who).await,
            ParticipantStakingErrors::ObligationsOpen
        );
    }
    // Settled: both are slashed (no ground truth, no reveal), then may leave with the rest.
    c.expire(a.acc[0], task).await.unwrap();
    for (who, role) in [(proposer, Role::Proposer), (solver, Role::Solver)] {
        let left = c.stake_of(who).await.unwrap().amount;
        assert_eq!(left, role.min_stake() * U256::from(9) / U256::from(10));
        c.unstake(who).await.unwrap();
    }
    // The contract, not the deploy script, keeps unbonding longer than any task.
    let mut long = a.params(1);
    long.vote_blocks = 100;
    assert_revert!(
        c.create_task(a.acc[11], &long).await,
        TaskContractErrors::NotActive
    );
    c.stake(a.acc[11], Role::Proposer, Role::Proposer.min_stake())
        .await
        .unwrap();
    assert_revert!(
        c.create_task(a.acc[11], &long).await,
        TaskContractErrors::TaskTooLong
    );
    let shrink = ParticipantStaking::setUnbondingBlocksCall { blocks: 5 };
    assert_revert!(
        c.send(a.acc[0], c.addresses.staking, shrink).await,
        ParticipantStakingErrors::UnbondingDecrease,
    );
}

/// Item 4: two equal voters scoring 1.0 and 0 accepted and paid a garbage solution on 1eec540.
#[tokio::test]
async fn half_the_voting_stake_cannot_accept() {
    let a = Arena::new().await;
    let c = &a.c;
    let k = a.coordinators();
    // The third coordinator stays away; two of three hold the quorum.
    let votes = vec![(k[0], vec![wad_milli(1000)]), (k[1], vec![U256::ZERO])];
    let solver = a.solvers()[0];
    let task = a.run_task(1, &[solver], &votes).await;
    assert_eq!(
        c.task_info(task).await.unwrap().status,
        TaskStatus::Finalized
    );
    assert!(
        c.claimable(solver).await.unwrap().is_zero(),
        "a 50% tie pays nothing"
    );
}

/// Item 4: a minority of the coordinator stake cannot finalize a task.
#[tokio::test]
async fn a_task_needs_a_quorum_of_stake() {
    let a = Arena::new().await;
    let c = &a.c;
    let whale = a.acc[12];
    c.stake(whale, Role::Coordinator, atn(5_000)).await.unwrap();
    let k = a.coordinators();
    let solver = a.solvers()[0];
    let task = c.create_task(a.proposer(), &a.params(1)).await.unwrap();
    let info = a.open_to_votes(task, &[solver]).await;
    let votes: Vec<_> = k[..2].iter().map(|v| (*v, vec![wad_milli(1000)])).collect();
    vote_round(c, task, &votes).await.unwrap();
    advance_past(c, info.vote_deadline).await;
    assert_revert!(
        c.finalize(a.acc[0], task).await,
        ResultsRewardsErrors::NoQuorum
    );
    c.expire(a.acc[0], task).await.unwrap();
    assert!(c.claimable(solver).await.unwrap().is_zero());
}

/// Item 5: sixteen minimum-stake identities took every voter slot on 1eec540 and shut out a
/// larger coordinator; stake bought after the task was created does not vote.
#[tokio::test]
async fn sybil_voters_cannot_crowd_out_stake() {
    let a = Arena::new().await;
    let c = &a.c;
    let sybils: Vec<Address> = a.acc[16..32].to_vec();
    for s in &sybils {
        c.stake(*s, Role::Coordinator, Role::Coordinator.min_stake())
            .await
            .unwrap();
    }
    let whale = a.acc[12];
    c.stake(whale, Role::Coordinator, atn(2_000)).await.unwrap();
    let solver = a.solvers()[0];
    let long_vote = TaskParams {
        vote_blocks: 60,
        ..a.params(1)
    };
    let task = c.create_task(a.proposer(), &long_vote).await.unwrap();
    let late = a.acc[13];
    c.stake(late, Role::Coordinator, atn(3_000)).await.unwrap();
    a.open_to_votes(task, &[solver]).await;
    let commit = |who: Address| {
        let scores = [wad_milli(900)];
        c.commit_vote(
            who,
            task,
            vote_commitment(task, who, &scores, vote_salt(task, who)),
        )
    };
    for s in &sybils {
        commit(*s).await.unwrap();
    }
    assert_revert!(
        commit(a.coordinators()[0]).await,
        ResultsRewardsErrors::SlotsTaken
    );
    commit(whale).await.unwrap();
    assert_revert!(commit(late).await, TaskContractErrors::NotActive);
    let voters = c
        .view(
            c.addresses.rewards,
            ResultsRewards::getVoteCommittersCall { taskId: task },
        )
        .await
        .unwrap();
    assert_eq!(voters.len(), 16);
    assert!(voters.contains(&whale));
}

/// Item 6: on 1eec540 another staked aggregator registered the epoch's model id first with a
/// bogus root; a proof was not bound to its index; one coordinator zeroed a holder in 10 reports.
#[tokio::test]
async fn only_the_final_roots_aggregator_registers_the_epoch_model() {
    let a = Arena::new().await;
    let c = &a.c;
    a.settled_epoch(1).await;
    let (agg, rogue) = (a.aggregator(), a.rogue_aggregator());
    let model = B256::repeat_byte(0x4d);
    let leaves: Vec<B256> = (0..14u8).map(|i| shard_leaf(&[i])).collect();
    let tree = MerkleTree::new(leaves.clone()).unwrap();
    let registration = |epoch: u64| ModelRegistration {
        model_id: model,
        project_id: U256::ZERO,
        root: tree.root(),
        k: 10,
        m: 4,
        epoch,
        leaves: leaves.clone(),
    };
    let mint = mint_tree(&[(agg, atn(1))]);
    c.post_mint_root(agg, U256::from(1), mint.root(), atn(1), model)
        .await
        .unwrap();
    // Squatting: before and after finality, the rogue's epoch registration is refused; its
    // hand-published copy is replaced by the epoch's registration.
    assert_revert!(
        c.register_model(rogue, &registration(1)).await,
        ModelShardRegistryErrors::NotEpochAggregator,
    );
    let bogus_leaves: Vec<B256> = (0..14u8).map(|i| shard_leaf(&[i, 9])).collect();
    let bogus = ModelRegistration {
        root: MerkleTree::new(bogus_leaves.clone()).unwrap().root(),
        leaves: bogus_leaves,
        ..registration(0)
    };
    c.register_model(rogue, &bogus).await.unwrap();
    for k in &a.coordinators()[..2] {
        c.confirm_mint_root(*k, U256::from(1), mint.root())
            .await
            .unwrap();
    }
    assert_revert!(
        c.register_model(rogue, &registration(1)).await,
        ModelShardRegistryErrors::NotEpochAggregator,
    );
    let mut wrong_leaves = registration(1);
    wrong_leaves.leaves.swap(0, 13);
    assert_revert!(
        c.register_model(agg, &wrong_leaves).await,
        ModelShardRegistryErrors::LeavesMismatch
    );
    c.register_model(agg, &registration(1)).await.unwrap();
    assert_eq!(c.model_info(model).await.unwrap().root, tree.root());
    assert_revert!(
        c.register_model(rogue, &bogus).await,
        ModelShardRegistryErrors::ModelExists
    );
    // A proof binds leaf and index: leaf 2's proof does not announce index 3.
    let holder = a.solvers()[1];
    assert_revert!(
        c.announce_shard(holder, model, 3, leaves[2], tree.proof(2).unwrap())
            .await,
        ModelShardRegistryErrors::InvalidProof,
    );
    assert_revert!(
        c.announce_shard(a.acc[30], model, 2, leaves[2], tree.proof(2).unwrap())
            .await,
        ModelShardRegistryErrors::NotStaked,
    );
    c.announce_shard(holder, model, 2, leaves[2], tree.proof(2).unwrap())
        .await
        .unwrap();
    // One report per reporter, holder and model.
    let report = ModelShardRegistry::reportVerificationCall {
        modelId: model,
        holder,
        ok: false,
    };
    c.send(a.coordinators()[0], c.addresses.shards, report.clone())
        .await
        .unwrap();
    assert_revert!(
        c.send(a.coordinators()[0], c.addresses.shards, report)
            .await,
        ModelShardRegistryErrors::AlreadyReported,
    );
}

/// A staked proposer racing ahead (opening the next epochs as fast as the contract allows)
/// neither skips epochs nor locks honest proposers out of an epoch that has no root yet.
#[tokio::test]
async fn a_proposer_racing_ahead_locks_nobody_out() {
    let a = Arena::new().await;
    let c = &a.c;
    let racer = a.acc[14];
    c.stake(racer, Role::Proposer, Role::Proposer.min_stake())
        .await
        .unwrap();
    c.create_task(a.proposer(), &a.params(1)).await.unwrap();
    assert_revert!(
        c.create_task(racer, &a.params(2)).await,
        TaskContractErrors::EpochTooSoon
    );
    let min_epoch = autonet_contracts::DeployConfig::default().min_epoch_blocks;
    c.backend().mine(min_epoch).await.unwrap();
    c.create_task(racer, &a.params(2)).await.unwrap();
    assert_revert!(
        c.create_task(racer, &a.params(4)).await,
        TaskContractErrors::BadEpoch
    );
    c.backend().mine(min_epoch).await.unwrap();
    c.create_task(racer, &a.params(3)).await.unwrap();
    // Epochs 1 and 2 have no mint root: honest tasks still join them.
    c.create_task(a.proposer(), &a.params(1)).await.unwrap();
    c.create_task(a.proposer(), &a.params(2)).await.unwrap();
}
