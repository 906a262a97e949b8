//! The signed envelope that carries one [`InboxMessage`] from an agent on one peer to an agent
//! on another, and the receiver's checks ([`open`]).
//!
//! Wire: CBOR [`Signed`] whose body is CBOR [`EnvelopeBody`] (version, sender and recipient
//! addresses, the message as JSON), signed by the sending peer's identity key under
//! [`MAIL_DOMAIN`]. The receiver refuses, before any store write: more than
//! [`MAX_ENVELOPE_BYTES`], bytes that do not decode, an unknown version, a sender whose peer is
//! not the connection's (a relayed or forged envelope), a bad signature, a recipient on another
//! peer, and a message whose source or target disagree with the addresses or that fails the
//! inbox's own checks.

use autonet_p2p::{Keypair, PeerAction, PeerId};
use serde::{Deserialize, Serialize};

use crate::addr::AgentAddr;
use crate::message::{InboxMessage, MAX_DATA_BYTES, MessageError};
use crate::signed::{SignatureError, Signed, from_cbor, to_cbor};

/// Signature domain of mail envelopes.
pub const MAIL_DOMAIN: &str = "autonet/agent-mail/v1";
/// The envelope version this node writes and reads.
pub const ENVELOPE_VERSION: u32 = 1;
/// The largest envelope accepted: a message at its data limit plus addresses, framing and the
/// signature.
pub const MAX_ENVELOPE_BYTES: usize = MAX_DATA_BYTES + 8 * 1024;

/// What the signature covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeBody {
    /// [`ENVELOPE_VERSION`].
    pub version: u32,
    /// The sending agent, `<peer-id>/<agent-id>`.
    pub from: String,
    /// The receiving agent, `<peer-id>/<agent-id>`.
    pub to: String,
    /// The message, as JSON ([`InboxMessage::decode`] reads it).
    #[serde(with = "serde_bytes")]
    pub message: Vec<u8>,
}

/// Why an envelope is refused.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Larger than [`MAX_ENVELOPE_BYTES`].
    #[error("envelope is {0} bytes; the limit is {MAX_ENVELOPE_BYTES}")]
    Oversized(usize),
    /// Not an envelope (bad CBOR, missing or unknown fields).
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// A version this node does not read.
    #[error("envelope version {0} is not supported (this node reads {ENVELOPE_VERSION})")]
    Version(u32),
    /// An address that does not parse or has no peer part.
    #[error("envelope address {0:?} is not <peer-id>/<agent-id>")]
    BadAddress(String),
    /// The sender's peer is not the peer that delivered the envelope.
    #[error("envelope claims to be from {claimed} but came from {actual}")]
    WrongSender {
        /// The peer in the `from` address.
        claimed: String,
        /// The connection's peer.
        actual: String,
    },
    /// The signature does not check.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Addressed to an agent on another peer.
    #[error("envelope is addressed to {0}, not to this peer")]
    MisAddressed(String),
    /// The message disagrees with the envelope's addresses.
    #[error("message {field} {got:?} does not match the envelope's {want:?}")]
    Mismatch {
        /// `source` or `target`.
        field: &'static str,
        /// The message's value.
        got: String,
        /// The envelope's value.
        want: String,
    },
    /// The message itself is not acceptable.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// Encoding failed locally.
    #[error("cannot encode an envelope: {0}")]
    Encode(String),
}

impl EnvelopeError {
    /// The penalty the delivering peer earns: proof of forgery costs most, bad bytes less.
    pub fn penalty(&self) -> Option<PeerAction> {
        match self {
            EnvelopeError::WrongSender { .. } | EnvelopeError::Signature(_) => {
                Some(PeerAction::Lied)
            }
            EnvelopeError::Encode(_) => None,
            _ => Some(PeerAction::Malformed),
        }
    }
}

/// Seals `message` from `from` to `to` (both with peer parts) with the sending peer's key.
/// The message's source and target must already be `from` and `to.agent`.
pub fn seal(
    key: &Keypair,
    from: &AgentAddr,
    to: &AgentAddr,
    message: &InboxMessage,
) -> Result<Vec<u8>, EnvelopeError> {
    message.check()?;
    let body = EnvelopeBody {
        version: ENVELOPE_VERSION,
        from: from.to_string(),
        to: to.to_string(),
        message: serde_json::to_vec(message).map_err(|e| EnvelopeError::Encode(e.to_string()))?,
    };
    let body = to_cbor(&body).map_err(EnvelopeError::Encode)?;
    let signed = Signed::sign(key, MAIL_DOMAIN, body)?;
    to_cbor(&signed).map_err(EnvelopeError::Encode)
}

fn full_addr(text: &str) -> Result<AgentAddr, EnvelopeError> {
    let bad = || EnvelopeError::BadAddress(text.chars().take(200).collect());
    let addr: AgentAddr = text.parse().map_err(|_| bad())?;
    if addr.peer.is_none() {
        return Err(bad());
    }
    Ok(addr)
}

/// Opens an envelope that `sender` delivered to `me`: every check in the module docs, then the
/// message, whose source is the sender's full address.
pub fn open(bytes: &[u8], sender: &PeerId, me: &PeerId) -> Result<InboxMessage, EnvelopeError> {
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(EnvelopeError::Oversized(bytes.len()));
    }
    let signed: Signed = from_cbor(bytes).map_err(EnvelopeError::Malformed)?;
    let body: EnvelopeBody = from_cbor(&signed.body).map_err(EnvelopeError::Malformed)?;
    if body.version != ENVELOPE_VERSION {
        return Err(EnvelopeError::Version(body.version));
    }
    let from = full_addr(&body.from)?;
    let to = full_addr(&body.to)?;
    if from.peer.as_ref() != Some(sender) {
        return Err(EnvelopeError::WrongSender {
            claimed: from.peer.map(|p| p.to_string()).unwrap_or_default(),
            actual: sender.to_string(),
        });
    }
    signed.verify(MAIL_DOMAIN, sender)?;
    if to.peer.as_ref() != Some(me) {
        return Err(EnvelopeError::MisAddressed(body.to));
    }
    let message = InboxMessage::decode(&body.message)?;
    if message.source != body.from {
        return Err(EnvelopeError::Mismatch {
            field: "source",
            got: message.source,
            want: body.from,
        });
    }
    if message.target != to.agent {
        return Err(EnvelopeError::Mismatch {
            field: "target",
            got: message.target,
            want: to.agent,
        });
    }
    Ok(message)
}

#[cfg(test)]
mod tests;
