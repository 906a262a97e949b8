use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use autonet_contracts::anvil::{AnvilProcess, default_binary};
use autonet_contracts::embedded::dev_key;
use autonet_contracts::pending::PendingStore;
use autonet_contracts::{
    Backend, Contracts, DeployConfig, EmbeddedChain, GasRow, RpcChain, RpcConfig, deploy,
};
use clap::Args;

use super::{BenchReport, Measurement};
use crate::round::fixed;

/// Runs complete protocol rounds (stake, project, task, commit, reveal, vote, finalize, claim,
/// mint root, shard registration) on the embedded EVM (baseline) and on a local anvil over
/// JSON-RPC (measured). Also prints the gas used per function, identical on both backends.
#[derive(Debug, Args)]
pub struct ChainBench {
    /// Protocol rounds per backend.
    #[arg(long, default_value_t = 3, env = "AUTONET_BENCH_ROUNDS", value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub rounds: u64,
    /// anvil binary [default: $AUTONET_ANVIL, else the npm package under contracts/node_modules,
    /// else `anvil` on PATH].
    #[arg(long, value_name = "FILE")]
    pub anvil: Option<PathBuf>,
}

async fn rounds<B: Backend>(c: &Contracts<B>, n: u64) -> anyhow::Result<std::time::Duration> {
    let accounts = c.backend().accounts();
    let start = Instant::now();
    for round in 1..=n {
        fixed::round(c, &accounts, round)
            .await
            .with_context(|| format!("round {round}"))?;
    }
    Ok(start.elapsed())
}

fn gas_lines(rows: &[GasRow]) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<20} {:<18} {:>5} {:>9} {:>9} {:>9}",
        "gas: contract", "function", "calls", "min", "mean", "max"
    )];
    lines.extend(rows.iter().map(|r| {
        format!(
            "{:<20} {:<18} {:>5} {:>9} {:>9} {:>9}",
            r.contract, r.function, r.calls, r.min, r.mean, r.max
        )
    }));
    lines
}

impl ChainBench {
    pub fn run(&self) -> anyhow::Result<BenchReport> {
        anyhow::ensure!(self.rounds > 0, "--rounds must be at least 1");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        rt.block_on(async {
            let n = fixed::ACCOUNTS as u32;
            let embedded = deploy(
                EmbeddedChain::new(n),
                dev_key(0).address(),
                &DeployConfig::default(),
            )
            .await?;
            fixed::fund(&embedded).await?;
            let base = rounds(&embedded, self.rounds).await?;

            let bin = self.anvil.clone().unwrap_or_else(default_binary);
            let anvil = AnvilProcess::spawn(&bin, None, None).await?;
            let keys: Vec<_> = (0..n).map(dev_key).collect();
            anvil
                .fund(&keys.iter().map(|k| k.address()).collect::<Vec<_>>())
                .await?;
            let cfg = RpcConfig {
                expected_chain_id: Some(autonet_contracts::embedded::EMBEDDED_CHAIN_ID),
                ..Default::default()
            };
            let chain = RpcChain::connect(&anvil.url, keys, PendingStore::in_memory(), cfg).await?;
            let rpc = deploy(chain, dev_key(0).address(), &DeployConfig::default()).await?;
            fixed::fund(&rpc).await?;
            let measured = rounds(&rpc, self.rounds).await?;

            let gas = embedded.gas_table();
            let same_gas = gas == rpc.gas_table();
            let mut report = BenchReport::new(
                "chain",
                format!(
                    "{} protocol rounds per backend; anvil {}",
                    self.rounds,
                    bin.display()
                ),
                Measurement::new(
                    "embedded EVM (revm, in process)",
                    base,
                    self.rounds,
                    "rounds",
                ),
                Measurement::new("anvil over JSON-RPC", measured, self.rounds, "rounds"),
            );
            report.notes.push(format!(
                "gas per function identical on both backends: {same_gas}"
            ));
            report.notes.extend(gas_lines(&gas));
            Ok(report)
        })
    }
}
