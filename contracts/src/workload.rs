//! A complete protocol round as a reusable workload (`autonet bench chain`, the gas table):
//! four roles stake, a project is funded, a task runs commit → reveal → vote → finalize, rewards
//! are claimed, an epoch mint root is confirmed and claimed, and a model's shards are registered.

use alloy::primitives::{Address, B256, U256};

use crate::backend::{Backend, ChainError};
use crate::chain::{Chain, Role, TaskParams};
use crate::client::Contracts;
use crate::commitment::{ground_truth_commitment, solution_commitment, vote_commitment};
use crate::deploy::ATN;
use crate::merkle::{MerkleTree, mint_leaf, shard_leaf};
use alloy::sol_types::SolValue;

/// Accounts the workload needs (index 0 deploys and funds).
pub const ACCOUNTS: usize = 9;

/// Mines until the head is at least `block`, so the next transaction runs at `block + 1`.
pub async fn advance_past<B: Backend>(c: &Contracts<B>, block: u64) -> Result<(), ChainError> {
    let head = c.backend().block_number().await?;
    if head < block {
        c.backend().mine(block - head).await?;
    }
    Ok(())
}

/// The salt a workload coordinator uses for its vote on `task`.
pub fn vote_salt(task: U256, coordinator: Address) -> B256 {
    alloy::primitives::keccak256((task, coordinator).abi_encode())
}

/// Every coordinator of `votes` commits its scores (the task must be in its vote phase), the
/// chain moves past the vote-commit deadline, and every vote is revealed.
pub async fn vote_round<B: Backend>(
    c: &Contracts<B>,
    task: U256,
    votes: &[(Address, Vec<U256>)],
) -> Result<(), ChainError> {
    for (k, scores) in votes {
        let commitment = vote_commitment(task, *k, scores, vote_salt(task, *k));
        c.commit_vote(*k, task, commitment).await?;
    }
    let t = c
        .view(
            c.addresses.task,
            crate::bindings::TaskContract::getTaskCall { taskId: task },
        )
        .await?;
    advance_past(c, t.voteCommitDeadline).await?;
    for (k, scores) in votes {
        c.reveal_vote(*k, task, scores.clone(), vote_salt(task, *k))
            .await?;
    }
    Ok(())
}

fn wad_milli(x: u64) -> U256 {
    U256::from(x) * U256::from(1_000_000_000_000_000u64)
}

/// Runs one round with fresh stakes; `round` makes ids unique when run repeatedly on one chain.
/// Accounts: 1 proposer, 2..=4 solvers, 5..=7 coordinators, 8 aggregator; all need ATN.
pub async fn lifecycle<B: Backend>(
    c: &Contracts<B>,
    accounts: &[Address],
    round: u64,
) -> Result<(), ChainError> {
    if accounts.len() < ACCOUNTS {
        return Err(ChainError::Deploy(format!(
            "the workload needs {ACCOUNTS} accounts"
        )));
    }
    let (funder, proposer, aggregator) = (accounts[0], accounts[1], accounts[8]);
    let solvers = &accounts[2..5];
    let coordinators = &accounts[5..8];
    let roles = [(proposer, Role::Proposer), (aggregator, Role::Aggregator)]
        .into_iter()
        .chain(solvers.iter().map(|s| (*s, Role::Solver)))
        .chain(coordinators.iter().map(|k| (*k, Role::Coordinator)));
    for (who, role) in roles {
        if c.stake_of(who).await?.amount.is_zero() {
            c.stake(who, role, role.min_stake()).await?;
        }
    }
    let project = c.create_project(funder, "bench", wad_milli(500)).await?;
    c.fund_project(funder, project, ATN * U256::from(1_000))
        .await?;
    let (held_out, gt_salt) = (B256::from(U256::from(round)), B256::repeat_byte(0x22));
    let params = TaskParams {
        project_id: project,
        spec_hash: B256::repeat_byte(0x5e),
        ground_truth_commit: ground_truth_commitment(held_out, gt_salt),
        solver_reward: ATN * U256::from(300),
        coordinator_reward: ATN * U256::from(30),
        commit_blocks: 5,
        reveal_blocks: 5,
        vote_blocks: 10,
        epoch: round,
    };
    let task = c.create_task(proposer, &params).await?;
    let t = c
        .view(
            c.addresses.task,
            crate::bindings::TaskContract::getTaskCall { taskId: task },
        )
        .await?;
    let bundle = |i: usize| B256::from(U256::from(round * 100 + i as u64 + 1));
    let salt = |i: usize| B256::from(U256::from(round * 100 + i as u64 + 50));
    for (i, s) in solvers.iter().enumerate() {
        c.commit(*s, task, solution_commitment(bundle(i), salt(i), *s))
            .await?;
    }
    advance_past(c, t.commitDeadline).await?;
    c.reveal_ground_truth(proposer, task, held_out, gt_salt)
        .await?;
    for (i, s) in solvers.iter().enumerate() {
        c.reveal(*s, task, bundle(i), salt(i)).await?;
    }
    advance_past(c, t.revealDeadline).await?;
    let votes: Vec<(Address, Vec<U256>)> = coordinators
        .iter()
        .enumerate()
        .map(|(k, coordinator)| {
            let scores = (0..solvers.len())
                .map(|j| wad_milli(700 + 50 * ((j + k) % 3) as u64))
                .collect();
            (*coordinator, scores)
        })
        .collect();
    vote_round(c, task, &votes).await?;
    advance_past(c, t.voteDeadline).await?;
    c.finalize(funder, task).await?;
    for who in solvers.iter().chain(coordinators) {
        c.claim(*who).await?;
    }
    let epoch = U256::from(round);
    let shards: Vec<B256> = (0..14u8).map(|i| shard_leaf(&[i, round as u8])).collect();
    let shard_tree = MerkleTree::new(shards.clone())
        .ok_or_else(|| ChainError::Deploy("empty shard tree".into()))?;
    let model = B256::from(U256::from(round));
    let mints: Vec<(Address, U256)> = solvers.iter().map(|s| (*s, ATN)).collect();
    let tree = MerkleTree::new(mints.iter().map(|(a, v)| mint_leaf(*a, *v)).collect())
        .ok_or_else(|| ChainError::Deploy("empty mint tree".into()))?;
    c.post_mint_root(
        aggregator,
        epoch,
        tree.root(),
        ATN * U256::from(mints.len()),
        model,
    )
    .await?;
    for k in coordinators.iter().take(2) {
        c.confirm_mint_root(*k, epoch, tree.root()).await?;
    }
    for (i, (who, amount)) in mints.iter().enumerate() {
        let proof = tree
            .proof(i)
            .ok_or_else(|| ChainError::Deploy("missing proof".into()))?;
        c.claim_mint(*who, epoch, *amount, proof).await?;
    }
    let registration = crate::chain::ModelRegistration {
        model_id: model,
        project_id: project,
        root: shard_tree.root(),
        k: 10,
        m: 4,
        epoch: round,
        leaves: shards.clone(),
    };
    c.register_model(aggregator, &registration).await?;
    let proof = shard_tree
        .proof(0)
        .ok_or_else(|| ChainError::Deploy("missing proof".into()))?;
    c.announce_shard(solvers[0], model, 0, shards[0], proof)
        .await?;
    Ok(())
}
