//! Chain commands: `autonet key …` (encrypted keystores per role), `autonet chain deploy|info`,
//! and `autonet stake|unstake|claim|balance` against any EVM JSON-RPC endpoint.
//!
//! Every command discovers the suite from the Governor (`chain info` prints what it finds), signs
//! with the role's keystore, and keeps in-flight transactions in the node's state store
//! (`<data-dir>/chain.redb`, table `contracts.pending_tx`) so they are resubmitted after a crash.
//! A `pending-<role>.json` left by an older version is imported into the store once.

pub mod keystore;

/// The chain layer's state store (pending transactions) under the data dir.
pub const CHAIN_STORE_FILE: &str = "chain.redb";

use std::path::{Path, PathBuf};

use alloy::primitives::utils::parse_ether;
use alloy::primitives::{Address, U256};
use anyhow::{Context, bail};
use autonet_contracts::Atn;
use autonet_contracts::pending::PendingStore;
use autonet_contracts::{Chain, Contracts, DeployConfig, RpcChain, RpcConfig, deploy, discover};
use clap::{Args, Subcommand};

use crate::config::{ChainConfig, Config};
use crate::peer::RoleArg;
use keystore::KeyName;

/// `autonet key`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Print the result as one JSON object: `{"role", "action", "address", "keystore"}`.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do with the key.
    #[command(subcommand)]
    pub action: KeyAction,
}

/// The `autonet key` subcommands; each variant's doc comment is its `--help` text.
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Create a new random key for a role (never overwrites an existing one).
    Create(KeyOpts),
    /// Import a hex private key from a file.
    Import {
        /// Which key to write and its password.
        #[command(flatten)]
        opts: KeyOpts,
        /// File holding the hex private key.
        #[arg(long, env = "AUTONET_PRIVATE_KEY_FILE", value_name = "FILE")]
        private_key_file: PathBuf,
    },
    /// Print a role's address.
    Show(KeyOpts),
}

