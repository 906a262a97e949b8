//! Invariant fuzzing on the embedded EVM: random sequences of protocol calls (many of them
//! invalid: wrong phase, unstaked, double) and, after every step, the invariants:
//! - total staked = Σ individual stakes = the staking contract's ATN balance;
//! - paid ≤ funded: everything credited to participants (claimed or claimable) is at most what
//!   projects were funded with, and the rewards contract can pay every claimable balance;
//! - no reward without an accepted solution: a finalisation credits each revealed solver exactly
//!   the Rust consensus core's reward for it (zero unless accepted), and nobody else as a solver.
//!
//! - minted ATN never exceeds the emission: at most `epochEmission` per epoch with a final root;
//! - no address holds two commit or voter slots of a task;
//! - no stake with an open obligation leaves (an `unstake` that succeeds never belongs to the
//!   proposer, a committer or a voter of an open task);
//! - no task is accepted with half the voting stake or less behind its consensus score;
//! - only the aggregator of an epoch's final mint root registers that epoch's model.
//!
//! Attacker handlers: restaking from fresh addresses, zero and duplicate commits, votes of late
//! stake, mint roots for any epoch and total by a second aggregator, confirmations, and model
//! registrations by both aggregators.
//!
//! Every failed call must be a named revert (never a panic, halt or unknown error). CI runs a few
//! dozen sequences; `AUTONET_INVARIANT_CASES=10000` runs the long campaign (see BENCHMARKS.md).

use alloy::primitives::{Address, B256, U256};
use autonet_contracts::bindings::{ParticipantStaking, Project, ResultsRewards, TaskContract};
use autonet_contracts::commitment::{ground_truth_commitment, solution_commitment};
use autonet_contracts::{
    Backend, Chain, ChainError, Contracts, EmbeddedChain, ProtocolView, Role, TaskStatus, consensus,
};
use proptest::prelude::*;

use crate::helpers::{ACCOUNTS, Cast, atn, wad_milli};
use crate::scenarios::task_params;

#[derive(Debug, Clone)]
enum Action {
    Stake(usize),
    RequestUnstake(usize),
    Unstake(usize),
    Mine(u64),
    CreateTask,
    Commit(usize, usize),
    RevealGroundTruth(usize),
    Reveal(usize, usize, bool),
    Vote(usize, usize, Vec<u16>),
    Finalize(usize),
    Expire(usize),
    Claim(usize),
    Round(RoundSpec),
    /// Actor `i` unbonds and leaves, then stakes its role again from fresh address `f`.
    RestakeFresh(usize, usize),
    ZeroCommit(usize, usize),
    /// Aggregator `rogue?` posts a root for epoch `e` with total in thousandths of the emission.
    PostRoot(bool, u64, u16),
    /// Coordinator (or fresh address) `i` confirms the `r`-th posted root.
    ConfirmRoot(usize, usize),
    /// Aggregator `rogue?` registers the model of epoch `e`.
    RegisterModel(bool, u64),
    /// The honest flow of an epoch's mint: the aggregator posts a root for epoch `e`, every
    /// coordinator (and fresh address) tries to confirm it, and its agent claims.
    MintEpoch(u64, u16),
    /// The poster of the `r`-th root claims its mint.
    ClaimMint(usize),
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::Stake(_) => "stake",
            Action::RequestUnstake(_) => "request-unstake",
            Action::Unstake(_) => "unstake",
            Action::Mine(_) => "mine",
            Action::CreateTask => "create-task",
            Action::Commit(..) => "commit",
            Action::RevealGroundTruth(_) => "reveal-ground-truth",
            Action::Reveal(..) => "reveal",
            Action::Vote(..) => "vote",
            Action::Finalize(_) => "finalize",
            Action::Expire(_) => "expire",
            Action::Claim(_) => "claim",
            Action::Round(_) => "round",
            Action::RestakeFresh(..) => "restake-fresh",
            Action::ZeroCommit(..) => "zero-commit",
            Action::PostRoot(..) => "post-root",
            Action::ConfirmRoot(..) => "confirm-root",
            Action::RegisterModel(..) => "register-model",
            Action::ClaimMint(_) => "claim-mint",
            Action::MintEpoch(..) => "mint-epoch",
        }
    }
}

