//! `autonet gov propose|vote|queue|execute|status|delegate`: governance from the command line,
//! Governor → Timelock → Registry (`autonet_contracts::governance`, whose docs list the keys).
//!
//! A proposal sets one governed Registry value: this build's code fingerprint
//! (`--fingerprint`), a constitution document's content id (`--constitution FILE`, checked
//! first: a malformed or oversized document is refused and nothing is proposed), a protocol
//! parameter (`--param NAME=VALUE`) or any governed key (`--key KEY --value 0x…`); a key no node
//! reads is refused before anything is sent. Votes are REP delegated at the proposal's snapshot.

use std::path::PathBuf;
use std::str::FromStr;

use alloy::primitives::{Address, B256, U256};
use anyhow::{Context, bail};
use autonet_actors::protocol::constitution::Constitution;
use autonet_contracts::bindings::AutonetGovernor;
use autonet_contracts::governance::{Proposal, ProposalStatus, keys};
use autonet_contracts::{Contracts, RpcChain};
use clap::{Args, Subcommand, ValueEnum};

use crate::chain::{KeyOpts, RpcArgs};
use crate::config::Config;

/// `autonet gov`.
#[derive(Debug, Args)]
pub struct GovArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: GovAction,
}

/// The `autonet gov` subcommands; each variant's doc comment is its `--help` text.
#[derive(Debug, Subcommand)]
pub enum GovAction {
    /// Propose setting one governed Registry value; prints the proposal id.
    Propose(ProposeArgs),
    /// Vote on a proposal with the key's delegated REP.
    Vote(VoteArgs),
    /// Queue a succeeded proposal on the Timelock.
    Queue(IdArgs),
    /// Execute a queued proposal once the Timelock delay has passed.
    Execute(IdArgs),
    /// Print where a proposal stands (state, votes, quorum, what it sets).
    Status(StatusArgs),
    /// Delegate the key's REP votes (to itself by default): votes count from the next block.
    Delegate(DelegateArgs),
}

/// The chain, the Governor and the signing key of the subcommands that send a transaction. Any
/// key may sign (`--role deployer` included), unlike the staked-role commands' `RoleArgs`.
#[derive(Debug, Args)]
pub struct SignerArgs {
    /// The chain to send to.
    #[command(flatten)]
    pub rpc: RpcArgs,
    /// Governor address, the discovery root (needed here or as `chain.governor`).
    #[arg(long, env = "AUTONET_GOVERNOR")]
    pub governor: Option<Address>,
    /// The signing keystore and its password.
    #[command(flatten)]
    pub key: KeyOpts,
    /// Print the result as one JSON object: propose, queue and execute the proposal's status
    /// (as `gov status --json`); vote `{"id", "voter", "weight"}`; delegate `{"address",
    /// "delegate"}`.
    #[arg(long)]
    pub json: bool,
}

/// What a proposal sets (exactly one).
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Setting {
    /// This build's protected core fingerprint, under `node.code.hash.<version>`.
    #[arg(long)]
    pub fingerprint: bool,
    /// A constitution document (TOML): its BLAKE3 content id, under `constitution.current`.
    #[arg(long, value_name = "FILE")]
    pub constitution: Option<PathBuf>,
    /// A protocol parameter, `NAME=VALUE` (NAME without `param.`; VALUE a decimal integer).
    #[arg(long, value_name = "NAME=VALUE")]
    pub param: Option<String>,
    /// Any governed key (with --value).
    #[arg(long, requires = "value")]
    pub key: Option<String>,
}

/// `autonet gov propose`.
#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// The chain, Governor and proposing key.
    #[command(flatten)]
    pub chain: SignerArgs,
    /// What the proposal sets.
    #[command(flatten)]
    pub setting: Setting,
    /// The value for --key (32 bytes, 0x-hex).
    #[arg(long, requires = "key")]
    pub value: Option<B256>,
    /// The text voters see [default: "set <key> to <value>"].
    #[arg(long)]
    pub description: Option<String>,
}

/// How to vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Support {
    /// Against.
    Against,
    /// For.
    For,
    /// Abstain (counts toward quorum).
    Abstain,
}

/// `autonet gov vote`.
#[derive(Debug, Args)]
pub struct VoteArgs {
    /// The proposal id (decimal or 0x-hex).
    pub id: String,
    /// The vote.
    #[arg(long, value_enum, default_value = "for")]
    pub support: Support,
    /// The chain, Governor and voting key.
    #[command(flatten)]
    pub chain: SignerArgs,
}

