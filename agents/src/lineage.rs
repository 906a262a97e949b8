//! Agent lineage hashes (reference §9.8), rooted at the owner's wallet.
//!
//! The rule (the reference's, with the owner in the root's parent slot):
//! - root agent: `lineage = sha256(owner ":" charter₂₅₆ ":" agent_key)`;
//! - child agent: `lineage = sha256(parent_lineage ":" charter₂₅₆ ":" agent_key)`;
//!
//! where `owner` is the owner's chain address (`0x` + 40 hex digits), `parent_lineage` the
//! parent's lineage as 64 hex digits, `charter₂₅₆` the first 256 characters (code points, as
//! the reference) of the agent's charter or system prompt, and `agent_key` the agent's public
//! key or chain address in hex (`0x` optional). Hex is hashed in lower case. The reference put
//! the empty string in a root's parent slot, so any two owners' agents with the same charter
//! and key had one lineage; here the owner is part of every lineage below it.
//!
//! The parts are joined with `:` like the reference; that cannot be ambiguous because the first
//! part has a fixed format and the key, the last part, cannot contain `:` ([`LineageError`]),
//! so the charter is whatever lies between. On chain the lineage is the 32 hash bytes.
//!
//! A [`LineageProof`] carries the owner and every (charter₂₅₆, key) step from the root down, so
//! a remote peer recomputes an agent's lineage without trusting anyone ([`LineageProof::verify`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Characters of the charter that enter the hash.
pub const CHARTER_CHARS: usize = 256;
/// The deepest lineage a proof may carry (root = 1).
pub const MAX_LINEAGE_DEPTH: usize = 16;
/// The longest agent key (an uncompressed secp256k1 key in hex with `0x`).
pub const MAX_KEY_CHARS: usize = 132;

/// A lineage hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Lineage(pub [u8; 32]);

impl fmt::Display for Lineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Lineage {
    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, LineageError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out)
            .map_err(|_| LineageError::BadHash(text.chars().take(80).collect()))?;
        Ok(Self(out))
    }
}

/// Why a lineage cannot be computed or does not check.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LineageError {
    /// The owner is not `0x` + 40 hex digits.
    #[error("owner {0:?} is not a chain address (0x + 40 hex digits)")]
    BadOwner(String),
    /// The agent key is empty, too long or not hex.
    #[error("agent key {0:?} must be 1 to {MAX_KEY_CHARS} hex digits (0x optional)")]
    BadKey(String),
    /// A proof's step carries more charter than enters the hash.
    #[error("a lineage step's charter has more than {CHARTER_CHARS} characters")]
    LongCharter,
    /// No steps, or more than [`MAX_LINEAGE_DEPTH`].
    #[error("a lineage proof needs 1 to {MAX_LINEAGE_DEPTH} steps, not {0}")]
    Depth(usize),
    /// Not 64 hex digits.
    #[error("{0:?} is not a lineage hash (64 hex digits)")]
    BadHash(String),
    /// The proof recomputes to another lineage than the one claimed.
    #[error("lineage {claimed} does not check: its proof gives {computed}")]
    Mismatch {
        /// What was claimed.
        claimed: String,
        /// What the proof gives.
        computed: String,
    },
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn owner_part(owner: &str) -> Result<String, LineageError> {
    match owner.strip_prefix("0x") {
        Some(h) if h.len() == 40 && is_hex(h) => Ok(owner.to_ascii_lowercase()),
        _ => Err(LineageError::BadOwner(owner.chars().take(64).collect())),
    }
}

fn key_part(key: &str) -> Result<String, LineageError> {
    let digits = key.strip_prefix("0x").unwrap_or(key);
    if key.len() > MAX_KEY_CHARS || !is_hex(digits) {
        return Err(LineageError::BadKey(key.chars().take(64).collect()));
    }
    Ok(key.to_ascii_lowercase())
}

/// The part of a charter that enters the hash: its first [`CHARTER_CHARS`] characters.
pub fn charter_prefix(charter: &str) -> String {
    charter.chars().take(CHARTER_CHARS).collect()
}

fn hash(parent: &str, charter: &str, key: &str) -> Result<Lineage, LineageError> {
    let key = key_part(key)?;
    let text = format!("{parent}:{}:{key}", charter_prefix(charter));
    Ok(Lineage(Sha256::digest(text.as_bytes()).into()))
}

/// The lineage of a root agent of `owner`.
pub fn root(owner: &str, charter: &str, agent_key: &str) -> Result<Lineage, LineageError> {
    hash(&owner_part(owner)?, charter, agent_key)
}

/// The lineage of a child of `parent`.
pub fn child(parent: &Lineage, charter: &str, agent_key: &str) -> Result<Lineage, LineageError> {
    hash(&parent.to_string(), charter, agent_key)
}

/// One generation: the agent's charter (first [`CHARTER_CHARS`] characters) and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineageStep {
    /// The charter's first [`CHARTER_CHARS`] characters.
    pub charter: String,
    /// The agent's key (hex).
    pub agent_key: String,
}

/// The owner and every generation from the root agent down to one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineageProof {
    /// The owner's chain address.
    pub owner: String,
    /// Root first; the last step is the agent itself.
    pub steps: Vec<LineageStep>,
}

impl LineageProof {
    /// The proof of a root agent.
    pub fn root(owner: &str, charter: &str, agent_key: &str) -> Result<Self, LineageError> {
        let proof = Self {
            owner: owner.to_string(),
            steps: vec![LineageStep {
                charter: charter_prefix(charter),
                agent_key: agent_key.to_string(),
            }],
        };
        proof.lineage()?;
        Ok(proof)
    }

    /// The proof of a child of this agent.
    pub fn child(&self, charter: &str, agent_key: &str) -> Result<Self, LineageError> {
        let mut proof = self.clone();
        proof.steps.push(LineageStep {
            charter: charter_prefix(charter),
            agent_key: agent_key.to_string(),
        });
        proof.lineage()?;
        Ok(proof)
    }

    /// Recomputes the lineage from the owner down.
    pub fn lineage(&self) -> Result<Lineage, LineageError> {
        if self.steps.is_empty() || self.steps.len() > MAX_LINEAGE_DEPTH {
            return Err(LineageError::Depth(self.steps.len()));
        }
        let mut current: Option<Lineage> = None;
        for step in &self.steps {
            if step.charter.chars().count() > CHARTER_CHARS {
                return Err(LineageError::LongCharter);
            }
            current = Some(match current {
                None => root(&self.owner, &step.charter, &step.agent_key)?,
                Some(parent) => child(&parent, &step.charter, &step.agent_key)?,
            });
        }
        current.ok_or(LineageError::Depth(0))
    }

    /// The parent's lineage (`None` for a root agent).
    pub fn parent(&self) -> Result<Option<Lineage>, LineageError> {
        if self.steps.len() <= 1 {
            return Ok(None);
        }
        let parent = Self {
            owner: self.owner.clone(),
            steps: self.steps[..self.steps.len() - 1].to_vec(),
        };
        parent.lineage().map(Some)
    }

    /// Checks that the proof gives `claimed`.
    pub fn verify(&self, claimed: &Lineage) -> Result<(), LineageError> {
        let computed = self.lineage()?;
        if &computed == claimed {
            Ok(())
        } else {
            Err(LineageError::Mismatch {
                claimed: claimed.to_string(),
                computed: computed.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests;
