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
//! The round is [`crate::round::run`] with [`crate::round::trained`]'s work; this module times it.

use std::time::{Duration, Instant};

use alloy::primitives::U256;
use anyhow::{Context, bail};
use autonet_actors::protocol::score::acceptance_threshold;
use autonet_contracts::{ATN, Backend, EmbeddedChain};
use clap::Args;

use super::{BenchReport, Measurement};
use crate::round::trained::Trained;
use crate::round::{self, Cast, PER_TASK, Phase, Terms};

/// The timed phases, in order (setup is not timed).
const PHASES: [Phase; 9] = [
    Phase::Propose,
    Phase::Train,
    Phase::Commit,
    Phase::Reveal,
    Phase::Verify,
    Phase::Vote,
    Phase::Finalize,
    Phase::Aggregate,
    Phase::Claim,
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
            cpu: crate::process::cpu_time(),
            out: Vec::new(),
        }
    }
    fn lap(&mut self, phase: &'static str) {
        let (w, c) = (Instant::now(), crate::process::cpu_time());
        self.out
            .push((phase, w - self.wall, c.saturating_sub(self.cpu)));
        self.wall = w;
        self.cpu = c;
    }
}

async fn run_epoch(n: usize, coordinators: usize, slice_len: usize) -> anyhow::Result<EpochRun> {
    let mut work = Trained::new(slice_len, 1)?;
    let accounts = 1 + 1 + n + coordinators + 1;
    // Phases of 100,000 blocks never end by accident during the bench; unbonding must outlast them.
    let cfg = autonet_contracts::DeployConfig {
        unbonding_blocks: 1_000_000,
        ..Default::default()
    };
    let chain =
        EmbeddedChain::genesis_with(accounts as u32, ATN * U256::from(10_000), &cfg).await?;
    let addr = chain.backend().accounts();
    let cast = Cast {
        funder: addr[0],
        proposer: addr[1],
        solvers: addr[2..2 + n].to_vec(),
        coordinators: addr[2 + n..2 + n + coordinators].to_vec(),
        aggregator: addr[2 + n + coordinators],
    };
    let pool = ATN * U256::from(30);
    let terms = Terms {
        epoch: 1,
        threshold: acceptance_threshold(),
        funding: pool * U256::from(2 * n.div_ceil(PER_TASK)),
        solver_reward: pool,
        coordinator_reward: pool / U256::from(5),
        windows: [100_000; 3],
    };
    let mut timer = Timer::new();
    round::run(&chain, &cast, &terms, &mut work, |phase| match phase {
        // Timing starts once the stakes and the project are in place.
        Phase::Setup => timer = Timer::new(),
        p => timer.lap(p.name()),
    })
    .await?;
    Ok(EpochRun {
        n,
        phases: timer.out,
    })
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
        for (i, phase) in PHASES.iter().map(|p| p.name()).enumerate() {
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