/// `autonet gov queue|execute`.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// The proposal id (decimal or 0x-hex).
    pub id: String,
    /// The chain, Governor and sending key.
    #[command(flatten)]
    pub chain: SignerArgs,
}

/// `autonet gov status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The proposal id (decimal or 0x-hex).
    pub id: String,
    /// The chain to read.
    #[command(flatten)]
    pub rpc: RpcArgs,
    /// Governor address, the discovery root (or `chain.governor`).
    #[arg(long, env = "AUTONET_GOVERNOR")]
    pub governor: Option<Address>,
    /// Print one JSON object: `{"id", "state", "snapshot", "deadline", "eta", "votes":
    /// [against, for, abstain], "quorum", "key", "value", "description"}`.
    #[arg(long)]
    pub json: bool,
}

/// `autonet gov delegate`.
#[derive(Debug, Args)]
pub struct DelegateArgs {
    /// The delegate [default: the key's own address].
    #[arg(long)]
    pub to: Option<Address>,
    /// The chain, Governor and REP holder's key.
    #[command(flatten)]
    pub chain: SignerArgs,
}

impl GovArgs {
    /// The chain flags of the subcommand (laid over the config by `config::flags`).
    pub fn chain_flags(&self) -> (&RpcArgs, Option<Address>, Option<&KeyOpts>) {
        fn role(r: &SignerArgs) -> (&RpcArgs, Option<Address>, Option<&KeyOpts>) {
            (&r.rpc, r.governor, Some(&r.key))
        }
        match &self.action {
            GovAction::Propose(a) => role(&a.chain),
            GovAction::Vote(a) => role(&a.chain),
            GovAction::Queue(a) | GovAction::Execute(a) => role(&a.chain),
            GovAction::Delegate(a) => role(&a.chain),
            GovAction::Status(a) => (&a.rpc, a.governor, None),
        }
    }
}

fn proposal_id(text: &str) -> anyhow::Result<U256> {
    U256::from_str(text.trim()).with_context(|| format!("{text:?} is not a proposal id"))
}

/// The (key, value) a proposal sets, every input checked before anything is sent.
pub fn setting(args: &ProposeArgs) -> anyhow::Result<(String, B256)> {
    let s = &args.setting;
    if s.fingerprint {
        return Ok((
            crate::integrity::registry_key(),
            crate::integrity::protected(),
        ));
    }
    if let Some(path) = &s.constitution {
        let bytes = read_bounded(path)?;
        let doc = Constitution::decode(&bytes).with_context(|| {
            format!("{} is not a constitution this node adopts", path.display())
        })?;
        return Ok((keys::CONSTITUTION.into(), B256::from(doc.id)));
    }
    if let Some(param) = &s.param {
        let (name, value) = param
            .split_once('=')
            .context("--param takes NAME=VALUE, e.g. unbonding_blocks=200")?;
        let key = format!("param.{}", name.trim());
        let value = U256::from_str_radix(value.trim(), 10)
            .with_context(|| format!("{value:?} is not a decimal integer"))?;
        return Ok((key, B256::from(value)));
    }
    match (&s.key, args.value) {
        (Some(key), Some(value)) => Ok((key.clone(), value)),
        _ => bail!(
            "give one of --fingerprint, --constitution FILE, --param NAME=VALUE, --key KEY --value 0x…"
        ),
    }
}

/// Reads at most one byte more than a constitution may have, so a huge file is refused without
/// being loaded.
fn read_bounded(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let limit = autonet_actors::protocol::constitution::document::MAX_DOCUMENT_BYTES as u64 + 1;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `autonet gov …`.
pub fn run(config: &Config, args: &GovArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match &args.action {
            GovAction::Propose(a) => propose(config, a).await,
            GovAction::Vote(a) => vote(config, a).await,
            GovAction::Queue(a) => queue_or_execute(config, a, false).await,
            GovAction::Execute(a) => queue_or_execute(config, a, true).await,
            GovAction::Status(a) => {
                let c = crate::integrity::read_only(config).await?;
                let s = c.proposal_status(proposal_id(&a.id)?).await?;
                crate::output::emit(a.json, &serde_json::to_value(&s)?, &status_text(&s))
            }
            GovAction::Delegate(a) => {
                let (c, me) = signer(config, &a.chain).await?;
                let to = a.to.unwrap_or(me);
                c.delegate_rep(me, to).await.context("delegate failed")?;
                let value =
                    serde_json::json!({ "address": me.to_string(), "delegate": to.to_string() });
                crate::output::emit(
                    a.chain.json,
                    &value,
                    &format!("{me} delegates its REP votes to {to}"),
                )
            }
        }
    })
}

