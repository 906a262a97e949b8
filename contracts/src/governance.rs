//! Governance: proposals that set a governed Registry value, driven Governor → Timelock →
//! Registry, and the keys such a proposal may set.
//!
//! The only action a proposal built here carries is one `Registry.setBytes32(key, value)` call,
//! executed by the Timelock (the only writer of the Registry's bytes32 values). Votes are REP
//! (ERC20Votes): an account's weight is what was *delegated* to it at the proposal's snapshot
//! block, so a holder delegates (to itself or another) before a proposal is made.
//!
//! # Registry keys (bytes32 values)
//! | key | value |
//! |---|---|
//! | `node.code.hash.<version>` | the protected core fingerprint (BLAKE3) of node release `<version>` |
//! | `constitution.current` | the BLAKE3 content id of the adopted constitution document |
//! | `param.<name>` (see [`keys::PARAMS`]) | a protocol parameter, its `uint256` as bytes32 |

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol_types::{SolCall, SolEvent};

use crate::backend::{Backend, ChainError};
use crate::bindings::{AutonetGovernor, Registry, RepToken};
use crate::client::Contracts;

/// The governed Registry keys.
pub mod keys {
    /// Prefix of a release's code fingerprint key: `node.code.hash.<version>`.
    pub const CODE_HASH_PREFIX: &str = "node.code.hash.";
    /// The content id of the adopted constitution.
    pub const CONSTITUTION: &str = "constitution.current";
    /// Protocol parameters: `(key, what its uint256 means)`. Fractions are WAD (1e18 = 1).
    pub const PARAMS: &[(&str, &str)] = &[
        (
            "param.unbonding_blocks",
            "blocks between requestUnstake and unstake",
        ),
        (
            "param.min_epoch_blocks",
            "blocks between the openings of two epochs",
        ),
        (
            "param.epoch_emission_wei",
            "the most ATN wei one epoch's mint root may pay",
        ),
        (
            "param.pricing.theta_high_wad",
            "alignment at or above which inference is subsidised",
        ),
        (
            "param.pricing.theta_low_wad",
            "alignment at or below which inference pays a premium",
        ),
        ("param.pricing.max_subsidy_wad", "the largest subsidy rate"),
        ("param.pricing.max_premium_wad", "the largest premium rate"),
    ];

    /// The code fingerprint key of release `version` (e.g. `node.code.hash.0.1.0`).
    pub fn code_hash(version: &str) -> String {
        format!("{CODE_HASH_PREFIX}{version}")
    }

    /// What a governed key holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum KeyKind {
        /// A release's protected code fingerprint.
        CodeHash,
        /// The constitution's content id.
        Constitution,
        /// A numeric protocol parameter.
        Param,
    }

    /// The kind of `key`, or `None` when no node reads it (a proposal for it is refused).
    pub fn kind(key: &str) -> Option<KeyKind> {
        if key == CONSTITUTION {
            return Some(KeyKind::Constitution);
        }
        if PARAMS.iter().any(|(k, _)| *k == key) {
            return Some(KeyKind::Param);
        }
        let version = key.strip_prefix(CODE_HASH_PREFIX)?;
        let ok = !version.is_empty()
            && version.len() <= 64
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        ok.then_some(KeyKind::CodeHash)
    }
}

/// Governance errors beyond the chain's own.
#[derive(Debug, thiserror::Error)]
pub enum GovError {
    /// A key no node reads.
    #[error(
        "unknown governed key {0:?}: use node.code.hash.<version>, constitution.current or one of {params}",
        params = keys::PARAMS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
    )]
    UnknownKey(String),
    /// No `ProposalCreated` event for this id.
    #[error("no proposal {0} on this Governor")]
    UnknownProposal(U256),
    /// A chain call failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// A proposal: the Governor's (targets, values, calldatas, description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Contracts called.
    pub targets: Vec<Address>,
    /// Native value of each call.
    pub values: Vec<U256>,
    /// Calldata of each call.
    pub calldatas: Vec<Bytes>,
    /// The text voters see (its keccak is part of the id).
    pub description: String,
}

