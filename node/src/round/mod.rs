//! One protocol round on a chain, driven in this process: the epoch choreography — stake, fund
//! a project, propose tasks, train, commit, reveal, verify, vote (commit, then reveal), finalize,
//! aggregate, claim rewards, post and confirm the mint root, claim mints, register the model —
//! written once, in the order the role actors (`autonet_actors::roles`) follow on a live network.
//!
//! The role actors are the protocol between peers; this module plays every role in one process,
//! without the overlay (bundles are handed over in memory), to measure it. What differs between
//! its users is behind [`Work`]: [`trained`] trains and verifies with the protocol core
//! (`autonet bench epoch`), [`fixed`] uses made-up payloads (`autonet bench chain`, the gas
//! table, the metrics test). Gas is recorded by [`Contracts`] itself; the per-phase callback of
//! [`run`] is where a caller times the phases.

pub mod fixed;
pub mod trained;

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;
use anyhow::Context;
use autonet_actors::protocol::secrets::{proposer_commitment, solver_commitment};
use autonet_contracts::commitment::vote_commitment;
use autonet_contracts::{
    Backend, Chain, ChainError, Contracts, ModelRegistration, ProtocolView, Role, TaskParams,
};

/// Solvers per task (the task contract's `MAX_SOLVERS`): a round creates one task per 32.
pub const PER_TASK: usize = 32;

/// The phases of a round, in order; [`run`] reports the end of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Stakes and the funded project, before the epoch starts.
    Setup,
    /// Tasks created.
    Propose,
    /// Every solver's solution produced.
    Train,
    /// Solution commitments posted.
    Commit,
    /// Ground truth and solutions revealed.
    Reveal,
    /// Every coordinator scored every revealed solution.
    Verify,
    /// Votes committed and revealed.
    Vote,
    /// Tasks finalized (rewards credited).
    Finalize,
    /// Accepted solutions merged into the model and its mint list.
    Aggregate,
    /// Rewards claimed, the mint root posted, confirmed and claimed against.
    Claim,
    /// The model's shards registered (only when [`Work::publish`] gives a registration).
    Publish,
}

impl Phase {
    /// The phase's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Propose => "propose",
            Phase::Train => "train",
            Phase::Commit => "commit",
            Phase::Reveal => "reveal",
            Phase::Verify => "verify",
            Phase::Vote => "vote",
            Phase::Finalize => "finalize",
            Phase::Aggregate => "aggregate",
            Phase::Claim => "claim",
            Phase::Publish => "publish",
        }
    }
}

/// Who plays which part. All accounts need ATN for their stakes; the funder pays the project.
#[derive(Debug, Clone)]
pub struct Cast {
    /// Creates and funds the project and finalizes the tasks.
    pub funder: Address,
    /// Creates the tasks and reveals their ground truth.
    pub proposer: Address,
    /// Solvers, [`PER_TASK`] to a task in this order.
    pub solvers: Vec<Address>,
    /// Coordinators: each scores every solution and votes on every task.
    pub coordinators: Vec<Address>,
    /// Posts the mint root and registers the model.
    pub aggregator: Address,
}

/// The project and task terms of a round.
#[derive(Debug, Clone)]
pub struct Terms {
    /// The protocol epoch of the tasks and of the mint root.
    pub epoch: u64,
    /// The project's acceptance threshold (WAD).
    pub threshold: U256,
    /// ATN wei the funder puts into the project.
    pub funding: U256,
    /// Solver pool of each task.
    pub solver_reward: U256,
    /// Coordinator pool of each task.
    pub coordinator_reward: U256,
    /// Commit, reveal and vote phase lengths in blocks.
    pub windows: [u64; 3],
}

/// What a proposer commits to for one task.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// Content id of the task spec.
    pub spec_hash: B256,
    /// Content id of the hidden held-out set.
    pub held_out: B256,
    /// Salt of the ground-truth commitment.
    pub salt: B256,
}

/// A solver's solution as committed and revealed.
#[derive(Debug, Clone, Copy)]
pub struct Solution {
    /// Content id of the bundle.
    pub bundle: B256,
    /// Salt of the commitment.
    pub salt: B256,
}

/// The epoch's aggregate as the aggregator posts it.
#[derive(Debug, Clone)]
pub struct Mint {
    /// Root of the mint tree.
    pub root: B256,
    /// Sum of the mint amounts.
    pub total: U256,
    /// Content id of the merged model.
    pub model: B256,
    /// (agent, amount, proof) for every mint leaf, claimed in this order.
    pub claims: Vec<(Address, U256, Vec<B256>)>,
}

/// A model's shard registration and one holder's announcement.
#[derive(Debug, Clone)]
pub struct Publication {
    /// What the aggregator registers.
    pub registration: ModelRegistration,
    /// The account announcing a shard.
    pub holder: Address,
    /// The announced shard's index.
    pub index: u16,
    /// Its Merkle proof against `registration.root`.
    pub proof: Vec<B256>,
}

