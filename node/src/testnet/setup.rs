//! `autonet testnet setup`: prepares a dev network on a fresh dev chain (anvil) exactly as
//! `autonet simulate` prepares its embedded one — the suite deployed by dev account 0, every
//! peer's dev account funded with the same ATN, the same project and plan — and writes one data
//! dir per peer holding its role keystore (dev account `i + 1`), its protocol secret and its
//! libp2p key, all derived from `--seed` as the simulation derives them. The peers stake and bind
//! themselves when they join. Nothing here is for a real network: dev keys are public.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use anyhow::{Context, bail};
use autonet_contracts::embedded::dev_key;
use autonet_contracts::pending::PendingStore;
use autonet_contracts::{ATN, Chain, RpcChain, RpcConfig, deploy};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::chain::keystore;
use crate::model_kind::ModelKind;
use crate::peer::{plan::PlanFile, secret};
use crate::simulate::network::{
    INITIAL_ATN, create_funded_project, keypair_of, plan_for, roster, secret_of,
};
use crate::simulate::{ByzantineKind, SimulateArgs};

/// The keystore password of every dev peer (dev keys are public anyway).
pub const DEV_PASSWORD: &str = "autonet-testnet-dev";
/// The testnet description inside `--dir`.
pub const TESTNET_FILE: &str = "testnet.json";

/// `autonet testnet setup`.
#[derive(Debug, Clone, Args)]
pub struct SetupArgs {
    /// JSON-RPC endpoint of a fresh dev chain that answers `anvil_setBalance` and `anvil_mine`.
    #[arg(long, env = "AUTONET_RPC_URL", value_name = "URL")]
    pub rpc_url: String,
    /// Directory to create: testnet.json, plan.json, password, bootstrap/ and one data dir per
    /// peer (named like the simulation's peers: proposer-1, solver-1, …).
    #[arg(long, env = "AUTONET_TESTNET_DIR", value_name = "DIR")]
    pub dir: PathBuf,
    /// Print the testnet as JSON: the content of `testnet.json` (`rpc_url`, `governor`, `seed`,
    /// `epochs`, `plan`, `password_file`, `bootstrap_dir`, `peers`: [{`name`, `role`,
    /// `address`, `data_dir`}]).
    #[arg(long)]
    pub json: bool,
    /// Proposers (as `simulate --proposers`, with the same default).
    #[arg(long, default_value_t = 2, env = "AUTONET_TESTNET_PROPOSERS", value_parser = crate::cli::bounds::count(1..=16))]
    pub proposers: usize,
    /// Solvers (as `simulate --solvers`).
    #[arg(long, default_value_t = 3, env = "AUTONET_TESTNET_SOLVERS", value_parser = crate::cli::bounds::count(1..=32))]
    pub solvers: usize,
    /// Coordinators (as `simulate --coordinators`).
    #[arg(long, default_value_t = 3, env = "AUTONET_TESTNET_COORDINATORS", value_parser = crate::cli::bounds::count(2..=16))]
    pub coordinators: usize,
    /// Aggregators (as `simulate --aggregators`).
    #[arg(long, default_value_t = 1, env = "AUTONET_TESTNET_AGGREGATORS", value_parser = crate::cli::bounds::count(1..=16))]
    pub aggregators: usize,
    /// Network epochs.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub epochs: u64,
    /// Seed of secrets and identities (as `simulate --seed`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Turns per task batch.
    #[arg(long, default_value_t = 16, value_parser = crate::cli::bounds::count(1..=100_000))]
    pub batch: usize,
    /// Turns per solver slice.
    #[arg(long, default_value_t = 4, value_parser = crate::cli::bounds::count(1..=100_000))]
    pub slice: usize,
    /// Held-out turns per task.
    #[arg(long, default_value_t = 4, value_parser = crate::cli::bounds::count(1..=100_000))]
    pub held_out: usize,
}

impl SetupArgs {
    /// The simulation these flags mirror.
    pub fn simulate_args(&self) -> SimulateArgs {
        SimulateArgs {
            model: ModelKind::Substrate,
            proposers: self.proposers,
            solvers: self.solvers,
            coordinators: self.coordinators,
            aggregators: self.aggregators,
            epochs: self.epochs,
            seed: self.seed,
            byzantine_solvers: 0,
            byzantine_kind: ByzantineKind::Garbage,
            churn: 0.0,
            drop_coordinator: false,
            rogue_aggregator: false,
            batch: Some(self.batch),
            slice: Some(self.slice),
            held_out: Some(self.held_out),
            block_ms: 10,
            stall_ms: 20_000,
            timeout_s: 900,
            dir: None,
            json: false,
            dashboard: None,
            hold_secs: 0,
            agents: 0,
            agent_tokens: 48,
        }
    }
}

/// One peer of the testnet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestnetPeer {
    /// Roster name, as in the simulation (`proposer-1`, `solver-2`, …).
    pub name: String,
    /// proposer, solver, coordinator or aggregator.
    pub role: String,
    /// Its dev account (dev key `i + 1` in roster order; key 0 deploys), funded with ATN.
    pub address: Address,
    /// Its data dir: role keystore, protocol secret and libp2p key.
    pub data_dir: PathBuf,
}

