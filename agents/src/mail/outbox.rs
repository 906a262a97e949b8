//! The durable outbox: sealed envelopes waiting for their receiver's acknowledgement.
//!
//! Layout: table `agents.outbox`, key = sequence number (big-endian `u64`, so a scan is in
//! send order), value = CBOR [`Entry`] (the receiving peer and the sealed envelope); table
//! `agents.outbox.meta`, key `next` = the next sequence number. An entry is written before
//! [`crate::mail::Mailer::send`] returns and removed only after the receiver acknowledged that
//! its inbox durably holds the message, so a crash anywhere in between redelivers it (the
//! receiver's inbox drops the repeat by message id).

use std::sync::Arc;

use autonet_p2p::PeerId;
use autonet_store::{Store, StoreError, Table};
use serde::{Deserialize, Serialize};

use crate::signed::{from_cbor, to_cbor};

const ENTRIES: Table = Table::new("agents.outbox");
const META: Table = Table::new("agents.outbox.meta");
const NEXT: &[u8] = b"next";

/// One envelope waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The receiving peer.
    #[serde(with = "serde_bytes")]
    pub peer: Vec<u8>,
    /// The sealed envelope ([`super::envelope::seal`]).
    #[serde(with = "serde_bytes")]
    pub envelope: Vec<u8>,
}

impl Entry {
    /// The receiving peer, if the stored bytes are a peer id.
    pub fn peer_id(&self) -> Option<PeerId> {
        PeerId::from_bytes(&self.peer).ok()
    }
}

/// One waiting entry by sequence number, or why it cannot be read back.
pub type Pending = (u64, Result<Entry, OutboxError>);

/// Why the outbox failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An entry cannot be encoded or read back.
    #[error("outbox entry {0} is corrupt: {1}")]
    Corrupt(u64, String),
}

/// The outbox in the node's store.
#[derive(Debug, Clone)]
pub struct Outbox {
    store: Arc<Store>,
}

fn seq_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.try_into().ok()?))
}

impl Outbox {
    /// The outbox kept in `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// Keeps an envelope for `peer`; durable when this returns. Returns its sequence number.
    pub fn push(&self, peer: PeerId, envelope: Vec<u8>) -> Result<u64, OutboxError> {
        let entry = Entry {
            peer: peer.to_bytes(),
            envelope,
        };
        let value = to_cbor(&entry).map_err(|e| OutboxError::Corrupt(0, e))?;
        Ok(self.store.batch(|b| {
            let next = b
                .get(META, NEXT)?
                .and_then(|v| seq_of(&v))
                .unwrap_or_default();
            b.put(ENTRIES, &next.to_be_bytes(), &value)?;
            b.put(META, NEXT, &(next + 1).to_be_bytes())?;
            Ok(next)
        })?)
    }

    /// Every waiting entry, oldest first. An entry that does not read back is reported, not
    /// skipped silently: the caller logs it and removes it.
    pub fn pending(&self) -> Result<Vec<Pending>, OutboxError> {
        let mut out = Vec::new();
        for (key, value) in self.store.scan(ENTRIES)? {
            let Some(seq) = seq_of(&key) else { continue };
            let entry = from_cbor::<Entry>(&value).map_err(|e| OutboxError::Corrupt(seq, e));
            out.push((seq, entry));
        }
        Ok(out)
    }

    /// How many entries wait.
    pub fn len(&self) -> Result<usize, OutboxError> {
        Ok(self.store.scan(ENTRIES)?.len())
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> Result<bool, OutboxError> {
        Ok(self.len()? == 0)
    }

    /// Removes a delivered entry (an unknown one is ignored); durable when this returns.
    pub fn remove(&self, seq: u64) -> Result<(), OutboxError> {
        Ok(self.store.remove(ENTRIES, &seq.to_be_bytes())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopening_and_leave_only_when_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let peer = PeerId::random();
        {
            let outbox = Outbox::new(Arc::new(Store::open(&path).unwrap()));
            assert_eq!(outbox.push(peer, b"one".to_vec()).unwrap(), 0);
            assert_eq!(outbox.push(peer, b"two".to_vec()).unwrap(), 1);
        }
        let outbox = Outbox::new(Arc::new(Store::open(&path).unwrap()));
        let pending = outbox.pending().unwrap();
        assert_eq!(pending.len(), 2);
        let (seq, entry) = &pending[0];
        let entry = entry.as_ref().unwrap();
        assert_eq!(
            (*seq, entry.peer_id(), &entry.envelope[..]),
            (0, Some(peer), &b"one"[..])
        );
        outbox.remove(0).unwrap();
        outbox.remove(0).unwrap();
        assert_eq!(outbox.len().unwrap(), 1);
        assert_eq!(outbox.push(peer, b"three".to_vec()).unwrap(), 2);
    }
}
