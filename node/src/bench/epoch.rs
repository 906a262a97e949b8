//! `autonet bench epoch`: the work of one training epoch as the number of solvers grows.
//!
//! For each solver count N, a fresh embedded chain holds one proposer, N solvers, C coordinators
//! and one aggregator (staked); the epoch runs phase by phase in this process, with the protocol
//! core and the contracts every role actor uses, but without the overlay (bundles are handed over
//! in memory; the overlay's costs are `autonet bench gossip`): propose (draw, create tasks —
//! one per 32 solvers, the task contract's limit), train (every solver's slice), commit, reveal
//! (ground truth + solutions), verify (every coordinator recomputes every bundle and scores it
//! on the held-out set), vote, finalize (Yuma consensus in the EVM), aggregate (merge, reconcile,
//! mint root), claim (rewards, mint root confirmation, mint claims). Wall time and process CPU
//! time (utime + stime from /proc/self/stat) are taken per phase on a single-threaded runtime.
//! The baseline is the smallest N; the report fits the exponent k of CPU time ∝ N^k.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256, keccak256};
use anyhow::{Context, bail};
use autonet_actors::protocol::assign::slice_of;
use autonet_actors::protocol::data::{draw, held_out_turns, training_turns};
use autonet_actors::protocol::mint::MintList;
use autonet_actors::protocol::model::{Accepted, Substrate, TrainingModel};
use autonet_actors::protocol::score::{acceptance_threshold, score};
use autonet_actors::protocol::secrets::{
    SaltPurpose, derive_salt, proposer_commitment, solver_commitment,
};
use autonet_actors::protocol::wire::content_id;
use autonet_contracts::commitment::vote_commitment;
use autonet_contracts::workload::vote_salt;
use autonet_contracts::{ATN, Backend, Chain, EmbeddedChain, ProtocolView, Role, TaskParams};
use clap::Args;

use super::{BenchReport, Measurement};

/// Solvers per task (the task contract's `MAX_SOLVERS`).
const PER_TASK: usize = 32;
const PHASES: [&str; 9] = [
    "propose",
    "train",
    "commit",
    "reveal",
    "verify",
    "vote",
    "finalize",
    "aggregate",
    "claim",
];

#[derive(Debug, Args)]
pub struct EpochBench {
    /// Solver counts, comma-separated (the smallest is the baseline).
    #[arg(long, value_delimiter = ',', default_values_t = [8usize, 32, 128], env = "AUTONET_BENCH_EPOCH_SOLVERS", value_parser = crate::cli::bounds::count(1..=10_000))]
    pub solvers: Vec<usize>,
    /// Coordinators (each verifies every bundle).
    #[arg(long, default_value_t = 3, env = "AUTONET_BENCH_EPOCH_COORDINATORS", value_parser = crate::cli::bounds::count(1..=64))]
    pub coordinators: usize,
    /// Turns per solver slice.
    #[arg(long, default_value_t = 4, env = "AUTONET_BENCH_EPOCH_SLICE", value_parser = crate::cli::bounds::count(1..=100_000))]
    pub slice: usize,
}