/// Which key and how to unlock it.
#[derive(Debug, Args)]
pub struct KeyOpts {
    /// Which key: a staked role's or the deployer's (`chain deploy`).
    #[arg(long, env = "AUTONET_KEY_ROLE", value_enum)]
    pub role: KeyName,
    /// File whose first line is the keystore password [default: $AUTONET_KEY_PASSWORD].
    #[arg(long, env = "AUTONET_KEY_PASSWORD_FILE", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// Where the chain is (also `chain.rpc_url` and `chain.chain_id` in the config file).
#[derive(Debug, Args)]
pub struct RpcArgs {
    /// JSON-RPC endpoint of the chain (needed here or in the config file).
    #[arg(long, env = "AUTONET_RPC_URL", value_name = "URL")]
    pub rpc_url: Option<String>,
    /// Refuse to talk to a node that reports another chain id.
    #[arg(long, env = "AUTONET_CHAIN_ID", value_parser = clap::value_parser!(u64).range(1..))]
    pub chain_id: Option<u64>,
}

/// `autonet chain`.
#[derive(Debug, Args)]
pub struct ChainArgs {
    /// Print the result as one JSON object: deploy `{"governor"}`; info `{"<key>": {"name",
    /// "address"}, …}`.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do on the chain.
    #[command(subcommand)]
    pub action: ChainAction,
}

/// The `autonet chain` subcommands; each variant's doc comment is its `--help` text.
#[derive(Debug, Subcommand)]
pub enum ChainAction {
    /// Deploy the whole contract suite with the `deployer` key; prints the Governor address.
    Deploy {
        /// The chain to deploy to.
        #[command(flatten)]
        rpc: RpcArgs,
        /// File whose first line is the keystore password [default: $AUTONET_KEY_PASSWORD].
        #[arg(long, env = "AUTONET_KEY_PASSWORD_FILE", value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Discover every contract address from the Governor and print them.
    Info {
        /// The chain to read.
        #[command(flatten)]
        rpc: RpcArgs,
        /// Governor address, the discovery root (needed here or as `chain.governor`).
        #[arg(long, env = "AUTONET_GOVERNOR")]
        governor: Option<Address>,
    },
}

/// Options of `stake`, `unstake`, `claim` and `balance`.
#[derive(Debug, Args)]
pub struct RoleArgs {
    /// The chain the role is staked on.
    #[command(flatten)]
    pub rpc: RpcArgs,
    /// Governor address, the discovery root (needed here or as `chain.governor`).
    #[arg(long, env = "AUTONET_GOVERNOR")]
    pub governor: Option<Address>,
    /// The staked role; its keystore `<data-dir>/keys/<role>.json` signs.
    #[arg(long, env = "AUTONET_KEY_ROLE", value_enum)]
    pub role: RoleArg,
    /// File whose first line is the keystore password [default: $AUTONET_KEY_PASSWORD].
    #[arg(long, env = "AUTONET_KEY_PASSWORD_FILE", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Print the result as one JSON object (amounts in wei, as 0x-hex strings): balance and
    /// stake `{"address", "balance_wei", "stake_wei", "role", "unlock_block", "claimable_wei"}`;
    /// unstake `{"address", "action": "unbonding"|"withdrew", "unlock_block"|"amount_wei"}`;
    /// claim `{"address", "claimed_wei"}`.
    #[arg(long)]
    pub json: bool,
}

/// `autonet stake`.
#[derive(Debug, Args)]
pub struct StakeArgs {
    /// The chain, Governor and role key, as for the other role commands.
    #[command(flatten)]
    pub role: RoleArgs,
    /// ATN to stake [default: the role's minimum].
    #[arg(long, env = "AUTONET_STAKE_AMOUNT")]
    pub amount: Option<String>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// The endpoint of `chain`, or an error saying how to give it.
fn rpc_url(chain: &ChainConfig) -> anyhow::Result<&str> {
    chain
        .rpc_url
        .as_deref()
        .context("no chain endpoint: give --rpc-url URL or chain.rpc_url in the config file")
}

/// The Governor of `chain`, or an error saying how to give it.
fn governor(chain: &ChainConfig) -> anyhow::Result<Address> {
    chain
        .governor
        .context("no Governor: give --governor ADDRESS or chain.governor in the config file")
}

async fn connect(
    data_dir: &Path,
    chain: &ChainConfig,
    key_role: &str,
) -> anyhow::Result<(RpcChain, Address)> {
    let url = rpc_url(chain)?;
    let password = keystore::password(chain.password_file.as_deref())?;
    let signer = keystore::load(&keystore::key_path(data_dir, key_role)?, &password)?;
    let address = signer.address();
    let pending = PendingStore::open(&data_dir.join(CHAIN_STORE_FILE))
        .with_context(|| format!("cannot open the state store in {}", data_dir.display()))?;
    let legacy = data_dir.join(format!("pending-{key_role}.json"));
    let imported = pending.import_json(&legacy)?;
    if imported > 0 {
        tracing::info!(
            "imported {imported} pending transactions from {}",
            legacy.display()
        );
    }
    let cfg = RpcConfig {
        expected_chain_id: chain.chain_id,
        ..Default::default()
    };
    let rpc = RpcChain::connect(url, vec![signer], pending, cfg)
        .await
        .with_context(|| format!("cannot use the chain at {url}"))?;
    Ok((rpc, address))
}

/// The suite discovered from the configured Governor, signing with the `key_role` keystore.
pub(crate) async fn suite(
    data_dir: &Path,
    chain: &ChainConfig,
    key_role: &str,
) -> anyhow::Result<(Contracts<RpcChain>, Address)> {
    let governor = governor(chain)?;
    let (rpc, me) = connect(data_dir, chain, key_role).await?;
    let c = discover(rpc, governor)
        .await
        .with_context(|| format!("no autonet suite found from Governor {governor}"))?;
    Ok((c, me))
}

/// `autonet key …`.
pub fn run_key(config: &Config, args: &KeyArgs) -> anyhow::Result<()> {
    let data_dir = config.data_dir.as_path();
    let (opts, action) = match &args.action {
        KeyAction::Create(o) => (o, "created"),
        KeyAction::Import { opts, .. } => (opts, "imported"),
        KeyAction::Show(o) => (o, "show"),
    };
    let path = keystore::key_path(data_dir, opts.role.name())?;
    let password = keystore::password(config.chain.password_file.as_deref())?;
    let key = match &args.action {
        KeyAction::Create(_) => keystore::create(&path, &password)?,
        KeyAction::Import {
            private_key_file, ..
        } => keystore::import(&path, private_key_file, &password)?,
        KeyAction::Show(_) => keystore::load(&path, &password)?,
    };
    let value = serde_json::json!({
        "role": opts.role.name(),
        "action": action,
        "address": key.address().to_string(),
        "keystore": path,
    });
    let text = format!(
        "{} key {}: {}\nkeystore: {}",
        opts.role.name(),
        if action == "show" { "address" } else { action },
        key.address(),
        path.display()
    );
    crate::output::emit(args.json, &value, &text)
}

/// `autonet chain …`.
pub fn run_chain(config: &Config, args: &ChainArgs) -> anyhow::Result<()> {
    let chain = &config.chain;
    runtime()?.block_on(async {
        match &args.action {
            ChainAction::Deploy { .. } => {
                let (chain, me) = connect(&config.data_dir, chain, "deployer").await?;
                let c = deploy(chain, me, &DeployConfig::default())
                    .await
                    .context("deployment failed")?;
                let governor = c.addresses.governor;
                let value = serde_json::json!({ "governor": governor.to_string() });
                crate::output::emit(args.json, &value, &format!("governor: {governor}"))
            }
            ChainAction::Info { .. } => {
                let (url, governor) = (rpc_url(chain)?, governor(chain)?);
                let cfg = RpcConfig {
                    expected_chain_id: chain.chain_id,
                    ..Default::default()
                };
                let rpc = RpcChain::connect(url, vec![], PendingStore::in_memory(), cfg).await?;
                let c = discover(rpc, governor)
                    .await
                    .with_context(|| format!("no autonet suite found from Governor {governor}"))?;
                let mut value = serde_json::Map::new();
                let mut text = Vec::new();
                for (key, name, address) in c.addresses.entries() {
                    value.insert(
                        key.to_string(),
                        serde_json::json!({ "name": name, "address": address.to_string() }),
                    );
                    text.push(format!("{key:<10} {name:<20} {address}"));
                }
                crate::output::emit(args.json, &value.into(), &text.join("\n"))
            }
        }
    })
}

/// `autonet stake`.
pub fn run_stake(config: &Config, args: &StakeArgs) -> anyhow::Result<()> {
    let role = args.role.role.role();
    let amount = match &args.amount {
        Some(a) => parse_ether(a).with_context(|| format!("bad ATN amount {a:?}"))?,
        None => role.min_stake(),
    };
    if amount < role.min_stake() {
        bail!(
            "{} is below the {} minimum of {}",
            Atn(amount),
            args.role.role.name(),
            Atn(role.min_stake())
        );
    }
    runtime()?.block_on(async {
        let (c, me) = suite(&config.data_dir, &config.chain, args.role.role.name()).await?;
        c.stake(me, role, amount).await.context("stake failed")?;
        print_balance(&c, me, args.role.json).await
    })
}

/// `autonet unstake`: starts unbonding, or withdraws once the unbonding period is over.
pub fn run_unstake(config: &Config, args: &RoleArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let (c, me) = suite(&config.data_dir, &config.chain, args.role.name()).await?;
        let stake = c.stake_of(me).await?;
        if stake.amount == U256::ZERO {
            bail!("{me} has no stake");
        }
        if stake.unlock_block == 0 {
            c.request_unstake(me)
                .await
                .context("requestUnstake failed")?;
            let s = c.stake_of(me).await?;
            let value = serde_json::json!({
                "address": me.to_string(), "action": "unbonding", "unlock_block": s.unlock_block,
            });
            let text = format!(
                "unbonding started: withdraw with `autonet unstake` from block {}",
                s.unlock_block
            );
            crate::output::emit(args.json, &value, &text)?;
        } else {
            let head = c.block_number().await?;
            if head + 1 < stake.unlock_block {
                bail!(
                    "stake is unbonding until block {} (now {head})",
                    stake.unlock_block
                );
            }
            c.unstake(me).await.context("unstake failed")?;
            let value = serde_json::json!({
                "address": me.to_string(), "action": "withdrew", "amount_wei": stake.amount,
            });
            crate::output::emit(
                args.json,
                &value,
                &format!("withdrew {}", Atn(stake.amount)),
            )?;
        }
        Ok(())
    })
}

/// `autonet claim`.
pub fn run_claim(config: &Config, args: &RoleArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let (c, me) = suite(&config.data_dir, &config.chain, args.role.name()).await?;
        let due = c.claimable(me).await?;
        if due == U256::ZERO {
            bail!("nothing to claim for {me}");
        }
        c.claim(me).await.context("claim failed")?;
        let value = serde_json::json!({ "address": me.to_string(), "claimed_wei": due });
        crate::output::emit(args.json, &value, &format!("claimed {}", Atn(due)))
    })
}

