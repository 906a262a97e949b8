//! # autonet-contracts
//!
//! The on-chain protocol and the Rust chain layer.
//!
//! - `contracts/sol/*.sol`: the Solidity suite (ATN and REP tokens, Governor/Timelock/Registry
//!   discovery, role staking, projects, tasks with salted commit-reveal, Yuma-consensus rewards and
//!   slashing, epoch mint roots, agent registry, model shard registry), compiled by
//!   `scripts/build-contracts` with pinned solc-js into the committed `contracts/artifacts/*.json`.
//! - [`bindings`]: alloy `sol!` types generated from those artifacts, and the artifacts themselves;
//!   [`revert`]: each contract's errors as a typed enum, for matching reverts.
//! - Pure protocol logic, no I/O: [`consensus`] (the Yuma rule, identical to `YumaConsensus.sol`),
//!   [`commitment`] (commit-reveal encodings), [`merkle`] (sorted-pair keccak trees for shard and
//!   mint proofs).
//! - [`backend::Backend`]: the transport both backends implement — [`embedded::EmbeddedChain`]
//!   (revm in process) and [`rpc::RpcChain`] (JSON-RPC through an alloy provider).
//! - [`client::Contracts`] + [`chain::Chain`]: what nodes do on chain, written once for every
//!   backend; [`governance`] proposals that set governed Registry values (and their keys); [`mod@deploy`] deploys the suite or discovers it from the Governor; [`cursor`] reads
//!   confirmed events; [`protocol_view::ProtocolView`] the reads protocol roles need (task
//!   records, reveals, PeerId bindings, mint roots, reward and slash events).
//! - [`anvil`]: a local anvil process for tests and benchmarks. (A whole protocol round driven in
//!   one process lives in the node crate, `autonet_node::round`, next to the protocol core.)
//!
//! **Owns** the Solidity suite, its artifacts and typed bindings, and every chain interaction.
//! **Must not depend on** `autonet-p2p`, `autonet-models` or `autonet-actors`.

#![warn(missing_docs, unreachable_pub)]

pub mod amount;
pub mod anvil;
pub mod backend;
pub mod binding;
pub mod bindings;
pub mod chain;
pub mod client;
pub mod commitment;
pub mod consensus;
pub mod cursor;
pub mod deploy;
pub mod embedded;
pub mod governance;
pub mod merkle;
pub mod pending;
pub mod protocol_view;
pub mod revert;
pub mod rpc;

pub use amount::Atn;
pub use backend::{Backend, ChainError, ChainLog, Receipt, TxRequest};
pub use binding::{PeerClaim, verified_owner};
pub use chain::{Chain, ModelRegistration, RegisteredModel, Role, StakeInfo, TaskParams};
pub use client::{Contracts, Deployment, GasRow};
pub use deploy::{ATN, DeployConfig, deploy, discover};
pub use embedded::EmbeddedChain;
pub use protocol_view::{
    BindingChange, ProtocolView, RewardEvent, TaskInfo, TaskStatus, UnknownTaskStatus,
};
pub use rpc::{RpcChain, RpcConfig};

impl EmbeddedChain {
    /// A fresh embedded chain with the suite deployed at genesis by dev account 0, and every
    /// other dev account funded with `atn_per_account` ATN.
    pub async fn genesis(
        n_accounts: u32,
        atn_per_account: alloy::primitives::U256,
    ) -> Result<Contracts<EmbeddedChain>, ChainError> {
        Self::genesis_with(n_accounts, atn_per_account, &DeployConfig::default()).await
    }

    /// [`EmbeddedChain::genesis`] with explicit deployment settings.
    pub async fn genesis_with(
        n_accounts: u32,
        atn_per_account: alloy::primitives::U256,
        cfg: &DeployConfig,
    ) -> Result<Contracts<EmbeddedChain>, ChainError> {
        let chain = EmbeddedChain::new(n_accounts.max(1));
        let accounts = chain.accounts();
        let deployer = accounts[0];
        let c = deploy(chain, deployer, cfg).await?;
        for a in accounts.iter().skip(1) {
            c.transfer_atn(deployer, *a, atn_per_account).await?;
        }
        Ok(c)
    }
}
