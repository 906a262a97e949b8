//! Code integrity: the core fingerprints embedded at build time ([`fingerprint`] is the rule),
//! their comparison with the value governance published on chain, and `autonet integrity`.
//!
//! A node whose protected fingerprint differs from the published `node.code.hash.<version>`
//! refuses staked roles and registration ([`gate`]); `--allow-unverified` runs it as an unstaked
//! peer only. While nothing is published for its version, a node runs unverified but unrefused
//! (a network that has not voted yet). Peers advertise [`agent_version`] in identify and the
//! status page shows [`summary`].

pub mod fingerprint;

use alloy::primitives::{Address, B256};
use anyhow::Context;
use autonet_contracts::governance::keys;
use autonet_contracts::pending::PendingStore;
use autonet_contracts::{Backend, ChainError, Contracts, RpcChain, RpcConfig, discover};
use clap::Args;

use crate::chain::RpcArgs;
use crate::config::Config;

/// The protected fingerprint of this binary's sources (hex), computed by `build.rs`.
pub const PROTECTED_HEX: &str = env!("AUTONET_CORE_FINGERPRINT");
/// The fingerprint of every source the binary is built from (hex), for diagnostics.
pub const COMBINED_HEX: &str = env!("AUTONET_COMBINED_FINGERPRINT");
/// The release whose published fingerprint this binary is compared with.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The protected fingerprint as bytes.
pub fn protected() -> B256 {
    PROTECTED_HEX.parse().unwrap_or_default()
}

/// The Registry key of this release's fingerprint.
pub fn registry_key() -> String {
    keys::code_hash(VERSION)
}

/// What this node announces in identify: version and protected fingerprint.
pub fn agent_version() -> String {
    format!("autonet/{VERSION} core/{PROTECTED_HEX}")
}

/// Both fingerprints as JSON (the status page's `integrity`).
pub fn summary() -> serde_json::Value {
    serde_json::json!({
        "version": VERSION,
        "protected": PROTECTED_HEX,
        "combined": COMBINED_HEX,
        "registry_key": registry_key(),
    })
}

/// How the binary compares with the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnChain {
    /// Governance published no fingerprint for this version.
    Unpublished,
    /// The published fingerprint is this binary's.
    Match,
    /// Governance published another fingerprint.
    Mismatch(B256),
}

impl OnChain {
    /// Compares `published` with this binary's protected fingerprint.
    pub fn of(published: Option<B256>) -> Self {
        match published {
            None => OnChain::Unpublished,
            Some(v) if v == protected() => OnChain::Match,
            Some(v) => OnChain::Mismatch(v),
        }
    }

    /// Short name (`match`, `mismatch`, `unpublished`).
    pub fn name(self) -> &'static str {
        match self {
            OnChain::Unpublished => "unpublished",
            OnChain::Match => "match",
            OnChain::Mismatch(_) => "mismatch",
        }
    }
}

/// Reads this version's published fingerprint and compares.
pub async fn on_chain<B: Backend>(c: &Contracts<B>) -> Result<OnChain, ChainError> {
    Ok(OnChain::of(c.governed_value(&registry_key()).await?))
}

/// A node whose code is not the code governance published.
#[derive(Debug, thiserror::Error)]
#[error(
    "code integrity check failed: this build's protected core fingerprint {local} differs from \
     the one governance published under {key} ({published}); refusing staked roles and agent \
     registration. Run the published release, or pass --allow-unverified to run as an unstaked \
     peer only"
)]
pub struct Unverified {
    /// The Registry key compared.
    pub key: String,
    /// This binary's protected fingerprint.
    pub local: B256,
    /// The published one.
    pub published: B256,
}

/// What a node may do given its integrity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Staked roles and registration are allowed.
    Staked,
    /// Only an unstaked peer (the operator passed `--allow-unverified`).
    UnstakedOnly,
}

/// The gate for `state`: a mismatch refuses, unless `allow_unverified` downgrades the node.
pub fn gate(state: OnChain, allow_unverified: bool) -> Result<Gate, Unverified> {
    match state {
        OnChain::Unpublished | OnChain::Match => Ok(Gate::Staked),
        OnChain::Mismatch(_) if allow_unverified => Ok(Gate::UnstakedOnly),
        OnChain::Mismatch(published) => Err(Unverified {
            key: registry_key(),
            local: protected(),
            published,
        }),
    }
}