/// What the participants produce: real training and verification, or fixed payloads.
pub trait Work {
    /// The proposal of task `k` (0-based within the round).
    fn propose(&mut self, k: usize) -> anyhow::Result<Proposal>;
    /// The solutions of task `k` (on-chain id `task`), one per member in order.
    fn solve(&mut self, k: usize, task: U256, members: &[Address])
    -> anyhow::Result<Vec<Solution>>;
    /// Coordinator `coordinator`'s scores for the solvers `revealed` of task `k`, in that order.
    fn score(
        &mut self,
        k: usize,
        coordinator: usize,
        revealed: &[Address],
    ) -> anyhow::Result<Vec<U256>>;
    /// Merges the epoch's solutions into a model and its mint list.
    fn aggregate(&mut self) -> anyhow::Result<Mint>;
    /// The model's shard registration, if this round publishes one.
    fn publish(&mut self, project: U256, mint: &Mint) -> anyhow::Result<Option<Publication>>;
}

/// The salt a coordinator of an in-process round uses for its vote on `task`.
pub fn vote_salt(task: U256, coordinator: Address) -> B256 {
    keccak256((task, coordinator).abi_encode())
}

/// Mines until the head is at least `block`, so the next transaction runs at `block + 1`.
pub async fn advance_past<B: Backend>(c: &Contracts<B>, block: u64) -> Result<(), ChainError> {
    let head = c.backend().block_number().await?;
    if head < block {
        c.backend().mine(block - head).await?;
    }
    Ok(())
}

/// A created task and the solvers assigned to it.
struct Task {
    id: U256,
    members: Vec<Address>,
    proposal: Proposal,
}

/// Runs one round; `on_phase` is called at the end of each [`Phase`]. Accounts that already
/// hold a stake are not staked again, so rounds can repeat on one chain (with distinct epochs).
pub async fn run<B: Backend, W: Work>(
    c: &Contracts<B>,
    cast: &Cast,
    terms: &Terms,
    work: &mut W,
    mut on_phase: impl FnMut(Phase),
) -> anyhow::Result<()> {
    let project = setup(c, cast, terms).await.context("setup")?;
    on_phase(Phase::Setup);
    let tasks = propose(c, cast, terms, project, work).await?;
    on_phase(Phase::Propose);
    let mut solutions = Vec::with_capacity(tasks.len());
    for (k, t) in tasks.iter().enumerate() {
        solutions.push(work.solve(k, t.id, &t.members)?);
    }
    on_phase(Phase::Train);
    for (t, sols) in tasks.iter().zip(&solutions) {
        for (s, sol) in t.members.iter().zip(sols) {
            c.commit(*s, t.id, solver_commitment(sol.bundle, sol.salt, *s))
                .await?;
        }
    }
    on_phase(Phase::Commit);
    reveal(c, cast, &tasks, &solutions).await?;
    on_phase(Phase::Reveal);
    let votes = verify(c, cast, &tasks, work).await?;
    on_phase(Phase::Verify);
    vote(c, cast, &tasks, &votes).await?;
    on_phase(Phase::Vote);
    for t in &tasks {
        advance_past(c, c.task_info(t.id).await?.vote_deadline).await?;
        c.finalize(cast.funder, t.id).await?;
    }
    on_phase(Phase::Finalize);
    let mint = work.aggregate()?;
    on_phase(Phase::Aggregate);
    claim(c, cast, terms, &mint).await?;
    on_phase(Phase::Claim);
    if let Some(p) = work.publish(project, &mint)? {
        let r = &p.registration;
        c.register_model(cast.aggregator, r).await?;
        let leaf = *r
            .leaves
            .get(usize::from(p.index))
            .context("no such shard")?;
        c.announce_shard(p.holder, r.model_id, p.index, leaf, p.proof)
            .await?;
        on_phase(Phase::Publish);
    }
    Ok(())
}

/// Stakes every role that has no stake yet, creates and funds the project; returns its id.
async fn setup<B: Backend>(c: &Contracts<B>, cast: &Cast, terms: &Terms) -> anyhow::Result<U256> {
    let roles = [
        (cast.proposer, Role::Proposer),
        (cast.aggregator, Role::Aggregator),
    ]
    .into_iter()
    .chain(cast.solvers.iter().map(|s| (*s, Role::Solver)))
    .chain(cast.coordinators.iter().map(|k| (*k, Role::Coordinator)));
    for (who, role) in roles {
        if c.stake_of(who).await?.amount.is_zero() {
            c.stake(who, role, role.min_stake()).await?;
        }
    }
    let project = c
        .create_project(cast.funder, "bench", terms.threshold)
        .await?;
    c.fund_project(cast.funder, project, terms.funding).await?;
    Ok(project)
}

