//! `autonet simulate`: N peers of the network on this machine, over the real overlay and an
//! embedded chain, ending in a report.
//!
//! The overlay, substrate, chain and protocol issues fill this in; until they land the command
//! says plainly what it cannot do yet instead of pretending.

use clap::Args;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Number of peers to start (all in this process, on 127.0.0.1).
    #[arg(long, default_value_t = 8, env = "AUTONET_SIM_PEERS")]
    pub peers: usize,
    /// Seed that makes a run reproducible.
    #[arg(long, default_value_t = 0, env = "AUTONET_SIM_SEED")]
    pub seed: u64,
}

/// What `simulate` can run in this build.
pub fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    println!(
        "autonet simulate (peers = {}, seed = {})",
        args.peers, args.seed
    );
    println!(
        "This build cannot run a simulation yet: the overlay, the substrate engine, the embedded \
         chain and the training protocol are still being built (see README.md, 'Status')."
    );
    println!("Nothing was started.");
    Ok(())
}
