//! An inbox message (reference §9.3 `InboxMessage`), checked before it is kept.

use serde::{Deserialize, Serialize};

/// The most bytes of a message's `data` (as JSON).
pub const MAX_DATA_BYTES: usize = 64 * 1024;
/// The longest message id or target.
pub const MAX_NAME_BYTES: usize = 64;
/// The longest source: a remote sender's agent address `<peer-id>/<agent-id>` (a peer id is 52
/// characters, an agent id up to [`MAX_NAME_BYTES`]).
pub const MAX_SOURCE_BYTES: usize = 128;

/// What a message asks of its agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// Run now (an inbox trigger of an active agent).
    Trigger,
    /// Work to do in the next turn.
    Work,
    /// Information for the next turn.
    Info,
    /// Something went wrong elsewhere (a child failed, a budget ran out).
    Alert,
}

/// How urgent a message is; high and urgent wake an idle agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Whenever the agent next runs.
    Low,
    /// The default.
    Normal,
    /// Wakes an idle agent.
    High,
    /// Wakes an idle agent.
    Urgent,
}

/// One message to one agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxMessage {
    /// Chosen by the sender, unique per target: a redelivery carries the same id.
    pub id: String,
    /// Who sent it (an agent id, `user`, `scheduler`, or a remote agent's address
    /// `<peer-id>/<agent-id>`, set and checked by the mail path: see `crate::mail`).
    pub source: String,
    /// The agent it is for.
    pub target: String,
    /// What it asks.
    pub kind: MessageKind,
    /// How urgent.
    pub priority: Priority,
    /// The payload.
    pub data: serde_json::Value,
    /// When it was sent, in milliseconds since the Unix epoch (the sender's clock).
    pub timestamp_ms: u64,
}

/// Why a message is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    /// An id, source or target that is empty, too long, or has characters outside
    /// `[A-Za-z0-9._:-]` (they become store keys and log fields); a source may also be an agent
    /// address (one `/`, up to [`MAX_SOURCE_BYTES`]).
    #[error(
        "message {field} {value:?} must be 1 to {MAX_NAME_BYTES} characters of [A-Za-z0-9._:-] (a source may be <peer-id>/<agent-id>)"
    )]
    BadName {
        /// Which field.
        field: &'static str,
        /// Its value (cut to the limit).
        value: String,
    },
    /// The payload is larger than [`MAX_DATA_BYTES`].
    #[error("message data is {0} bytes; the limit is {MAX_DATA_BYTES}")]
    TooLarge(usize),
    /// Not a message (bad JSON, unknown field, wrong type).
    #[error("not an inbox message: {0}")]
    Malformed(String),
}

fn is_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_NAME_BYTES
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

fn check_name(field: &'static str, value: &str) -> Result<(), MessageError> {
    if is_name(value) {
        Ok(())
    } else {
        let value = value.chars().take(MAX_NAME_BYTES).collect();
        Err(MessageError::BadName { field, value })
    }
}

impl InboxMessage {
    /// Checks names and size; what [`crate::Inbox::post`] keeps has passed this.
    pub fn check(&self) -> Result<(), MessageError> {
        check_name("id", &self.id)?;
        // A remote sender's address: `<peer-id>/<agent-id>`, each part a name.
        let source_ok = self.source.len() <= MAX_SOURCE_BYTES
            && match self.source.split_once('/') {
                Some((peer, agent)) => is_name(peer) && is_name(agent),
                None => is_name(&self.source),
            };
        if !source_ok {
            let value = self.source.chars().take(MAX_SOURCE_BYTES).collect();
            return Err(MessageError::BadName {
                field: "source",
                value,
            });
        }
        check_name("target", &self.target)?;
        let size = serde_json::to_vec(&self.data)
            .map_err(|e| MessageError::Malformed(e.to_string()))?
            .len();
        if size > MAX_DATA_BYTES {
            return Err(MessageError::TooLarge(size));
        }
        Ok(())
    }

    /// Decodes and checks a message from JSON (from a WebSocket, a peer, a file), bounded
    /// before parsing.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        if bytes.len() > MAX_DATA_BYTES + 4096 {
            return Err(MessageError::TooLarge(bytes.len()));
        }
        let message: Self =
            serde_json::from_slice(bytes).map_err(|e| MessageError::Malformed(e.to_string()))?;
        message.check()?;
        Ok(message)
    }
}