/// `testnet.json`: what `testnet drive` and `scripts/local-testnet` need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Testnet {
    /// JSON-RPC endpoint of the dev chain it was set up on.
    pub rpc_url: String,
    /// The deployed Governor, discovery root of the contract suite.
    pub governor: Address,
    /// `--seed` of the setup (secrets, identities; same as `simulate --seed`).
    pub seed: u64,
    /// Network epochs the plan runs.
    pub epochs: u64,
    /// The network plan file every peer is started with (`plan.json`).
    pub plan: PathBuf,
    /// File holding [`DEV_PASSWORD`], the password of every peer's keystore.
    pub password_file: PathBuf,
    /// Data dir of the bootstrap node (its libp2p key, derived from the seed).
    pub bootstrap_dir: PathBuf,
    /// Every peer in roster order.
    pub peers: Vec<TestnetPeer>,
}

impl Testnet {
    /// Reads `testnet.json` from the `--dir` of a finished `testnet setup`.
    pub fn read(dir: &Path) -> anyhow::Result<Testnet> {
        let path = dir.join(TESTNET_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (run `autonet testnet setup` first)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
    }
}

/// Runs the setup and prints `peer NAME ROLE DIR` per peer.
pub fn run(args: &SetupArgs) -> anyhow::Result<()> {
    let sim = args.simulate_args();
    sim.validate()?;
    if args.dir.join(TESTNET_FILE).exists() {
        bail!(
            "{} already holds a testnet; use a new directory",
            args.dir.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let testnet = runtime.block_on(setup(args, &sim))?;
    let mut text = format!(
        "governor: {}\nplan: {}",
        testnet.governor,
        testnet.plan.display()
    );
    for p in &testnet.peers {
        text += &format!("\npeer {} {} {}", p.name, p.role, p.data_dir.display());
    }
    crate::output::emit(args.json, &serde_json::to_value(&testnet)?, &text)
}

async fn setup(args: &SetupArgs, sim: &SimulateArgs) -> anyhow::Result<Testnet> {
    let roster = roster(sim);
    let signers: Vec<_> = (0..=roster.len() as u32).map(dev_key).collect();
    let deployer = signers[0].address();
    let rpc = RpcChain::connect(
        &args.rpc_url,
        signers.clone(),
        PendingStore::in_memory(),
        RpcConfig::default(),
    )
    .await
    .with_context(|| format!("cannot use the chain at {}", args.rpc_url))?;
    let ether = U256::from(1_000_000u64) * U256::from(10u64).pow(U256::from(18u64));
    for s in &signers {
        rpc.provider()
            .raw_request::<_, serde_json::Value>("anvil_setBalance".into(), (s.address(), ether))
            .await
            .context("anvil_setBalance failed: `testnet setup` needs a dev chain (anvil)")?;
    }
    let c = deploy(
        rpc,
        deployer,
        &crate::simulate::network::deploy_config(&args.simulate_args()),
    )
    .await
    .context("deployment failed")?;
    for s in &signers[1..] {
        c.transfer_atn(deployer, s.address(), ATN * U256::from(INITIAL_ATN))
            .await?;
    }
    let project = create_funded_project(&c, deployer, sim).await?;
    let proposers: Vec<Address> = roster
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| *r == autonet_contracts::Role::Proposer)
        .map(|(i, _)| signers[i + 1].address())
        .collect();
    let plan = plan_for(sim, project, proposers);
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    let plan_path = dir.join("plan.json");
    PlanFile::from_network_plan(c.addresses.governor, &plan).write(&plan_path)?;
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{DEV_PASSWORD}\n"))?;
    let mut peers = Vec::new();
    for (i, (name, role)) in roster.iter().enumerate() {
        let label = format!("{role:?}").to_lowercase();
        let data_dir = dir.join(name);
        keystore::store(
            &keystore::key_path(&data_dir, &label)?,
            &signers[i + 1],
            DEV_PASSWORD,
        )?;
        secret::write_new(&data_dir, &secret_of(args.seed, i))?;
        let key = keypair_of(args.seed, i)?.to_protobuf_encoding()?;
        crate::identity::store_new(&data_dir, &key)?;
        peers.push(TestnetPeer {
            name: name.clone(),
            role: label,
            address: signers[i + 1].address(),
            data_dir,
        });
    }
    let bootstrap_dir = dir.join("bootstrap");
    let mut boot =
        alloy::primitives::keccak256(format!("autonet/simulate/{}/bootstrap", args.seed)).0;
    let boot_key = autonet_p2p::Keypair::ed25519_from_bytes(&mut boot)?.to_protobuf_encoding()?;
    crate::identity::store_new(&bootstrap_dir, &boot_key)?;
    let testnet = Testnet {
        rpc_url: args.rpc_url.clone(),
        governor: c.addresses.governor,
        seed: args.seed,
        epochs: args.epochs,
        plan: plan_path,
        password_file,
        bootstrap_dir,
        peers,
    };
    std::fs::write(
        dir.join(TESTNET_FILE),
        serde_json::to_string_pretty(&testnet)? + "\n",
    )?;
    Ok(testnet)
}