/// Creates one task per [`PER_TASK`] solvers.
async fn propose<B: Backend, W: Work>(
    c: &Contracts<B>,
    cast: &Cast,
    terms: &Terms,
    project: U256,
    work: &mut W,
) -> anyhow::Result<Vec<Task>> {
    let mut tasks = Vec::new();
    for (k, members) in cast.solvers.chunks(PER_TASK).enumerate() {
        let p = work.propose(k)?;
        let [commit_blocks, reveal_blocks, vote_blocks] = terms.windows;
        let params = TaskParams {
            project_id: project,
            spec_hash: p.spec_hash,
            ground_truth_commit: proposer_commitment(p.held_out, p.salt),
            solver_reward: terms.solver_reward,
            coordinator_reward: terms.coordinator_reward,
            commit_blocks,
            reveal_blocks,
            vote_blocks,
            epoch: terms.epoch,
        };
        let id = c.create_task(cast.proposer, &params).await?;
        tasks.push(Task {
            id,
            members: members.to_vec(),
            proposal: p,
        });
    }
    Ok(tasks)
}

/// After each task's commit window: the proposer reveals the ground truth, then every member
/// its solution.
async fn reveal<B: Backend>(
    c: &Contracts<B>,
    cast: &Cast,
    tasks: &[Task],
    solutions: &[Vec<Solution>],
) -> anyhow::Result<()> {
    for (t, sols) in tasks.iter().zip(solutions) {
        advance_past(c, c.task_info(t.id).await?.commit_deadline).await?;
        let p = &t.proposal;
        c.reveal_ground_truth(cast.proposer, t.id, p.held_out, p.salt)
            .await?;
        for (s, sol) in t.members.iter().zip(sols) {
            c.reveal(*s, t.id, sol.bundle, sol.salt).await?;
        }
    }
    Ok(())
}

/// Every coordinator's score vector for every task, over its revealed solvers in canonical order.
async fn verify<B: Backend, W: Work>(
    c: &Contracts<B>,
    cast: &Cast,
    tasks: &[Task],
    work: &mut W,
) -> anyhow::Result<Vec<Vec<Vec<U256>>>> {
    let mut votes = Vec::with_capacity(tasks.len());
    for (k, t) in tasks.iter().enumerate() {
        let revealed = c.revealed_solvers(t.id).await?;
        let mut per_coordinator = Vec::with_capacity(cast.coordinators.len());
        for i in 0..cast.coordinators.len() {
            per_coordinator.push(work.score(k, i, &revealed)?);
        }
        votes.push(per_coordinator);
    }
    Ok(votes)
}

/// Votes are committed on every task once its reveal window closed, then revealed once every
/// vote-commit window closed.
async fn vote<B: Backend>(
    c: &Contracts<B>,
    cast: &Cast,
    tasks: &[Task],
    votes: &[Vec<Vec<U256>>],
) -> anyhow::Result<()> {
    let mut commit_windows_end = 0;
    for (t, scores) in tasks.iter().zip(votes) {
        let info = c.task_info(t.id).await?;
        advance_past(c, info.reveal_deadline).await?;
        commit_windows_end = commit_windows_end.max(info.vote_commit_deadline);
        for (k, s) in cast.coordinators.iter().zip(scores) {
            let commitment = vote_commitment(t.id, *k, s, vote_salt(t.id, *k));
            c.commit_vote(*k, t.id, commitment).await?;
        }
    }
    advance_past(c, commit_windows_end).await?;
    for (t, scores) in tasks.iter().zip(votes) {
        for (k, s) in cast.coordinators.iter().zip(scores) {
            c.reveal_vote(*k, t.id, s.clone(), vote_salt(t.id, *k))
                .await?;
        }
    }
    Ok(())
}

/// Solvers and coordinators claim their rewards; the aggregator posts the mint root,
/// coordinators confirm it until it is final, and every agent claims its mint.
async fn claim<B: Backend>(
    c: &Contracts<B>,
    cast: &Cast,
    terms: &Terms,
    mint: &Mint,
) -> anyhow::Result<()> {
    for who in cast.solvers.iter().chain(&cast.coordinators) {
        if !c.claimable(*who).await?.is_zero() {
            c.claim(*who).await?;
        }
    }
    if mint.root.is_zero() {
        return Ok(());
    }
    let epoch = U256::from(terms.epoch);
    c.post_mint_root(cast.aggregator, epoch, mint.root, mint.total, mint.model)
        .await?;
    for k in &cast.coordinators {
        if c.final_mint_root(epoch).await?.is_zero() {
            c.confirm_mint_root(*k, epoch, mint.root).await?;
        }
    }
    for (who, amount, proof) in &mint.claims {
        c.claim_mint(*who, epoch, *amount, proof.clone()).await?;
    }
    Ok(())
}