async fn signer(
    config: &Config,
    chain: &SignerArgs,
) -> anyhow::Result<(Contracts<RpcChain>, Address)> {
    crate::chain::suite(&config.data_dir, &config.chain, chain.key.role.name()).await
}

async fn propose(config: &Config, a: &ProposeArgs) -> anyhow::Result<()> {
    let (key, value) = setting(a)?;
    if keys::kind(&key).is_none() {
        // Checked here too so the error comes before unlocking a key or reaching the chain.
        bail!(
            "{}",
            autonet_contracts::governance::GovError::UnknownKey(key)
        );
    }
    let (c, me) = signer(config, &a.chain).await?;
    let description = a
        .description
        .clone()
        .unwrap_or_else(|| format!("set {key} to {value}"));
    let p = Proposal::set_bytes32(c.addresses.registry, &key, value, &description)?;
    let id = c.propose(me, &p).await.context("propose failed")?;
    let s = c.proposal_status(id).await?;
    let text = format!(
        "proposal {id}\nsets {key} = {value}\nvoting from block {} to {}: `autonet gov vote {id}`",
        s.snapshot + 1,
        s.deadline
    );
    crate::output::emit(a.chain.json, &serde_json::to_value(&s)?, &text)
}

async fn vote(config: &Config, a: &VoteArgs) -> anyhow::Result<()> {
    let id = proposal_id(&a.id)?;
    let (c, me) = signer(config, &a.chain).await?;
    let status = c.proposal_status(id).await?;
    if status.state != "active" {
        bail!(
            "proposal {id} is {}, not open for votes (voting runs from block {} to {})",
            status.state,
            status.snapshot + 1,
            status.deadline
        );
    }
    let snapshot = c
        .view(
            c.addresses.governor,
            AutonetGovernor::proposalSnapshotCall { proposalId: id },
        )
        .await?;
    let weight = c
        .view(
            c.addresses.governor,
            AutonetGovernor::getVotesCall {
                account: me,
                timepoint: snapshot,
            },
        )
        .await
        .unwrap_or_default();
    if weight.is_zero() {
        bail!(
            "{me} had no REP voting power at proposal {id}'s snapshot (block {snapshot}): votes are \
             REP delegated before the snapshot (`autonet gov delegate`)"
        );
    }
    let support = match a.support {
        Support::Against => 0,
        Support::For => 1,
        Support::Abstain => 2,
    };
    c.cast_vote(me, id, support).await.context("vote failed")?;
    let value = serde_json::json!({ "id": id.to_string(), "voter": me.to_string(), "weight": weight.to_string() });
    // REP has 18 decimals like ATN: shown in whole REP with six decimals (wei stay in JSON).
    let rep = autonet_contracts::amount::Atn(weight)
        .to_string()
        .replace(" ATN", " REP");
    let text = format!("{me} voted {:?} on {id} with {rep}", a.support);
    crate::output::emit(a.chain.json, &value, &text)
}

async fn queue_or_execute(config: &Config, a: &IdArgs, execute: bool) -> anyhow::Result<()> {
    let id = proposal_id(&a.id)?;
    let (c, me) = signer(config, &a.chain).await?;
    let p = c.proposal(id).await?;
    if execute {
        c.execute_proposal(me, &p)
            .await
            .context("execute failed (is the proposal queued and its Timelock delay over?)")?;
    } else {
        c.queue_proposal(me, &p)
            .await
            .context("queue failed (has the proposal succeeded?)")?;
    }
    let s = c.proposal_status(id).await?;
    crate::output::emit(a.chain.json, &serde_json::to_value(&s)?, &status_text(&s))
}

fn status_text(s: &ProposalStatus) -> String {
    let setting = match (&s.key, s.value) {
        (Some(k), Some(v)) => format!("{k} = {v}"),
        _ => "(not a Registry setting)".into(),
    };
    format!(
        "proposal {}: {}\nsets:     {setting}\nvoting:   blocks {}..={}\nvotes:    for {}, against {}, abstain {} (quorum {})\neta:      {}\n{}",
        s.id,
        s.state,
        s.snapshot + 1,
        s.deadline,
        s.votes[1],
        s.votes[0],
        s.votes[2],
        s.quorum,
        s.eta,
        s.description
    )
}
