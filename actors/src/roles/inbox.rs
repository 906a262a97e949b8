//! Accepted gossip, filed durably and handed to the role actor as a message.
//!
//! The gate ([`super::gate`]) is the peer's gossip router: it decodes each message once, judges
//! its author, and files what it accepts here, in the peer's store, before it wakes the role
//! actor with [`RoleMsg::Announced`]:
//! - a task spec under its content id in [`CONTENT`]. A role looks a task's spec up by the
//!   task's on-chain `specHash`, so a spec announced under the wrong task id is never asked for
//!   and cannot shadow the real one (an in-memory "first spec per task id wins" map could be
//!   poisoned by any staked proposer);
//! - a model announcement under its epoch in [`ANNOUNCEMENTS`], at most
//!   [`MAX_ANNOUNCEMENTS_PER_EPOCH`] distinct ones per epoch (a staked rogue may announce too:
//!   the chain decides which one counts).
//!
//! Filing before waking means nothing accepted is lost while the supervisor restarts the role
//! actor (the wake reaches no one, the restarted actor reads the store), nor across a crash.
//! The wake reaches the role actor through a ractor process group unique to this peer: the
//! gate needs no handle on whichever incarnation of the role actor is alive.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use autonet_store::{Store, StoreError, Table};
use ractor::{ActorCell, pg};

use super::RoleError;
use super::actor::RoleMsg;
use super::ctx::CONTENT;
use crate::protocol::trace::SignedTrace;
use crate::protocol::wire::{
    MAX_ANNOUNCEMENT_BYTES, ModelAnnouncement, TaskAnnouncement, content_id, decode, encode,
};

/// Model announcements: key = epoch (big-endian u64) ‖ BLAKE3 of the encoded announcement.
pub const ANNOUNCEMENTS: Table = Table::new("protocol.announcements");

/// Announcements kept per epoch: enough for every honest aggregator of a network, few enough
/// that a flood of distinct rogue announcements cannot grow the store.
pub const MAX_ANNOUNCEMENTS_PER_EPOCH: usize = 16;

/// Agents' traces heard on gossip: key = trace id (hex), value = the signed trace's encoding.
pub const TRACES: Table = Table::new("protocol.traces");

/// Traces kept for the task pool; past it the oldest-keyed are not replaced (a flood of traces
/// cannot grow the store without bound).
pub const MAX_TRACES: usize = 4096;

/// Process groups already handed out (simulations run many peers in one process).
static GROUPS: AtomicU64 = AtomicU64::new(0);

/// A peer's inbox: where the gate files accepted gossip and how it wakes the role actor.
#[derive(Debug, Clone)]
pub struct Inbox {
    store: Arc<Store>,
    /// The process group the peer's role actor joins to be woken.
    group: String,
}

impl Inbox {
    /// The inbox of the peer whose store is `store`.
    pub fn new(store: Arc<Store>) -> Self {
        let n = GROUPS.fetch_add(1, Ordering::Relaxed);
        Inbox {
            store,
            group: format!("autonet.role.{n}"),
        }
    }

    /// Makes `actor` (the role actor, at its start) the one woken by [`Inbox::wake`]; it leaves
    /// the group when it stops.
    pub fn join(&self, actor: ActorCell) {
        pg::join(self.group.clone(), vec![actor]);
    }

    /// Tells the role actor that something new was filed.
    pub fn wake(&self) {
        for member in pg::get_members(&self.group) {
            // A stopping actor no longer takes messages; its successor reads the store.
            let _ = member.send_message(RoleMsg::Announced);
        }
    }

    /// Files a task announcement's spec by its content id (once).
    pub fn file_spec(&self, a: &TaskAnnouncement) -> Result<(), StoreError> {
        let id = content_id(&a.spec);
        if self.store.get(CONTENT, &id)?.is_none() {
            self.store.put(CONTENT, &id, &a.spec)?;
        }
        Ok(())
    }

    /// Files a model announcement under its epoch; false when it is already there or the epoch
    /// is full.
    pub fn file_model(&self, a: &ModelAnnouncement) -> Result<bool, StoreError> {
        let bytes = encode(a);
        let mut key = a.epoch.to_be_bytes().to_vec();
        key.extend_from_slice(&content_id(&bytes));
        if self.store.get(ANNOUNCEMENTS, &key)?.is_some()
            || self
                .store
                .scan_prefix(ANNOUNCEMENTS, &a.epoch.to_be_bytes())?
                .len()
                >= MAX_ANNOUNCEMENTS_PER_EPOCH
        {
            return Ok(false);
        }
        self.store.put(ANNOUNCEMENTS, &key, &bytes)?;
        Ok(true)
    }