/// `autonet integrity`.
#[derive(Debug, Args)]
pub struct IntegrityArgs {
    /// The chain whose published fingerprint to compare with (without it, only the local
    /// fingerprints are printed).
    #[command(flatten)]
    pub rpc: RpcArgs,
    /// Governor address, the discovery root (or `chain.governor`).
    #[arg(long, env = "AUTONET_GOVERNOR")]
    pub governor: Option<Address>,
    /// Print one JSON object: `{"version", "protected", "combined", "registry_key",
    /// "on_chain", "status": "match"|"mismatch"|"unpublished"|"unchecked", "constitution":
    /// {"shipped", "on_chain"}}`.
    #[arg(long)]
    pub json: bool,
}

/// A read-only view of the suite behind the configured Governor (no keys).
pub(crate) async fn read_only(config: &Config) -> anyhow::Result<Contracts<RpcChain>> {
    let chain = &config.chain;
    let url = chain
        .rpc_url
        .as_deref()
        .context("no chain endpoint: give --rpc-url URL or chain.rpc_url in the config file")?;
    let governor = chain
        .governor
        .context("no Governor: give --governor ADDRESS or chain.governor in the config file")?;
    read_only_at(url, governor, chain.chain_id).await
}

async fn read_only_at(
    url: &str,
    governor: Address,
    chain_id: Option<u64>,
) -> anyhow::Result<Contracts<RpcChain>> {
    let cfg = RpcConfig {
        expected_chain_id: chain_id,
        ..Default::default()
    };
    let rpc = RpcChain::connect(url, vec![], PendingStore::in_memory(), cfg)
        .await
        .with_context(|| format!("cannot use the chain at {url}"))?;
    discover(rpc, governor)
        .await
        .with_context(|| format!("no autonet suite found from Governor {governor}"))
}

/// The start of a staked role (`join --role`): compares with the fingerprint published on the
/// network's chain and applies [`gate`] (`role.allow_unverified`).
pub fn role_gate(config: &Config, rpc_url: &str, governor: Address) -> anyhow::Result<Gate> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let state = rt.block_on(async {
        let c = read_only_at(rpc_url, governor, config.chain.chain_id).await?;
        anyhow::Ok(on_chain(&c).await?)
    })?;
    tracing::info!(
        fingerprint = PROTECTED_HEX,
        key = %registry_key(),
        status = state.name(),
        "code integrity"
    );
    let gate = gate(state, config.role.allow_unverified)?;
    if gate == Gate::UnstakedOnly {
        tracing::warn!(
            "this build's core fingerprint is not the published one: running as an unstaked \
             peer only (--allow-unverified)"
        );
    }
    Ok(gate)
}

/// `autonet integrity`: prints both fingerprints, compares the protected one with the chain's
/// when a chain is configured; a mismatch is an error (exit status 1).
pub fn run(config: &Config, args: &IntegrityArgs) -> anyhow::Result<()> {
    let shipped = B256::from(autonet_actors::protocol::constitution::content_id(
        autonet_actors::protocol::constitution::document::DEFAULT_DOCUMENT.as_bytes(),
    ));
    let mut adopted = None;
    let state = if config.chain.rpc_url.is_some() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Some(rt.block_on(async {
            let c = read_only(config).await?;
            let published = c.governed_value(&registry_key()).await?;
            adopted = c.governed_value(keys::CONSTITUTION).await?;
            anyhow::Ok((OnChain::of(published), published))
        })?)
    } else {
        None
    };
    let mut value = summary();
    value["on_chain"] = serde_json::json!(state.and_then(|s| s.1).map(|v| v.to_string()));
    value["status"] = serde_json::json!(state.map_or("unchecked", |s| s.0.name()));
    value["constitution"] = serde_json::json!({
        "shipped": shipped.to_string(),
        "on_chain": adopted.map(|v| v.to_string()),
    });
    let on_chain = match state {
        None => "not checked (no --rpc-url)".to_string(),
        Some((OnChain::Unpublished, _)) => format!("nothing published under {}", registry_key()),
        Some((s, Some(v))) => format!("{v} ({})", s.name()),
        Some((s, None)) => s.name().to_string(),
    };
    let adopted = match adopted {
        None => "none adopted on chain".to_string(),
        Some(v) if v == shipped => "the shipped one is adopted on chain".to_string(),
        Some(v) => format!("{v} is adopted on chain"),
    };
    let text = format!(
        "version:   {VERSION}\nprotected: {PROTECTED_HEX}\ncombined:  {COMBINED_HEX}\non chain:  {on_chain}\nconstitution: shipped {shipped}; {adopted}"
    );
    crate::output::emit(args.json, &value, &text)?;
    if let Some((s, _)) = state {
        gate(s, false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