/// Process CPU time so far (user + system).
pub(super) fn cpu_now() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the ')'.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Timings of one epoch: (phase, wall, cpu).
struct EpochRun {
    n: usize,
    phases: Vec<(&'static str, Duration, Duration)>,
}

impl EpochRun {
    fn wall(&self) -> Duration {
        self.phases.iter().map(|p| p.1).sum()
    }
    fn cpu(&self) -> Duration {
        self.phases.iter().map(|p| p.2).sum()
    }
}

struct Timer {
    wall: Instant,
    cpu: Duration,
    out: Vec<(&'static str, Duration, Duration)>,
}

impl Timer {
    fn new() -> Self {
        Timer {
            wall: Instant::now(),
            cpu: cpu_now(),
            out: Vec::new(),
        }
    }
    fn lap(&mut self, phase: &'static str) {
        let (w, c) = (Instant::now(), cpu_now());
        self.out
            .push((phase, w - self.wall, c.saturating_sub(self.cpu)));
        self.wall = w;
        self.cpu = c;
    }
}

async fn mine_past<C: Backend>(chain: &C, block: u64) -> anyhow::Result<()> {
    let head = chain.block_number().await?;
    if head <= block {
        chain.mine(block - head + 1).await?;
    }
    Ok(())
}

async fn run_epoch(n: usize, coordinators: usize, slice_len: usize) -> anyhow::Result<EpochRun> {
    let model = Substrate::new()?;
    let accounts = 1 + 1 + n + coordinators + 1;
    // Phases of 100,000 blocks never end by accident during the bench; unbonding must outlast them.
    let cfg = autonet_contracts::DeployConfig {
        unbonding_blocks: 1_000_000,
        ..Default::default()
    };
    let chain =
        EmbeddedChain::genesis_with(accounts as u32, ATN * U256::from(10_000), &cfg).await?;
    let signers = chain.backend().signers().to_vec();
    let addr = |i: usize| signers[i].address();
    let deployer = addr(0);
    let proposer = addr(1);
    let solvers: Vec<Address> = (0..n).map(|i| addr(2 + i)).collect();
    let coords: Vec<Address> = (0..coordinators).map(|i| addr(2 + n + i)).collect();
    let aggregator = addr(2 + n + coordinators);
    chain
        .stake(proposer, Role::Proposer, Role::Proposer.min_stake())
        .await?;
    for s in &solvers {
        chain
            .stake(*s, Role::Solver, Role::Solver.min_stake())
            .await?;
    }
    for c in &coords {
        chain
            .stake(*c, Role::Coordinator, Role::Coordinator.min_stake())
            .await?;
    }
    chain
        .stake(aggregator, Role::Aggregator, Role::Aggregator.min_stake())
        .await?;
    let project = chain
        .create_project(deployer, "bench", acceptance_threshold())
        .await?;
    let tasks_n = n.div_ceil(PER_TASK);
    let pool = ATN * U256::from(30);
    chain
        .fund_project(deployer, project, pool * U256::from(2 * tasks_n))
        .await?;
    let base = model.genesis();
    let mut t = Timer::new();

    // Propose: one task per 32 solvers.
    let mut tasks = Vec::new();
    for k in 0..tasks_n {
        let seed = keccak256(format!("bench-epoch-{k}"));
        let batch = draw(
            &training_turns(),
            keccak256([seed.as_slice(), b"b"].concat()),
            24,
        );
        let held = draw(
            &held_out_turns(),
            keccak256([seed.as_slice(), b"h"].concat()),
            4,
        );
        let held_id = B256::from(content_id(held.concat().as_bytes()));
        let salt = derive_salt(&[7; 32], SaltPurpose::GroundTruth, U256::from(k));
        let params = TaskParams {
            project_id: project,
            spec_hash: seed,
            ground_truth_commit: proposer_commitment(held_id, salt),
            solver_reward: pool,
            coordinator_reward: pool / U256::from(5),
            commit_blocks: 100_000,
            reveal_blocks: 100_000,
            vote_blocks: 100_000,
            epoch: 1,
        };
        let id = chain.create_task(proposer, &params).await?;
        let members: Vec<Address> = solvers
            .iter()
            .skip(k * PER_TASK)
            .take(PER_TASK)
            .copied()
            .collect();
        tasks.push((id, seed, batch, held, held_id, salt, members));
    }
    t.lap("propose");
    let mut bundles: Vec<Vec<Vec<u8>>> = Vec::new();
    for (_, seed, batch, _, _, _, members) in &tasks {
        let mut v = Vec::new();
        for s in members {
            let slice = slice_of(*seed, *s, batch, slice_len);
            v.push(model.train(&base, &slice, 1, &s.to_string())?);
        }
        bundles.push(v);
    }
    t.lap("train");
    for (k, (id, _, _, _, _, _, members)) in tasks.iter().enumerate() {
        for (j, s) in members.iter().enumerate() {
            let salt = derive_salt(&[9; 32], SaltPurpose::Solution, *id);
            let c = solver_commitment(B256::from(content_id(&bundles[k][j])), salt, *s);
            chain.commit(*s, *id, c).await?;
        }
    }
    t.lap("commit");
    for (k, (id, _, _, _, held_id, gt_salt, members)) in tasks.iter().enumerate() {
        let info = chain.task_info(*id).await?;
        mine_past(chain.backend(), info.commit_deadline).await?;
        chain
            .reveal_ground_truth(proposer, *id, *held_id, *gt_salt)
            .await?;
        for (j, s) in members.iter().enumerate() {
            let salt = derive_salt(&[9; 32], SaltPurpose::Solution, *id);
            chain
                .reveal(*s, *id, B256::from(content_id(&bundles[k][j])), salt)
                .await?;
        }
    }
    t.lap("reveal");
    let mut votes: Vec<Vec<Vec<U256>>> = Vec::new();
    for (k, (id, seed, batch, held, _, _, _)) in tasks.iter().enumerate() {
        let revealed = chain.revealed_solvers(*id).await?;
        let mut per_coord = Vec::new();
        for _ in &coords {
            let mut scores = Vec::new();
            for s in &revealed {
                let j = tasks[k]
                    .6
                    .iter()
                    .position(|m| m == s)
                    .context("unknown solver")?;
                let slice = slice_of(*seed, *s, batch, slice_len);
                let v = model.verify(&base, &slice, 1, &s.to_string(), &bundles[k][j], held)?;
                scores.push(score(&v));
            }
            per_coord.push(scores);
        }
        votes.push(per_coord);
    }
    t.lap("verify");
    // Votes are committed for every task, then revealed once every commit window closed.
    let mut commit_windows_end = 0;
    for (k, (id, ..)) in tasks.iter().enumerate() {
        let info = chain.task_info(*id).await?;
        mine_past(chain.backend(), info.reveal_deadline).await?;
        commit_windows_end = commit_windows_end.max(info.vote_commit_deadline);
        for (c, scores) in coords.iter().zip(&votes[k]) {
            let commitment = vote_commitment(*id, *c, scores, vote_salt(*id, *c));
            chain.commit_vote(*c, *id, commitment).await?;
        }
    }
    mine_past(chain.backend(), commit_windows_end).await?;
    for (k, (id, ..)) in tasks.iter().enumerate() {
        for (c, scores) in coords.iter().zip(&votes[k]) {
            chain
                .reveal_vote(*c, *id, scores.clone(), vote_salt(*id, *c))
                .await?;
        }
    }
    t.lap("vote");
    for (id, ..) in &tasks {
        let info = chain.task_info(*id).await?;
        mine_past(chain.backend(), info.vote_deadline).await?;
        chain.finalize(deployer, *id).await?;
    }
    t.lap("finalize");
    let mut all = Vec::new();
    for (k, (_, seed, batch, _, _, _, members)) in tasks.iter().enumerate() {
        for (j, s) in members.iter().enumerate() {
            all.push(Accepted {
                author: s.to_string(),
                slice: slice_of(*seed, *s, batch, slice_len),
                epochs: 1,
                solution: bundles[k][j].clone(),
            });
        }
    }
    let agg = model.aggregate(&base, &all)?;
    let list = MintList::from_agents(1, &agg.mint)?;
    t.lap("aggregate");
    for who in solvers.iter().chain(&coords) {
        if !chain.claimable(*who).await?.is_zero() {
            chain.claim(*who).await?;
        }
    }
    let epoch = U256::from(1);
    if !list.root().is_zero() {
        chain
            .post_mint_root(
                aggregator,
                epoch,
                list.root(),
                list.total(),
                B256::from(content_id(&agg.model)),
            )
            .await?;
        for c in &coords {
            if chain.final_mint_root(epoch).await?.is_zero() {
                chain.confirm_mint_root(*c, epoch, list.root()).await?;
            }
        }
        for (who, _) in list.pairs() {
            if let Some((amount, proof)) = list.proof_for(who) {
                chain.claim_mint(who, epoch, amount, proof).await?;
            }
        }
    }
    t.lap("claim");
    Ok(EpochRun { n, phases: t.out })
}

/// Least-squares slope of ln(y) over ln(x).
fn exponent(points: &[(f64, f64)]) -> f64 {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (libm::log(*x), libm::log(*y)))
        .collect();
    let k = pts.len() as f64;
    if k < 2.0 {
        return f64::NAN;
    }
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / k,
        pts.iter().map(|p| p.1).sum::<f64>() / k,
    );
    let num: f64 = pts.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = pts.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    num / den
}