impl Proposal {
    /// A proposal that sets governed `key` to `value` in `registry`; an unknown key is refused.
    pub fn set_bytes32(
        registry: Address,
        key: &str,
        value: B256,
        description: &str,
    ) -> Result<Self, GovError> {
        if keys::kind(key).is_none() {
            return Err(GovError::UnknownKey(key.into()));
        }
        let call = Registry::setBytes32Call {
            key: key.into(),
            value,
        };
        Ok(Proposal {
            targets: vec![registry],
            values: vec![U256::ZERO],
            calldatas: vec![call.abi_encode().into()],
            description: description.into(),
        })
    }

    /// keccak256 of the description, as `queue` and `execute` take it.
    pub fn description_hash(&self) -> B256 {
        keccak256(self.description.as_bytes())
    }

    /// The (key, value) this proposal sets, when it is one `setBytes32` call.
    pub fn setting(&self) -> Option<(String, B256)> {
        let [data] = self.calldatas.as_slice() else {
            return None;
        };
        let call = Registry::setBytes32Call::abi_decode(data).ok()?;
        Some((call.key, call.value))
    }
}

/// The Governor's proposal states, in its `ProposalState` order.
pub const STATES: [&str; 8] = [
    "pending",
    "active",
    "canceled",
    "defeated",
    "succeeded",
    "queued",
    "expired",
    "executed",
];

/// Where a proposal stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProposalStatus {
    /// The proposal id (decimal).
    pub id: String,
    /// One of [`STATES`].
    pub state: &'static str,
    /// Block at which voting power is counted.
    pub snapshot: u64,
    /// Last block of voting.
    pub deadline: u64,
    /// Timestamp from which a queued proposal can be executed (0 if not queued).
    pub eta: u64,
    /// REP against, for, abstaining (wei, decimal strings).
    pub votes: [String; 3],
    /// REP needed to reach quorum at the snapshot (wei, decimal string).
    pub quorum: String,
    /// The governed key and value it sets, when it is a Registry setting.
    pub key: Option<String>,
    /// The value it sets (0x-hex).
    pub value: Option<B256>,
    /// Its description.
    pub description: String,
}

impl<B: Backend> Contracts<B> {
    /// Submits `p` from `from`; returns its id.
    pub async fn propose(&self, from: Address, p: &Proposal) -> Result<U256, ChainError> {
        let gov = self.addresses.governor;
        let id = self
            .view(
                gov,
                AutonetGovernor::hashProposalCall {
                    targets: p.targets.clone(),
                    values: p.values.clone(),
                    calldatas: p.calldatas.clone(),
                    descriptionHash: p.description_hash(),
                },
            )
            .await?;
        let call = AutonetGovernor::proposeCall {
            targets: p.targets.clone(),
            values: p.values.clone(),
            calldatas: p.calldatas.clone(),
            description: p.description.clone(),
        };
        self.send(from, gov, call).await?;
        Ok(id)
    }

    /// Casts `from`'s vote on `id`: 0 against, 1 for, 2 abstain.
    pub async fn cast_vote(&self, from: Address, id: U256, support: u8) -> Result<(), ChainError> {
        let call = AutonetGovernor::castVoteCall {
            proposalId: id,
            support,
        };
        self.send(from, self.addresses.governor, call).await?;
        Ok(())
    }

    /// Queues a succeeded proposal on the Timelock.
    pub async fn queue_proposal(&self, from: Address, p: &Proposal) -> Result<(), ChainError> {
        let call = AutonetGovernor::queueCall {
            targets: p.targets.clone(),
            values: p.values.clone(),
            calldatas: p.calldatas.clone(),
            descriptionHash: p.description_hash(),
        };
        self.send(from, self.addresses.governor, call).await?;
        Ok(())
    }

    /// Executes a queued proposal whose timelock delay has passed.
    pub async fn execute_proposal(&self, from: Address, p: &Proposal) -> Result<(), ChainError> {
        let call = AutonetGovernor::executeCall {
            targets: p.targets.clone(),
            values: p.values.clone(),
            calldatas: p.calldatas.clone(),
            descriptionHash: p.description_hash(),
        };
        self.send(from, self.addresses.governor, call).await?;
        Ok(())
    }