/// One whole task, with random participation: who commits, who reveals (correctly or not),
/// whether the ground truth is revealed, who votes what; then finalize (or expire).
#[derive(Debug, Clone)]
struct RoundSpec {
    commits: Vec<bool>,
    reveals: Vec<u8>,
    ground_truth: bool,
    votes: Vec<Option<Vec<u16>>>,
}

fn round() -> impl Strategy<Value = RoundSpec> {
    (
        proptest::collection::vec(proptest::bool::weighted(0.8), SOLVERS.len()),
        proptest::collection::vec(0..3u8, SOLVERS.len()),
        proptest::bool::weighted(0.9),
        proptest::collection::vec(
            proptest::option::weighted(0.8, proptest::collection::vec(0..=1000u16, 1..6)),
            VOTERS.len(),
        ),
    )
        .prop_map(|(commits, reveals, ground_truth, votes)| RoundSpec {
            commits,
            reveals,
            ground_truth,
            votes,
        })
}

/// Actor indices that are solvers (the last one is the outsider, staked as a solver too) and
/// that may vote (three coordinators and the aggregator, whose votes must be refused).
const SOLVERS: &[usize] = &[0, 1, 2, 3, 8];
const VOTERS: &[usize] = &[4, 5, 6, 7];

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => (0..9usize).prop_map(Action::Stake),
        1 => (0..9usize).prop_map(Action::RequestUnstake),
        1 => (0..9usize).prop_map(Action::Unstake),
        3 => (1..10u64).prop_map(Action::Mine),
        1 => Just(Action::CreateTask),
        4 => (prop::sample::select(SOLVERS), 0..2usize).prop_map(|(a, t)| Action::Commit(a, t)),
        2 => (0..2usize).prop_map(Action::RevealGroundTruth),
        4 => (prop::sample::select(SOLVERS), 0..2usize, proptest::bool::weighted(0.85))
            .prop_map(|(a, t, ok)| Action::Reveal(a, t, ok)),
        4 => (prop::sample::select(VOTERS), 0..2usize, proptest::collection::vec(0..=1000u16, 0..5))
            .prop_map(|(a, t, s)| Action::Vote(a, t, s)),
        2 => (0..2usize).prop_map(Action::Finalize),
        1 => (0..2usize).prop_map(Action::Expire),
        2 => (0..9usize).prop_map(Action::Claim),
        6 => round().prop_map(Action::Round),
        1 => (0..9usize, 0..FRESH).prop_map(|(i, f)| Action::RestakeFresh(i, f)),
        1 => (prop::sample::select(SOLVERS), 0..2usize).prop_map(|(a, t)| Action::ZeroCommit(a, t)),
        2 => (proptest::bool::weighted(0.3), 0..4u64, 0..1100u16).prop_map(|(r, e, t)| Action::PostRoot(r, e, t)),
        4 => (0..(VOTERS.len() + FRESH), 0..3usize).prop_map(|(i, r)| Action::ConfirmRoot(i, r)),
        1 => (proptest::bool::ANY, 0..4u64).prop_map(|(r, e)| Action::RegisterModel(r, e)),
        2 => (0..3usize).prop_map(Action::ClaimMint),
        2 => (1..4u64, 0..1100u16).prop_map(|(e, t)| Action::MintEpoch(e, t)),
    ]
}

/// Fresh addresses (dev accounts beyond the cast) an attacker moves stake to.
const FRESH: usize = 6;

