//! Per-agent inboxes in the node's store.
//!
//! Layout (three tables, written together in one durable batch per post or ack):
//! - `agents.inbox`: `agent \0 seq` (big-endian) → the message as JSON: arrival order per agent;
//! - `agents.inbox.seen`: `agent \0 id` → seq: every id ever accepted for the agent, so a
//!   redelivery (the network delivers at least once) is dropped at the door;
//! - `agents.inbox.meta`: `agent` → next seq and pending count (both `u64`, big-endian).
//!
//! Agent names are restricted to `[A-Za-z0-9._:-]` ([`InboxMessage::check`]), so the `\0`
//! separator cannot occur inside one and a prefix scan finds exactly one agent's entries.

use std::sync::Arc;

use autonet_store::{Batch, Store, StoreError, Table};

use crate::message::{InboxMessage, MessageError};

const MESSAGES: Table = Table::new("agents.inbox");
const SEEN: Table = Table::new("agents.inbox.seen");
const META: Table = Table::new("agents.inbox.meta");

/// The most messages an agent may have pending; a sender past it is refused ([`InboxError::Full`])
/// and must retry, so a flood cannot fill the disk and nothing is dropped silently.
pub const MAX_PENDING: u64 = 10_000;

/// Why a post or read failed.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The message is not acceptable.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// The agent has as many messages waiting as its inbox holds.
    #[error("the inbox of {0} is full ({1} messages pending); retry later")]
    Full(String, u64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored entry cannot be read back (the store was changed by something else).
    #[error("inbox entry {0} is corrupt")]
    Corrupt(String),
    /// Not taking messages yet (the runtime is starting); retry later.
    #[error("not taking messages yet: {0}; retry later")]
    Unavailable(String),
}

/// What a post did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// Kept, with its sequence number in the agent's inbox.
    New(u64),
    /// An id already accepted for this agent: nothing kept (a redelivery).
    Duplicate,
}

/// The inboxes of every agent on this node.
#[derive(Debug, Clone)]
pub struct Inbox {
    store: Arc<Store>,
    limit: u64,
}

fn key(agent: &str, tail: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(agent.len() + 1 + tail.len());
    k.extend_from_slice(agent.as_bytes());
    k.push(0);
    k.extend_from_slice(tail);
    k
}

/// (next seq, pending) from a stored meta value (none yet: both zero).
fn parse_meta(value: Option<Vec<u8>>) -> (u64, u64) {
    let word = |bytes: &[u8]| u64::from_be_bytes(bytes.try_into().unwrap_or_default());
    match value {
        Some(v) if v.len() == 16 => (word(&v[..8]), word(&v[8..])),
        _ => (0, 0),
    }
}

/// (next seq, pending) of an agent, as the batch sees it.
fn meta(b: &mut Batch<'_>, agent: &str) -> Result<(u64, u64), StoreError> {
    Ok(parse_meta(b.get(META, agent.as_bytes())?))
}

fn put_meta(b: &mut Batch<'_>, agent: &str, next: u64, pending: u64) -> Result<(), StoreError> {
    let mut v = next.to_be_bytes().to_vec();
    v.extend_from_slice(&pending.to_be_bytes());
    b.put(META, agent.as_bytes(), &v)
}

/// The outcome decided inside the write batch.
enum Outcome {
    Posted(Posted),
    Full,
}

impl Inbox {
    /// The inboxes kept in `store`, at most [`MAX_PENDING`] pending messages per agent.
    pub fn new(store: Arc<Store>) -> Self {
        Self::with_limit(store, MAX_PENDING)
    }

    /// The store the inboxes live in (the runtime keeps its run records beside them).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The same with another per-agent limit.
    pub fn with_limit(store: Arc<Store>, limit: u64) -> Self {
        Self { store, limit }
    }

    /// Keeps `message` for its target; durable when this returns.
    pub fn post(&self, message: &InboxMessage) -> Result<Posted, InboxError> {
        message.check()?;
        let agent = message.target.as_str();
        let body =
            serde_json::to_vec(message).map_err(|e| MessageError::Malformed(e.to_string()))?;
        let outcome = self.store.batch(|b| {
            let seen = key(agent, message.id.as_bytes());
            if b.get(SEEN, &seen)?.is_some() {
                return Ok(Outcome::Posted(Posted::Duplicate));
            }
            let (next, pending) = meta(b, agent)?;
            if pending >= self.limit {
                return Ok(Outcome::Full);
            }
            b.put(MESSAGES, &key(agent, &next.to_be_bytes()), &body)?;
            b.put(SEEN, &seen, &next.to_be_bytes())?;
            put_meta(b, agent, next + 1, pending + 1)?;
            Ok(Outcome::Posted(Posted::New(next)))
        })?;
        match outcome {
            Outcome::Posted(posted) => Ok(posted),
            Outcome::Full => Err(InboxError::Full(agent.to_string(), self.limit)),
        }
    }

    /// The agent's pending messages with their sequence numbers, oldest first. Reading does not
    /// remove them: [`ack`](Self::ack) does, once they are handled.
    pub fn pending(&self, agent: &str) -> Result<Vec<(u64, InboxMessage)>, InboxError> {
        let prefix = key(agent, &[]);
        let mut out = Vec::new();
        for (k, value) in self.store.scan_prefix(MESSAGES, &prefix)? {
            let seq_bytes: [u8; 8] = k[prefix.len()..]
                .try_into()
                .map_err(|_| InboxError::Corrupt(format!("{agent}: a key of the wrong length")))?;
            let seq = u64::from_be_bytes(seq_bytes);
            let message = InboxMessage::decode(&value)
                .map_err(|e| InboxError::Corrupt(format!("{agent}#{seq}: {e}")))?;
            out.push((seq, message));
        }
        Ok(out)
    }

    /// How many messages the agent has pending.
    pub fn count(&self, agent: &str) -> Result<u64, InboxError> {
        Ok(parse_meta(self.store.get(META, agent.as_bytes())?).1)
    }

    /// Removes handled messages (unknown sequence numbers are ignored, so an ack can be
    /// repeated after a crash); durable when this returns.
    pub fn ack(&self, agent: &str, seqs: &[u64]) -> Result<(), InboxError> {
        self.store.batch(|b| {
            let (next, mut pending) = meta(b, agent)?;
            for seq in seqs {
                let k = key(agent, &seq.to_be_bytes());
                if b.get(MESSAGES, &k)?.is_some() {
                    b.remove(MESSAGES, &k)?;
                    pending = pending.saturating_sub(1);
                }
            }
            put_meta(b, agent, next, pending)
        })?;
        Ok(())
    }
}
