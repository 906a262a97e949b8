//! `autonet testnet`: the Rust half of `scripts/local-testnet`, a multi-process dev network on
//! anvil that is comparable run for run with `autonet simulate`.
//!
//! Bird's-eye view: [`setup`] deploys and funds the dev chain and writes a data dir per peer
//! (dev role keystore, protocol secret, libp2p key derived from the seed as the simulation
//! derives them) plus the network plan; the script then starts `autonet bootstrap` and one
//! `autonet join --role …` process per peer; [`drive`] paces the dev chain's blocks on the
//! peers' status endpoints (the simulation's block board across processes), prints progress,
//! injects SIGKILLs at named phases, and prints the simulation's report.

pub mod drive;
pub mod setup;

use clap::{Args, Subcommand};

/// `autonet testnet`.
#[derive(Debug, Args)]
pub struct TestnetArgs {
    /// The step of the dev network to run.
    #[command(subcommand)]
    pub action: TestnetAction,
}

/// The `autonet testnet` subcommands; each variant's doc comment is its `--help` text.
#[derive(Debug, Subcommand)]
pub enum TestnetAction {
    /// Deploy on a fresh dev chain (anvil), fund the dev accounts, create the project, and
    /// write the plan and one data dir per peer (prints `peer NAME ROLE DIR` lines).
    Setup(setup::SetupArgs),
    /// Pace the dev chain on the peers' status endpoints, print progress, kill peers at named
    /// phases, and print the report once every epoch is done.
    Drive(drive::DriveArgs),
}

/// Runs `autonet testnet …`.
pub fn run(args: &TestnetArgs) -> anyhow::Result<()> {
    match &args.action {
        TestnetAction::Setup(a) => setup::run(a),
        TestnetAction::Drive(a) => drive::run(a),
    }
}