    /// Delegates `from`'s REP votes to `to` (itself to vote with its own REP).
    pub async fn delegate_rep(&self, from: Address, to: Address) -> Result<(), ChainError> {
        let call = RepToken::delegateCall { delegatee: to };
        self.send(from, self.addresses.rep, call).await?;
        Ok(())
    }

    /// `who`'s REP voting power now (what was delegated to it).
    pub async fn voting_power(&self, who: Address) -> Result<U256, ChainError> {
        let call = RepToken::getVotesCall { account: who };
        self.view(self.addresses.rep, call).await
    }

    /// The governed value of `key`; `None` when governance never set it.
    pub async fn governed_value(&self, key: &str) -> Result<Option<B256>, ChainError> {
        let call = Registry::getBytes32Call { key: key.into() };
        let v = self.view(self.addresses.registry, call).await?;
        Ok((v != B256::ZERO).then_some(v))
    }

    /// Rebuilds proposal `id` from its `ProposalCreated` event (searched in the blocks just
    /// before its snapshot, so no full-history scan).
    pub async fn proposal(&self, id: U256) -> Result<Proposal, GovError> {
        let gov = self.addresses.governor;
        let snapshot: u64 = self
            .view(
                gov,
                AutonetGovernor::proposalSnapshotCall { proposalId: id },
            )
            .await?
            .saturating_to();
        if snapshot == 0 {
            return Err(GovError::UnknownProposal(id));
        }
        let delay: u64 = self
            .view(gov, AutonetGovernor::votingDelayCall {})
            .await?
            .saturating_to();
        let from = snapshot.saturating_sub(delay);
        let logs = self.backend().logs(from, snapshot, &[gov]).await?;
        let created = logs
            .iter()
            .filter(|l| {
                l.log.topics().first() == Some(&AutonetGovernor::ProposalCreated::SIGNATURE_HASH)
            })
            .filter_map(|l| AutonetGovernor::ProposalCreated::decode_log(&l.log).ok())
            .find(|e| e.data.proposalId == id)
            .ok_or(GovError::UnknownProposal(id))?;
        let e = created.data;
        Ok(Proposal {
            targets: e.targets,
            values: e.values,
            calldatas: e.calldatas,
            description: e.description,
        })
    }

    /// Where proposal `id` stands.
    pub async fn proposal_status(&self, id: U256) -> Result<ProposalStatus, GovError> {
        let gov = self.addresses.governor;
        let p = self.proposal(id).await?;
        let state = self
            .view(gov, AutonetGovernor::stateCall { proposalId: id })
            .await?;
        let snapshot = self
            .view(
                gov,
                AutonetGovernor::proposalSnapshotCall { proposalId: id },
            )
            .await?;
        let deadline = self
            .view(
                gov,
                AutonetGovernor::proposalDeadlineCall { proposalId: id },
            )
            .await?;
        let eta = self
            .view(gov, AutonetGovernor::proposalEtaCall { proposalId: id })
            .await?;
        let v = self
            .view(gov, AutonetGovernor::proposalVotesCall { proposalId: id })
            .await?;
        // The quorum is defined at the snapshot, which must be in the past to be read.
        let head = self.backend().block_number().await?;
        let quorum = if snapshot < U256::from(head) {
            let q = AutonetGovernor::quorumCall {
                timepoint: snapshot,
            };
            self.view(gov, q).await?.to_string()
        } else {
            "unknown until the snapshot block".into()
        };
        let setting = p.setting();
        Ok(ProposalStatus {
            id: id.to_string(),
            state: STATES.get(usize::from(state)).copied().unwrap_or("unknown"),
            snapshot: snapshot.saturating_to(),
            deadline: deadline.saturating_to(),
            eta: eta.saturating_to(),
            votes: [
                v.againstVotes.to_string(),
                v.forVotes.to_string(),
                v.abstainVotes.to_string(),
            ],
            quorum,
            key: setting.as_ref().map(|(k, _)| k.clone()),
            value: setting.map(|(_, v)| v),
            description: p.description,
        })
    }
}
