//! The `autonet` binary. See `autonet --help`.

use std::process::ExitCode;

use autonet_node::cli::{Cli, Command};
use autonet_node::config::Config;
use autonet_node::config::dump::DumpFormat;
use autonet_node::{
    agent, bench, chain, cli_docs, gov, identity, infer, integrity, llm, logging, model, overlay,
    simulate, substrate, testnet,
};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

/// mimalloc instead of glibc's malloc: a node runs many small allocations across threads (one
/// task per connection, gossip copies, CBOR buffers), where glibc's arenas showed up as the top
/// entry of CPU profiles (`_int_malloc` 7.8% of a 100-peer gossip run).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    refuse_unused_data_dir(&matches, &cli.command);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // A known contract refusal also says what to do about it.
            if let Some(advice) = err
                .chain()
                .find_map(|e| e.downcast_ref::<autonet_contracts::ChainError>())
                .and_then(autonet_contracts::ChainError::advice)
            {
                eprintln!("hint: {advice}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::resolve(&cli.global, &cli.command)?;
    if let Some(path) = &cli.global.dump_config {
        let format = if cli.dump_json {
            DumpFormat::Json
        } else {
            DumpFormat::Toml
        };
        return Ok(config.dump(path, format)?);
    }
    logging::init(&config.log)?;
    tracing::debug!(data_dir = %config.data_dir.display(), "configuration resolved");
    match cli.command {
        Command::Keygen(args) => {
            let id = identity::load_or_create(&config.data_dir)?;
            if args.json {
                let out = serde_json::json!({
                    "peer_id": id.peer_id().to_string(),
                    "key_file": id.path,
                    "created": id.created,
                });
                println!("{out}");
            } else {
                println!("peer id: {}", id.peer_id());
                let how = if id.created {
                    "created"
                } else {
                    "existing key reused"
                };
                println!("key file: {} ({how})", id.path.display());
            }
            Ok(())
        }
        Command::Bootstrap(_) => overlay::bootstrap(&config),
        Command::Join(_) => overlay::join(&config),
        Command::Bench(args) => bench::run(&args),
        Command::Key(args) => chain::run_key(&config, &args),
        Command::Chain(args) => chain::run_chain(&config, &args),
        Command::Stake(args) => chain::run_stake(&config, &args),
        Command::Unstake(args) => chain::run_unstake(&config, &args),
        Command::Claim(args) => chain::run_claim(&config, &args),
        Command::Balance(args) => chain::run_balance(&config, &args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Testnet(args) => testnet::run(&args),
        Command::Infer(args) => infer::run(&args, &config),
        Command::Substrate(args) => substrate::run(&args),
        Command::Llm(args) => llm::run(&args),
        Command::Agent(args) => agent::run(&args, &config),
        Command::Agents(args) => agent::events(&args),
        Command::Model(args) => model::run(&args, &config.data_dir),
        Command::Gov(args) => gov::run(&config, &args),
        Command::Integrity(args) => integrity::run(&config, &args),
        Command::Completions(args) => Ok(cli_docs::completions(&args)?),
        Command::Man(args) => cli_docs::man(&args),
    }
}

/// Exits with a usage error (status 2) when `--data-dir` was typed on the command line of a
/// command that would ignore it (`Command::data_dir_unused`); from `AUTONET_DATA_DIR` or the
/// config file it is tolerated.
fn refuse_unused_data_dir(matches: &ArgMatches, command: &Command) {
    if matches.value_source("data_dir") != Some(ValueSource::CommandLine) {
        return;
    }
    let Some(why) = command.data_dir_unused() else {
        return;
    };
    let mut name = vec!["autonet"];
    let mut m = matches;
    while let Some((sub, sub_matches)) = m.subcommand() {
        name.push(sub);
        m = sub_matches;
    }
    let message = format!(
        "`{}` does not use --data-dir: {why}. Remove --data-dir (to read a config file, give \
         --config FILE)",
        name.join(" ")
    );
    Cli::command()
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit();
}
