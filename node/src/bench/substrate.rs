//! `autonet bench substrate`: training throughput of the world-model substrate.
//!
//! Synthetic turn streams (deterministic, `autonet substrate sample`) are trained in tasks of at
//! most `--task-size` turns, each task starting from the world the previous one left, as solvers
//! do across epochs of the network. The baseline is the smallest stream measured in the same run;
//! the ratio of the largest to it gives the scaling exponent (time ∝ turns^k). With `--prototype
//! PATH` (a checkout of autonet-code/world-model) the same streams of `--prototype-turns` also run
//! through the Python prototype engine, and the report says how much faster this engine is and
//! whether both agree on root scores and node counts.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use autonet_models::substrate::{World, sample};
use clap::Args;
use serde_json::Value;

use super::{BenchReport, Measurement};
use crate::substrate::train_in_tasks;

#[derive(Debug, Args)]
pub struct SubstrateBench {
    /// Stream lengths to measure, comma-separated (the smallest is the baseline).
    #[arg(long, value_delimiter = ',', default_values_t = [1000usize, 10000], env = "AUTONET_BENCH_SUBSTRATE_TURNS", value_parser = crate::cli::bounds::count(1..=10_000_000))]
    pub turns: Vec<usize>,
    /// Most turns per task.
    #[arg(long, default_value_t = 256, env = "AUTONET_BENCH_SUBSTRATE_TASK_SIZE", value_parser = crate::cli::bounds::count(1..=1_000_000))]
    pub task_size: usize,
    /// Epochs per task.
    #[arg(long, default_value_t = 1, env = "AUTONET_BENCH_SUBSTRATE_EPOCHS", value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub epochs: u32,
    /// Seed of the synthetic streams.
    #[arg(long, default_value_t = 7, env = "AUTONET_BENCH_SUBSTRATE_SEED")]
    pub seed: u64,
    /// A checkout of autonet-code/world-model to compare against.
    #[arg(long, env = "AUTONET_BENCH_SUBSTRATE_PROTOTYPE", value_name = "PATH")]
    pub prototype: Option<PathBuf>,
    /// Stream lengths for the prototype comparison (2 epochs each, one task).
    #[arg(long, value_delimiter = ',', default_values_t = [50usize, 200], env = "AUTONET_BENCH_SUBSTRATE_PROTOTYPE_TURNS")]
    pub prototype_turns: Vec<usize>,
    /// The prototype driver script.
    #[arg(
        long,
        default_value = "scripts/prototype-driver.py",
        env = "AUTONET_BENCH_SUBSTRATE_DRIVER"
    )]
    pub driver: PathBuf,
}

fn time_stream(
    n: usize,
    task_size: usize,
    epochs: u32,
    seed: u64,
) -> anyhow::Result<(Measurement, World)> {
    let turns = sample::synthetic_turns(seed, n);
    let mut world = World::charter_v1();
    let start = Instant::now();
    train_in_tasks(&mut world, &turns, task_size, epochs, "bench")?;
    let label = format!("{n} turns, tasks of ≤{task_size}");
    Ok((
        Measurement::new(
            label,
            start.elapsed(),
            (n as u64) * u64::from(epochs.max(1)),
            "turns",
        ),
        world,
    ))
}

impl SubstrateBench {
    pub fn run(&self) -> anyhow::Result<BenchReport> {
        let mut sizes = self.turns.clone();
        sizes.sort_unstable();
        sizes.dedup();
        if sizes.len() < 2 || sizes[0] == 0 {
            bail!("--turns needs at least two different positive stream lengths");
        }
        let mut runs = Vec::new();
        for &n in &sizes {
            let (m, world) = time_stream(n, self.task_size, self.epochs, self.seed)?;
            runs.push((n, m, world.unique_node_count()));
        }
        let (n0, base, _) = &runs[0];
        let (n1, top, _) = &runs[runs.len() - 1];
        let exponent = libm::log(top.seconds / base.seconds) / libm::log(*n1 as f64 / *n0 as f64);
        let mut report = BenchReport::new(
            "substrate",
            format!(
                "synthetic streams (seed {}), {} epoch(s) per task, tasks of ≤{} turns",
                self.seed, self.epochs, self.task_size
            ),
            base.clone(),
            top.clone(),
        );
        for (n, m, nodes) in &runs {
            report.notes.push(format!(
                "{n} turns: {:.3} s, {:.0} turns/s, {nodes} nodes",
                m.seconds,
                m.throughput()
            ));
        }
        report.notes.push(format!(
            "scaling exponent: time ∝ turns^{exponent:.2} between {n0} and {n1} turns"
        ));
        if let Some(path) = &self.prototype {
            for &n in &self.prototype_turns {
                report.notes.push(self.against_prototype(path, n)?);
            }
        }
        Ok(report)
    }

    /// Runs an `n`-turn stream (2 epochs, one task) through both engines.
    fn against_prototype(&self, checkout: &std::path::Path, n: usize) -> anyhow::Result<String> {
        let turns = sample::synthetic_turns(self.seed, n);
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("turns.jsonl");
        let lines: Vec<String> = turns
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        std::fs::write(&file, lines.join("\n"))?;
        let out = Command::new("python3")
            .arg(&self.driver)
            .arg(checkout)
            .arg("--turns")
            .arg(&file)
            .args(["--epochs", "2", "--task-size", &n.max(1).to_string()])
            .output()
            .with_context(|| format!("cannot run python3 {}", self.driver.display()))?;
        if !out.status.success() {
            bail!(
                "prototype driver failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let proto: Value =
            serde_json::from_slice(&out.stdout).context("prototype driver printed no JSON")?;
        let proto_s = proto["seconds"]
            .as_f64()
            .context("no `seconds` from the prototype driver")?;
        let mut world = World::charter_v1();
        let start = Instant::now();
        train_in_tasks(&mut world, &turns, n.max(1), 2, "bench")?;
        let ours = start.elapsed().as_secs_f64();
        let agree = world.root_scores().iter().all(|(id, s)| {
            proto["root_scores"][id]
                .as_f64()
                .is_some_and(|p| (p - s).abs() <= 1e-6)
        }) && proto["unique_nodes"].as_u64() == Some(world.unique_node_count() as u64);
        Ok(format!(
            "prototype, {n} turns × 2 epochs: {proto_s:.3} s vs {ours:.4} s here: {:.0}× faster; results {}",
            proto_s / ours,
            if agree { "agree" } else { "DIFFER" }
        ))
    }
}
