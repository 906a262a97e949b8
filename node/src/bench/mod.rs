//! `autonet bench <name>`: named benchmarks.
//!
//! Every benchmark measures a **baseline in the same run** and reports the ratio of its subject
//! to it, so a result means something on any machine. Each benchmark is a subcommand with its own
//! flags; results and the commands that produced them are recorded in `BENCHMARKS.md`.

mod agents;
mod chain;
#[cfg(feature = "compare-codecs")]
mod codec_compare;
mod epoch;
mod gossip;
mod gossip_probe;
mod jepa;
mod llm;
mod report;
mod shard_fetch;
mod shards;
mod store;
mod substrate;

use clap::{Args, Subcommand};

pub use report::{BenchReport, Measurement};

/// `autonet bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Print the report as JSON instead of a table.
    #[arg(long, global = true, env = "AUTONET_BENCH_JSON")]
    pub json: bool,
    /// List the benchmarks (name and what each measures) and exit.
    #[arg(long)]
    pub list: bool,
    /// The benchmark to run.
    #[command(subcommand)]
    pub bench: Option<BenchCommand>,
}

/// The benchmarks; `autonet bench <name> --help` explains each.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// State store: one durable commit per record, against one batched commit of all records.
    Store(store::StoreBench),
    /// Gossip delivery latency over N in-process peers in units of an emulated hop delay, and
    /// memory per peer.
    Gossip(gossip::GossipBench),
    /// VL-JEPA on ONNX Runtime: train steps against the forward loss; inference at batch 1 / 32.
    Jepa(jepa::JepaBench),
    /// World-model substrate: training throughput on 1k and 10k-turn streams in tasks of ≤256
    /// turns, the scaling exponent, and (with --prototype PATH) the ratio to the Python prototype.
    Substrate(substrate::SubstrateBench),
    /// Embedded language model: tokens/s and time to first token called directly (baseline)
    /// against the same requests over the node's OpenAI-compatible endpoint.
    Llm(llm::LlmBench),
    /// Agent runtime: the embedded model's answers called directly (baseline) against the same
    /// questions as agent runs (supervisor, actor, ledger, events, traces).
    Agents(agents::AgentsBench),
    /// Contract suite: protocol rounds on the embedded EVM (baseline) against anvil over JSON-RPC.
    Chain(chain::ChainBench),
    /// One training epoch with N solvers: wall and CPU time per phase, fitted exponent over N.
    Epoch(epoch::EpochBench),
    /// Model shards: Reed-Solomon encode (with BLAKE3 leaves and Merkle root) and rebuild of a
    /// model against one BLAKE3 pass over it; then a fetch over the overlay from many
    /// rate-limited holders against one.
    Shards(shards::ShardsBench),
}

/// Runs the chosen benchmark and prints its report.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let bench = match &args.bench {
        Some(bench) if !args.list => bench,
        _ => {
            anyhow::ensure!(
                args.list,
                "name a benchmark: `autonet bench --list` shows them, `autonet bench <name> --help` explains one"
            );
            return list(args.json);
        }
    };
    let report = match bench {
        BenchCommand::Store(b) => b.run()?,
        BenchCommand::Gossip(b) => b.run()?,
        BenchCommand::Jepa(b) => b.run()?,
        BenchCommand::Substrate(b) => b.run()?,
        BenchCommand::Chain(b) => b.run()?,
        BenchCommand::Llm(b) => b.run()?,
        BenchCommand::Agents(b) => b.run()?,
        BenchCommand::Shards(b) => b.run()?,
        BenchCommand::Epoch(b) => b.run()?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

/// `autonet bench --list`: each benchmark's name and summary, read from the subcommands' own
/// help so the list cannot drift from them.
fn list(json: bool) -> anyhow::Result<()> {
    use clap::Subcommand as _;
    let command = BenchCommand::augment_subcommands(clap::Command::new("bench"));
    let benches: Vec<(String, String)> = command
        .get_subcommands()
        .map(|c| {
            let about = c.get_about().map(ToString::to_string).unwrap_or_default();
            (c.get_name().to_string(), about)
        })
        .collect();
    let text = if json {
        let list: Vec<_> = benches
            .iter()
            .map(|(name, about)| serde_json::json!({ "name": name, "about": about }))
            .collect();
        serde_json::to_string_pretty(&list)? + "\n"
    } else {
        let width = benches.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        benches
            .iter()
            .map(|(name, about)| format!("{name:<width$}  {about}\n"))
            .collect()
    };
    Ok(crate::output::stdout(text.as_bytes())?)
}