    /// Files an agent's trace (verified by the gate); false when it is already there or the pool
    /// is full.
    pub fn file_trace(&self, t: &SignedTrace) -> Result<bool, StoreError> {
        if self.store.get(TRACES, t.id.as_bytes())?.is_some()
            || self.store.scan(TRACES)?.len() >= MAX_TRACES
        {
            return Ok(false);
        }
        self.store.put(TRACES, t.id.as_bytes(), &t.encode())?;
        Ok(true)
    }

    /// The filed traces (verified again: the store may have been edited), in id order.
    pub fn traces(&self) -> Result<Vec<SignedTrace>, RoleError> {
        Ok(self
            .store
            .scan(TRACES)?
            .into_iter()
            .filter_map(|(_, bytes)| SignedTrace::decode(&bytes).ok())
            .collect())
    }

    /// The live trace pool: every turn of every filed trace, distinct, sorted (so a draw
    /// depends on the turns, not on when their traces arrived).
    pub fn trace_turns(&self) -> Result<Vec<String>, RoleError> {
        let mut turns: Vec<String> = self
            .traces()?
            .into_iter()
            .flat_map(|t| t.trace.turns)
            .collect();
        turns.sort();
        turns.dedup();
        Ok(turns)
    }

    /// Content kept by this peer (a filed task spec, say), by id.
    pub fn content(&self, id: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(CONTENT, id)
    }

    /// Every distinct announcement of `epoch` filed so far.
    pub fn models(&self, epoch: u64) -> Result<Vec<ModelAnnouncement>, RoleError> {
        self.store
            .scan_prefix(ANNOUNCEMENTS, &epoch.to_be_bytes())?
            .into_iter()
            .map(|(_, bytes)| {
                decode("model announcement", &bytes, MAX_ANNOUNCEMENT_BYTES)
                    .map_err(|e| RoleError::Corrupt(format!("filed announcement: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::WIRE_VERSION;

    fn inbox() -> (tempfile::TempDir, Inbox) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path().join("s.redb")).unwrap());
        (dir, Inbox::new(store))
    }

    fn announcement(epoch: u64, n: u8) -> ModelAnnouncement {
        ModelAnnouncement {
            version: WIRE_VERSION,
            epoch,
            model_id: [n; 32],
            mint_list_id: [n; 32],
            mint_root: [n; 32],
        }
    }

    #[test]
    fn a_flood_of_distinct_announcements_keeps_at_most_the_cap_per_epoch() {
        let (_dir, inbox) = inbox();
        for n in 0..40u8 {
            inbox.file_model(&announcement(3, n)).unwrap();
        }
        assert!(!inbox.file_model(&announcement(3, 0)).unwrap(), "a repeat");
        assert_eq!(inbox.models(3).unwrap().len(), MAX_ANNOUNCEMENTS_PER_EPOCH);
        assert!(inbox.file_model(&announcement(4, 0)).unwrap());
        assert_eq!(inbox.models(4).unwrap(), vec![announcement(4, 0)]);
        assert!(inbox.models(5).unwrap().is_empty());
    }

    #[test]
    fn filed_gossip_outlives_the_inbox_that_filed_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let spec = TaskAnnouncement {
            version: WIRE_VERSION,
            task_id: [7; 32],
            spec: b"spec bytes".to_vec(),
        };
        {
            let inbox = Inbox::new(Arc::new(Store::open(&path).unwrap()));
            inbox.file_spec(&spec).unwrap();
            inbox.file_model(&announcement(1, 9)).unwrap();
        }
        let store = Arc::new(Store::open(&path).unwrap());
        let id = content_id(&spec.spec);
        assert_eq!(store.get(CONTENT, &id).unwrap(), Some(spec.spec.clone()));
        assert_eq!(
            Inbox::new(store).models(1).unwrap(),
            vec![announcement(1, 9)]
        );
    }

    #[test]
    fn a_spec_announced_under_a_taken_task_id_does_not_shadow_the_real_one() {
        let (_dir, inbox) = inbox();
        let announce = |spec: &[u8]| TaskAnnouncement {
            version: WIRE_VERSION,
            task_id: [1; 32],
            spec: spec.to_vec(),
        };
        // A staked rogue proposer races the task's own proposer with a spec of its choosing.
        inbox.file_spec(&announce(b"rogue spec")).unwrap();
        inbox.file_spec(&announce(b"real spec")).unwrap();
        let real = content_id(b"real spec");
        assert_eq!(
            inbox.store.get(CONTENT, &real).unwrap().as_deref(),
            Some(&b"real spec"[..])
        );
    }
}