struct World {
    c: Contracts<EmbeddedChain>,
    cast: Cast,
    actors: Vec<(Address, Role)>,
    project: U256,
    tasks: Vec<U256>,
    claimed: U256,
    fresh: Vec<Address>,
    /// The second aggregator (the cast's outsider, staked as a solver, cannot: a fresh account).
    rogue: Address,
    /// Posted roots: (epoch, root, poster, model id).
    roots: Vec<(u64, B256, Address, B256)>,
    totals: Vec<U256>,
    minted: U256,
}

impl World {
    fn bundle(task: U256, who: Address) -> (B256, B256) {
        let b = alloy::primitives::keccak256(
            [task.to_be_bytes::<32>().as_slice(), who.as_slice()].concat(),
        );
        (b, alloy::primitives::keccak256(b))
    }

    fn gt(task_index: usize) -> (B256, B256) {
        (
            B256::from(U256::from(task_index + 100)),
            B256::repeat_byte(0x77),
        )
    }

    fn step<'a>(
        &'a mut self,
        a: &'a Action,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ChainError>> + 'a>> {
        Box::pin(self.step_inner(a))
    }

    async fn step_inner(&mut self, a: &Action) -> Result<(), ChainError> {
        let c = &self.c;
        // Task 0 is the newest, 1 the one before it.
        let task = |i: usize| {
            self.tasks
                .len()
                .checked_sub(1 + i)
                .map(|k| self.tasks[k])
                .unwrap_or(U256::from(999))
        };
        match a.clone() {
            Action::Stake(i) => {
                let (who, role) = self.actors[i];
                c.stake(who, role, role.min_stake()).await.map(|_| ())
            }
            Action::RequestUnstake(i) => c.request_unstake(self.actors[i].0).await.map(|_| ()),
            Action::Unstake(i) => self.unstake_checked(self.actors[i].0).await,
            Action::RestakeFresh(i, f) => {
                let (who, role) = self.actors[i];
                let fresh = self.fresh[f];
                let amount = c.stake_of(who).await?.amount;
                if c.stake_of(who).await?.unlock_block == 0 {
                    c.request_unstake(who).await?;
                }
                let unlock = c.stake_of(who).await?.unlock_block;
                crate::helpers::advance_past(c, unlock).await;
                self.unstake_checked(who).await?;
                c.transfer_atn(who, fresh, amount.max(role.min_stake()))
                    .await?;
                c.stake(fresh, role, role.min_stake()).await.map(|_| ())
            }
            Action::ZeroCommit(i, t) => c
                .commit(self.actors[i].0, task(t), B256::ZERO)
                .await
                .map(|_| ()),
            Action::PostRoot(rogue, e, thousandths) => {
                let who = if rogue {
                    self.rogue
                } else {
                    self.cast.aggregator
                };
                let emission = autonet_contracts::DeployConfig::default().epoch_emission;
                let total = emission * U256::from(thousandths) / U256::from(1000);
                // A one-leaf tree paying the poster the whole total (its proof is empty).
                let root = autonet_contracts::merkle::mint_leaf(who, total);
                let model = alloy::primitives::keccak256(root);
                c.post_mint_root(who, U256::from(e), root, total, model)
                    .await?;
                self.roots.push((e, root, who, model));
                self.totals.push(total);
                Ok(())
            }
            Action::ConfirmRoot(i, r) => {
                let who = VOTERS
                    .get(i)
                    .map(|v| self.actors[*v].0)
                    .unwrap_or_else(|| self.fresh[i - VOTERS.len()]);
                // Newest roots first: confirmations concentrate enough to make roots final.
                let Some((e, root, ..)) = self.newest_root(r) else {
                    return Ok(());
                };
                c.confirm_mint_root(who, U256::from(e), root)
                    .await
                    .map(|_| ())
            }
            Action::ClaimMint(r) => {
                let Some((e, _, who, _)) = self.newest_root(r) else {
                    return Ok(());
                };
                let total = self.totals[self.roots.len() - 1 - r];
                c.claim_mint(who, U256::from(e), total, vec![]).await?;
                self.minted += total;
                Ok(())
            }
            Action::RegisterModel(rogue, e) => {
                let who = if rogue {
                    self.rogue
                } else {
                    self.cast.aggregator
                };
                let Some((_, _, _, model)) = self.roots.iter().find(|r| r.0 == e).copied() else {
                    return Ok(());
                };
                let leaves: Vec<B256> = (0..3u8)
                    .map(|i| autonet_contracts::merkle::shard_leaf(&[i]))
                    .collect();
                let root = autonet_contracts::merkle::MerkleTree::new(leaves.clone())
                    .expect("leaves")
                    .root();
                let registration = autonet_contracts::ModelRegistration {
                    model_id: model,
                    project_id: U256::ZERO,
                    root,
                    k: 2,
                    m: 1,
                    epoch: e,
                    leaves,
                };
                c.register_model(who, &registration).await?;
                let (final_model, poster) = c
                    .view(
                        d_rewards(c),
                        ResultsRewards::finalModelOfCall {
                            epoch: U256::from(e),
                        },
                    )
                    .await
                    .map(|r| (r.modelId, r.poster))?;
                assert!(
                    e == 0 || (final_model == model && poster == who),
                    "{who} registered epoch {e}'s model without its final root"
                );
                Ok(())
            }
            Action::Mine(n) => c.backend().mine(n).await,
            Action::CreateTask => {
                let (held_out, salt) = Self::gt(self.tasks.len());
                let mut p = task_params(self.project, ground_truth_commitment(held_out, salt));
                (p.commit_blocks, p.reveal_blocks, p.vote_blocks) = (15, 15, 24);
                let last = c
                    .view(c.addresses.task, TaskContract::lastEpochCall {})
                    .await?;
                // Mostly the newest epoch; now and then the next (refused while too soon).
                p.epoch = if last == 0 || self.tasks.len() % 3 == 2 {
                    last + 1
                } else {
                    last
                };
                let id = c.create_task(self.cast.proposer, &p).await?;
                self.tasks.push(id);
                Ok(())
            }
            Action::Commit(i, t) => {
                let who = self.actors[i].0;
                let (b, s) = Self::bundle(task(t), who);
                c.commit(who, task(t), solution_commitment(b, s, who))
                    .await
                    .map(|_| ())
            }
            Action::RevealGroundTruth(t) => {
                let index = self.tasks.len().saturating_sub(1 + t);
                let (held_out, salt) = Self::gt(index);
                c.reveal_ground_truth(self.cast.proposer, task(t), held_out, salt)
                    .await
                    .map(|_| ())
            }
            Action::Reveal(i, t, correct) => {
                let who = self.actors[i].0;
                let (b, s) = Self::bundle(task(t), who);
                let salt = if correct { s } else { B256::repeat_byte(1) };
                c.reveal(who, task(t), b, salt).await.map(|_| ())
            }
            Action::Vote(i, t, scores) => {
                let who = self.actors[i].0;
                let n = c
                    .revealed_solvers(task(t))
                    .await
                    .map(|v| v.len())
                    .unwrap_or(0);
                let mut v: Vec<U256> = scores.iter().map(|s| wad_milli(*s as u64)).collect();
                if !scores.is_empty() {
                    v.resize(n, wad_milli(scores[0] as u64));
                }
                // Commits now (in the commit window) and reveals the same vector, correctly or
                // not, when the reveal window is open; either may be refused.
                let task = task(t);
                let salt = crate::helpers::vote_salt(task, who);
                let commitment =
                    autonet_contracts::commitment::vote_commitment(task, who, &v, salt);
                let committed = c.commit_vote(who, task, commitment).await.map(|_| ());
                let revealed = c.reveal_vote(who, task, v, salt).await.map(|_| ());
                committed.or(revealed)
            }
            Action::Finalize(t) => self.finalize_checked(task(t)).await,
            Action::Expire(t) => c.expire(self.cast.outsider, task(t)).await.map(|_| ()),
            Action::Round(spec) => self.round(spec).await,
            Action::MintEpoch(e, thousandths) => self.mint_epoch(e, thousandths).await,
            Action::Claim(i) => {
                let who = self.actors[i].0;
                let due = c.claimable(who).await?;
                c.claim(who).await?;
                self.claimed += due;
                Ok(())
            }
        }
    }