impl EpochBench {
    pub fn run(&self) -> anyhow::Result<BenchReport> {
        let mut ns = self.solvers.clone();
        ns.sort_unstable();
        ns.dedup();
        if ns.is_empty() || ns[0] == 0 {
            bail!("--solvers needs at least one positive count");
        }
        if !(2..=16).contains(&self.coordinators) {
            bail!("--coordinators must be between 2 and 16");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let mut runs = Vec::new();
        for n in &ns {
            runs.push(runtime.block_on(run_epoch(*n, self.coordinators, self.slice))?);
        }
        let first = &runs[0];
        let last = &runs[runs.len() - 1];
        let m = |r: &EpochRun| {
            Measurement::new(
                format!("epoch, {} solvers (cpu)", r.n),
                r.cpu(),
                r.n as u64,
                "solvers",
            )
        };
        let mut report = BenchReport::new(
            "epoch",
            format!(
                "one epoch per solver count {ns:?}, {} coordinators, slices of {} turns, embedded EVM, no overlay",
                self.coordinators, self.slice
            ),
            m(first),
            m(last),
        );
        for r in &runs {
            let parts: Vec<String> = r
                .phases
                .iter()
                .map(|(p, _, c)| format!("{p} {:.2}s", c.as_secs_f64()))
                .collect();
            report.notes.push(format!(
                "N={:<4} wall {:>7.2}s cpu {:>7.2}s | cpu per phase: {}",
                r.n,
                r.wall().as_secs_f64(),
                r.cpu().as_secs_f64(),
                parts.join(", ")
            ));
        }
        let total: Vec<(f64, f64)> = runs
            .iter()
            .map(|r| (r.n as f64, r.cpu().as_secs_f64()))
            .collect();
        report.notes.push(format!(
            "fitted exponent of CPU time over N: {:.2}",
            exponent(&total)
        ));
        for (i, phase) in PHASES.iter().enumerate() {
            let pts: Vec<(f64, f64)> = runs
                .iter()
                .map(|r| {
                    (
                        r.n as f64,
                        r.phases.get(i).map_or(0.0, |p| p.2.as_secs_f64()),
                    )
                })
                .collect();
            report
                .notes
                .push(format!("  {phase:<9} exponent {:.2}", exponent(&pts)));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exponent_of_a_power_law() {
        let pts: Vec<(f64, f64)> = [1.0f64, 2.0, 4.0, 8.0]
            .iter()
            .map(|x| (*x, 3.0 * x * x))
            .collect();
        assert!((super::exponent(&pts) - 2.0).abs() < 1e-9);
        assert!(super::exponent(&pts[..1]).is_nan());
    }
}