/// `autonet balance`.
pub fn run_balance(config: &Config, args: &RoleArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let (c, me) = suite(&config.data_dir, &config.chain, args.role.name()).await?;
        print_balance(&c, me, args.json).await
    })
}

/// A role's balance, stake and claimable rewards as `autonet balance --json` prints them (also
/// the agent tool `balance`).
pub(crate) async fn balance_json(
    data_dir: &Path,
    chain: &ChainConfig,
    role: RoleArg,
) -> anyhow::Result<serde_json::Value> {
    let (c, me) = suite(data_dir, chain, role.name()).await?;
    Ok(balance_value(&c, me).await?.0)
}

async fn balance_value(
    c: &Contracts<RpcChain>,
    me: Address,
) -> anyhow::Result<(serde_json::Value, autonet_contracts::StakeInfo, U256, U256)> {
    let stake = c.stake_of(me).await?;
    let (balance, claimable) = (c.atn_balance(me).await?, c.claimable(me).await?);
    let value = serde_json::json!({
        "address": me.to_string(),
        "balance_wei": balance,
        "stake_wei": stake.amount,
        "role": stake.role,
        "unlock_block": stake.unlock_block,
        "claimable_wei": claimable,
    });
    Ok((value, stake, balance, claimable))
}

async fn print_balance(c: &Contracts<RpcChain>, me: Address, json: bool) -> anyhow::Result<()> {
    let (value, stake, balance, claimable) = balance_value(c, me).await?;
    let unbonding = if stake.unlock_block > 0 {
        format!(", unbonding until block {}", stake.unlock_block)
    } else {
        String::new()
    };
    let text = format!(
        "address:   {me}\nbalance:   {}\nstake:     {} (role {}{unbonding})\nclaimable: {}",
        Atn(balance),
        Atn(stake.amount),
        stake.role,
        Atn(claimable)
    );
    crate::output::emit(json, &value, &text)
}