    async fn mint_epoch(&mut self, e: u64, thousandths: u16) -> Result<(), ChainError> {
        let named = |r: Result<(), ChainError>| match r {
            Err(e) if !e.is_declared_revert() => Err(e),
            _ => Ok(()),
        };
        self.step(&Action::PostRoot(false, e, thousandths)).await?;
        for i in 0..VOTERS.len() + FRESH {
            named(self.step(&Action::ConfirmRoot(i, 0)).await)?;
        }
        self.step(&Action::ClaimMint(0)).await
    }

    /// The `r`-th newest posted root.
    fn newest_root(&self, r: usize) -> Option<(u64, B256, Address, B256)> {
        let n = self.roots.len();
        (r < n).then(|| self.roots[n - 1 - r])
    }

    /// Unstakes `who`, asserting that a success never leaves an open obligation behind.
    async fn unstake_checked(&self, who: Address) -> Result<(), ChainError> {
        let obligated = self.obligated(who).await?;
        let r = self.c.unstake(who).await.map(|_| ());
        assert!(
            r.is_err() || !obligated,
            "{who} left with an open obligation"
        );
        r
    }

    /// Whether `who` proposed, committed to or voted on a task that is still open.
    async fn obligated(&self, who: Address) -> Result<bool, ChainError> {
        let c = &self.c;
        let d = c.addresses;
        for task in &self.tasks {
            let t = c
                .view(d.task, TaskContract::getTaskCall { taskId: *task })
                .await?;
            if TaskStatus::try_from(t.status) != Ok(TaskStatus::Open) {
                continue;
            }
            let voters = c
                .view(d.rewards, ResultsRewards::getVotersCall { taskId: *task })
                .await?;
            if t.proposer == who
                || c.committers(*task).await?.contains(&who)
                || voters.contains(&who)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn round(&mut self, spec: RoundSpec) -> Result<(), ChainError> {
        let named = |r: Result<(), ChainError>| match r {
            Err(e) if !e.is_declared_revert() => Err(e),
            _ => Ok(()),
        };
        self.step(&Action::CreateTask).await?;
        let id = *self.tasks.last().expect("just created");
        let d = self.c.addresses;
        let t = self
            .c
            .view(d.task, TaskContract::getTaskCall { taskId: id })
            .await?;
        for (k, commit) in spec.commits.iter().enumerate() {
            if *commit {
                named(self.step(&Action::Commit(SOLVERS[k], 0)).await)?;
            }
        }
        crate::helpers::advance_past(&self.c, t.commitDeadline).await;
        if spec.ground_truth {
            named(self.step(&Action::RevealGroundTruth(0)).await)?;
        }
        for (k, how) in spec.reveals.iter().enumerate() {
            if *how > 0 {
                named(self.step(&Action::Reveal(SOLVERS[k], 0, *how == 1)).await)?;
            }
        }
        crate::helpers::advance_past(&self.c, t.revealDeadline).await;
        for (k, vote) in spec.votes.iter().enumerate() {
            if let Some(scores) = vote {
                named(self.step(&Action::Vote(VOTERS[k], 0, scores.clone())).await)?;
            }
        }
        crate::helpers::advance_past(&self.c, t.voteCommitDeadline).await;
        // Revealing again: the commit attempt fails (window closed), the reveal lands.
        for (k, vote) in spec.votes.iter().enumerate() {
            if let Some(scores) = vote {
                named(self.step(&Action::Vote(VOTERS[k], 0, scores.clone())).await)?;
            }
        }
        crate::helpers::advance_past(&self.c, t.voteDeadline).await;
        match self.finalize_checked(id).await {
            Err(e) if e.is_short_of_votes() => self.step(&Action::Expire(0)).await,
            other => other,
        }
    }

    /// Finalizes and checks every revealed solver was credited exactly the core's reward.
    async fn finalize_checked(&mut self, task: U256) -> Result<(), ChainError> {
        let c = &self.c;
        let d = c.addresses;
        let solvers = c.revealed_solvers(task).await.unwrap_or_default();
        let voters = c
            .view(d.rewards, ResultsRewards::getVotersCall { taskId: task })
            .await
            .unwrap_or_default();
        let mut stakes = Vec::new();
        let mut scores = Vec::new();
        for v in &voters {
            stakes.push(
                c.view(
                    d.rewards,
                    ResultsRewards::voteStakeCall { _0: task, _1: *v },
                )
                .await?,
            );
            scores.push(
                c.view(
                    d.rewards,
                    ResultsRewards::getVoteCall {
                        taskId: task,
                        coordinator: *v,
                    },
                )
                .await?,
            );
        }
        let mut before = Vec::new();
        for (who, _) in &self.actors {
            before.push(c.claimable(*who).await?);
        }
        c.finalize(self.cast.outsider, task).await?;
        let t = c
            .view(d.task, TaskContract::getTaskCall { taskId: task })
            .await?;
        let threshold = c
            .view(
                d.project,
                Project::thresholdOfCall {
                    projectId: t.projectId,
                },
            )
            .await?;
        let expected = consensus::run(
            &stakes,
            &scores,
            threshold,
            t.solverReward,
            t.coordinatorReward,
        )
        .expect("valid votes");
        // Independently of the mirror: an accepted score has more than half the voting stake.
        let voting: U256 = stakes.iter().copied().fold(U256::ZERO, |a, b| a + b);
        for (j, accepted) in expected.accepted.iter().enumerate() {
            if *accepted {
                let support = scores
                    .iter()
                    .zip(&stakes)
                    .filter(|(row, _)| row[j] >= expected.consensus[j])
                    .fold(U256::ZERO, |a, (_, s)| a + *s);
                assert!(
                    support * U256::from(2) > voting,
                    "accepted with half the stake or less"
                );
            }
        }
        for (k, (who, role)) in self.actors.iter().enumerate() {
            let delta = c.claimable(*who).await? - before[k];
            if *role == Role::Solver {
                let want = solvers
                    .iter()
                    .position(|s| s == who)
                    .map(|j| {
                        if expected.accepted[j] {
                            expected.solver_rewards[j]
                        } else {
                            U256::ZERO
                        }
                    })
                    .unwrap_or(U256::ZERO);
                assert_eq!(
                    delta, want,
                    "solver {who} credited {delta}, consensus says {want}"
                );
            }
        }
        Ok(())
    }

    async fn check_invariants(&self) {
        let c = &self.c;
        let d = c.addresses;
        let mut sum = c.stake_of(self.cast.proposer).await.unwrap().amount;
        let mut credited = U256::ZERO;
        for (who, _) in &self.actors {
            sum += c.stake_of(*who).await.unwrap().amount;
            credited += c.claimable(*who).await.unwrap();
        }
        for who in self.fresh.iter().chain([&self.rogue]) {
            sum += c.stake_of(*who).await.unwrap().amount;
            credited += c.claimable(*who).await.unwrap();
        }
        let total = c
            .view(d.staking, ParticipantStaking::totalStakedCall {})
            .await
            .unwrap();
        assert_eq!(total, sum, "total staked = Σ stakes");
        assert_eq!(
            c.atn_balance(d.staking).await.unwrap(),
            total,
            "staking holds exactly the stakes"
        );
        let funded = c
            .view(
                d.project,
                Project::getProjectCall {
                    projectId: self.project,
                },
            )
            .await
            .unwrap()
            .funded;
        assert!(
            credited + self.claimed <= funded,
            "paid {} > funded {funded}",
            credited + self.claimed
        );
        assert!(
            c.atn_balance(d.rewards).await.unwrap() >= credited,
            "rewards contract is solvent"
        );
        for task in &self.tasks {
            let committers = c.committers(*task).await.unwrap();
            let voters = c
                .view(d.rewards, ResultsRewards::getVotersCall { taskId: *task })
                .await
                .unwrap();
            for list in [committers, voters] {
                let distinct: std::collections::BTreeSet<_> = list.iter().collect();
                assert_eq!(distinct.len(), list.len(), "an address holds two slots");
            }
        }
        let emission = autonet_contracts::DeployConfig::default().epoch_emission;
        let mut final_epochs = 0u64;
        for e in 0..4u64 {
            let root = c
                .view(d.rewards, ResultsRewards::finalMintRootCall(U256::from(e)))
                .await
                .unwrap();
            final_epochs += u64::from(!root.is_zero());
        }
        assert!(
            self.minted <= emission * U256::from(final_epochs),
            "minted past the emission"
        );
        let supply = c
            .view(
                d.atn,
                autonet_contracts::bindings::ATNToken::totalSupplyCall {},
            )
            .await
            .unwrap();
        assert!(
            supply
                <= autonet_contracts::DeployConfig::default().initial_supply
                    + emission * U256::from(final_epochs),
            "ATN supply grew past the emission"
        );
    }
}

fn run_case(actions: Vec<Action>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = EmbeddedChain::genesis(ACCOUNTS + 1 + FRESH as u32, atn(100_000))
            .await
            .unwrap();
        let cast = Cast::new(&c.backend().accounts());
        c.stake(cast.proposer, Role::Proposer, Role::Proposer.min_stake())
            .await
            .unwrap();
        let project = c
            .create_project(cast.deployer, "fuzz", wad_milli(400))
            .await
            .unwrap();
        c.fund_project(cast.deployer, project, atn(2_000))
            .await
            .unwrap();
        let mut actors: Vec<(Address, Role)> =
            cast.solvers.iter().map(|s| (*s, Role::Solver)).collect();
        actors.extend(cast.coordinators.iter().map(|k| (*k, Role::Coordinator)));
        actors.push((cast.aggregator, Role::Aggregator));
        actors.push((cast.outsider, Role::Solver));
        for (who, role) in &actors {
            c.stake(*who, *role, role.min_stake()).await.unwrap();
        }
        let extra = c.backend().accounts();
        let rogue = extra[ACCOUNTS as usize];
        c.stake(rogue, Role::Aggregator, Role::Aggregator.min_stake())
            .await
            .unwrap();
        let fresh: Vec<Address> = extra[ACCOUNTS as usize + 1..].to_vec();
        let mut w = World {
            c,
            cast,
            actors,
            project,
            tasks: vec![],
            claimed: U256::ZERO,
            fresh,
            rogue,
            roots: Vec::new(),
            totals: Vec::new(),
            minted: U256::ZERO,
        };
        let mut ok = std::collections::BTreeMap::<&str, usize>::new();
        for a in &actions {
            match w.step(a).await {
                Ok(()) => *ok.entry(a.name()).or_default() += 1,
                Err(e) => assert!(
                    e.is_declared_revert(),
                    "{a:?} failed without a named revert: {e}"
                ),
            }
            w.check_invariants().await;
        }
        eprintln!("successful calls: {ok:?}; minted {} wei", w.minted);
    });
}

/// Sequences per run: a few dozen in CI, `AUTONET_INVARIANT_CASES` for the long campaign.
fn invariant_cases() -> u32 {
    std::env::var("AUTONET_INVARIANT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

fn d_rewards(c: &Contracts<EmbeddedChain>) -> Address {
    c.addresses.rewards
}

proptest! {
    #![proptest_config(ProptestConfig { cases: invariant_cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_call_sequences_keep_the_invariants(actions in proptest::collection::vec(action(), 20..120)) {
        run_case(actions);
    }
}
