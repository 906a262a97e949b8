//! The `autonet` command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

/// autonet: a node of a decentralized AI training, inference and agent network.
///
/// Peers join a libp2p overlay, take staked roles (proposer, solver, coordinator, aggregator),
/// train a shared model through a commit-reveal protocol checked and paid by EVM contracts, and
/// serve inference. Every flag can also be set by the environment variable shown in its help, or
/// in the TOML config file; a flag beats the variable, which beats the file, which beats the
/// default. `autonet --dump-config - <command>` prints the configuration that results.
#[derive(Debug, Parser)]
#[command(
    name = "autonet",
    version,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options that every command takes.
#[derive(Debug, Args, Default)]
pub struct GlobalArgs {
    /// Where the node keeps its identity key, config file and state database
    /// [default: $XDG_DATA_HOME/autonet or ~/.local/share/autonet].
    #[arg(long, global = true, env = "AUTONET_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// TOML config file [default: <data-dir>/config.toml when it exists].
    #[arg(long, global = true, env = "AUTONET_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log output format [default: text].
    #[arg(long, global = true, env = "AUTONET_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Log filter: a level (error, warn, info, debug, trace) or per-target directives such as
    /// `info,autonet_p2p=debug` [default: info].
    #[arg(long, global = true, env = "AUTONET_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,

    /// Write the effective configuration as TOML to FILE (`-` for stdout) and exit.
    #[arg(long, global = true, env = "AUTONET_DUMP_CONFIG", value_name = "FILE")]
    pub dump_config: Option<PathBuf>,
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the node's ed25519 identity key in the data dir, or show the existing one.
    ///
    /// The key is kept in `<data-dir>/node_key` (libp2p protobuf encoding, mode 0600). Running
    /// keygen again reuses it and prints the same peer id; a key file that cannot be read is
    /// reported and never overwritten.
    Keygen(KeygenArgs),

    /// Run a bootstrap node: a long-lived peer that others dial first.
    ///
    /// Prints the peer id and the multiaddrs to give to `autonet join --bootstrap`, serves the
    /// status JSON on localhost, and stops cleanly on Ctrl-C.
    Bootstrap(crate::overlay::BootstrapArgs),

    /// Join the network through a bootstrap peer: discover peers through Kademlia, subscribe to
    /// the protocol topics, serve the status JSON (and metrics with --metrics) on localhost.
    ///
    /// With --role proposer|solver|coordinator|aggregator the node also takes that staked role
    /// in the training protocol on the chain at --rpc-url, following the network plan given by
    /// --plan. Before the first start: `autonet key create --role R` (or `key import`) and fund
    /// the address with the role's minimum stake in ATN plus gas. On start the peer stakes the
    /// minimum if its address is not staked yet, binds its PeerId to the address on chain if it
    /// is not bound yet, prints a progress line per protocol phase, and serves its role status at
    /// http://<status>/status. It keeps its state in the data dir (state.redb: stages,
    /// commitments, salts, bundles; chain.redb: transactions in flight; protocol_secret: the
    /// seed of its salts), so after a restart — even after `kill -9` — it resumes its phase.
    /// Ctrl-C or SIGTERM stops it cleanly. Example (a dev network from `autonet testnet setup`):
    ///
    ///   autonet --data-dir net/solver-1 join --role solver --rpc-url http://127.0.0.1:8545
    ///     --plan net/plan.json --password-file net/password --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/<ID>
    #[command(verbatim_doc_comment)]
    Join(crate::overlay::JoinArgs),

    /// Run a named benchmark; each prints a baseline measured in the same run and the ratio to it.
    ///
    /// `autonet bench --list` shows the benchmarks. Results and the commands that produced them
    /// are recorded in BENCHMARKS.md.
    Bench(crate::bench::BenchArgs),

    /// Manage the encrypted EVM keystore of a role (create, import, show the address).
    Key(crate::chain::KeyArgs),

    /// Deploy the contract suite, or discover and print its addresses from the Governor.
    Chain(crate::chain::ChainArgs),

    /// Stake ATN for a role (approve + stake; default amount: the role's minimum).
    Stake(crate::chain::StakeArgs),

    /// Start unbonding a role's stake, or withdraw it once unbonded.
    Unstake(crate::chain::RoleArgs),

    /// Withdraw the rewards credited to a role's address.
    Claim(crate::chain::RoleArgs),

    /// Print a role's ATN balance, stake and claimable rewards.
    Balance(crate::chain::RoleArgs),

    /// Run a local multi-peer simulation of the network on this machine.
    Simulate(crate::simulate::SimulateArgs),

    /// A multi-process dev network on anvil (`scripts/local-testnet` runs it): `setup` deploys
    /// and writes every peer's data dir, `drive` paces the chain and prints the report.
    Testnet(crate::testnet::TestnetArgs),

    /// Ask a model a question and report which inference path answered.
    Infer(crate::infer::InferArgs),

    /// The world-model substrate: train on a turn stream (`replay`), synthetic streams (`sample`).
    Substrate(crate::substrate::SubstrateArgs),

    /// Model shards: `publish` a file over the network (or into a shard folder with --out),
    /// `fetch` a model by id, `status` of a model's holders or of a shard folder, `rebuild`.
    Model(crate::model::ModelArgs),
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Print the result as JSON.
    #[arg(long, env = "AUTONET_KEYGEN_JSON")]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap checks argument names only when a command is built; this builds every subcommand, so
    /// a clash (such as a second `--version`) fails here instead of panicking for a user.
    #[test]
    fn every_command_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
