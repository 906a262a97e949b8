//! Agent cards: what an agent offers (capabilities), who it is (lineage, owner) and where it
//! lives (peer, agent id), signed by its peer. Found through the DHT ([`crate::directory`]).

use autonet_p2p::{Keypair, PeerId};
use serde::{Deserialize, Serialize};

use crate::addr::{AgentAddr, is_agent_id};
use crate::lineage::{Lineage, LineageError, LineageProof};
use crate::signed::{SignatureError, Signed, from_cbor, to_cbor};

/// Signature domain of agent cards.
pub const CARD_DOMAIN: &str = "autonet/agent-card/v1";
/// The card format this node writes and reads.
pub const CARD_VERSION: u32 = 1;
/// The delegation protocol version agents on this node speak ([`crate::delegation`]).
pub const DELEGATION_PROTOCOL: u32 = 1;
/// The largest signed card accepted (a deep lineage proof with long charters fits).
pub const MAX_CARD_BYTES: usize = 32 * 1024;
/// The most capabilities on one card.
pub const MAX_CAPABILITIES: usize = 16;
/// The longest capability or name.
pub const MAX_LABEL_CHARS: usize = 64;
/// Prefix of a capability's DHT key: `BLAKE3(prefix ‖ capability)`.
pub const CAPABILITY_KEY_PREFIX: &str = "autonet/agent-capability/v1/";

/// An agent's card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentCard {
    /// [`CARD_VERSION`].
    pub version: u32,
    /// The hosting peer (base58), which signs the card.
    pub peer: String,
    /// The agent's id on that peer.
    pub agent: String,
    /// A human name.
    pub name: String,
    /// What it can be delegated (lower-case labels of `[a-z0-9._/-]`).
    pub capabilities: Vec<String>,
    /// Its lineage (64 hex digits).
    pub lineage: String,
    /// The proof of that lineage, rooted at the owner.
    pub lineage_proof: LineageProof,
    /// The owner's chain address (the proof's root).
    pub owner: String,
    /// The delegation protocol it speaks.
    pub protocol: u32,
}

/// Why a card is refused.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// Larger than [`MAX_CARD_BYTES`].
    #[error("card is {0} bytes; the limit is {MAX_CARD_BYTES}")]
    Oversized(usize),
    /// Not a card.
    #[error("malformed card: {0}")]
    Malformed(String),
    /// A field out of bounds.
    #[error("invalid card: {0}")]
    Invalid(String),
    /// Signed by another peer than the one serving it, or not at all.
    #[error("card of {claimed} served by {actual}")]
    WrongPeer {
        /// The card's peer.
        claimed: String,
        /// The peer that served it.
        actual: String,
    },
    /// The signature does not check.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The lineage does not check.
    #[error(transparent)]
    Lineage(#[from] LineageError),
}

/// The DHT key under which providers of `capability` are announced.
pub fn capability_key(capability: &str) -> [u8; 32] {
    *blake3::hash(format!("{CAPABILITY_KEY_PREFIX}{capability}").as_bytes()).as_bytes()
}

/// True for a capability label.
pub fn is_capability(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL_CHARS
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._/-".contains(&b))
}

impl AgentCard {
    /// The card's address.
    pub fn address(&self) -> Result<AgentAddr, CardError> {
        format!("{}/{}", self.peer, self.agent)
            .parse()
            .map_err(|e| CardError::Invalid(format!("address: {e}")))
    }

    /// Checks bounds, the owner and the lineage proof.
    pub fn check(&self) -> Result<(), CardError> {
        let invalid = |m: String| Err(CardError::Invalid(m));
        if self.version != CARD_VERSION {
            return invalid(format!(
                "version {} (this node reads {CARD_VERSION})",
                self.version
            ));
        }
        self.address()?;
        if !is_agent_id(&self.agent) {
            return invalid("agent id".into());
        }
        if self.name.is_empty() || self.name.chars().count() > MAX_LABEL_CHARS {
            return invalid(format!("name must be 1 to {MAX_LABEL_CHARS} characters"));
        }
        if self.capabilities.is_empty() || self.capabilities.len() > MAX_CAPABILITIES {
            return invalid(format!("1 to {MAX_CAPABILITIES} capabilities"));
        }
        if let Some(bad) = self.capabilities.iter().find(|c| !is_capability(c)) {
            let bad: String = bad.chars().take(MAX_LABEL_CHARS).collect();
            return invalid(format!("capability {bad:?} is not of [a-z0-9._/-]"));
        }
        if self.owner != self.lineage_proof.owner {
            return invalid("the owner is not the lineage proof's root".into());
        }
        self.lineage_proof
            .verify(&Lineage::from_hex(&self.lineage)?)?;
        Ok(())
    }

    /// Checks the card and signs it with its peer's key.
    pub fn sign(&self, key: &Keypair) -> Result<Signed, CardError> {
        self.check()?;
        let me = key.public().to_peer_id().to_string();
        if self.peer != me {
            return Err(CardError::WrongPeer {
                claimed: self.peer.clone(),
                actual: me,
            });
        }
        let body = to_cbor(self).map_err(CardError::Malformed)?;
        Ok(Signed::sign(key, CARD_DOMAIN, body)?)
    }

    /// Verifies a card that `provider` served: its own, signed by it, within bounds, with a
    /// lineage that checks.
    pub fn verify(signed: &Signed, provider: &PeerId) -> Result<Self, CardError> {
        let size = signed.body.len() + signed.signature.len();
        if size > MAX_CARD_BYTES {
            return Err(CardError::Oversized(size));
        }
        let card: AgentCard = from_cbor(&signed.body).map_err(CardError::Malformed)?;
        if card.peer != provider.to_string() {
            return Err(CardError::WrongPeer {
                claimed: card.peer.chars().take(64).collect(),
                actual: provider.to_string(),
            });
        }
        signed.verify(CARD_DOMAIN, provider)?;
        card.check()?;
        Ok(card)
    }
}

#[cfg(test)]
mod tests;
