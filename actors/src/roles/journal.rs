//! The journal: what roles did, in order, for progress lines and the final report. Shared by
//! every role of a simulation; a joined node keeps its own.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

/// One thing that happened.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Seconds since the journal started.
    pub at: f64,
    pub peer: String,
    pub epoch: u64,
    /// `propose`, `commit`, `reveal`, `vote`, `finalize`, `aggregate`, `publish`, `claim`, …
    pub phase: &'static str,
    pub text: String,
}

pub use super::events::EpochRecord;

#[derive(Debug)]
struct Inner {
    start: Instant,
    entries: Vec<Entry>,
    epochs: Vec<EpochRecord>,
}

/// Shared, append-only.
#[derive(Debug, Clone)]
pub struct Journal {
    inner: Arc<Mutex<Inner>>,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            inner: Arc::new(Mutex::new(Inner {
                start: Instant::now(),
                entries: Vec::new(),
                epochs: Vec::new(),
            })),
        }
    }
}

impl Journal {
    /// Seconds since the journal started.
    pub fn now(&self) -> f64 {
        self.inner
            .lock()
            .map(|i| i.start.elapsed().as_secs_f64())
            .unwrap_or_default()
    }

    /// Appends an entry.
    pub fn note(&self, peer: &str, epoch: u64, phase: &'static str, text: String) {
        if let Some(p) = super::events::Phase::parse(phase) {
            super::events::emit(p, epoch, &text);
        }
        if let Ok(mut i) = self.inner.lock() {
            let at = i.start.elapsed().as_secs_f64();
            i.entries.push(Entry {
                at,
                peer: peer.to_string(),
                epoch,
                phase,
                text,
            });
        }
    }

    /// Entries from index `from` on.
    pub fn entries_since(&self, from: usize) -> Vec<Entry> {
        self.inner
            .lock()
            .map(|i| {
                i.entries
                    .get(from..)
                    .map(<[Entry]>::to_vec)
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Time of the first entry of `phase` in `epoch`.
    pub fn first_at(&self, epoch: u64, phase: &str) -> Option<f64> {
        let i = self.inner.lock().ok()?;
        i.entries
            .iter()
            .find(|e| e.epoch == epoch && e.phase == phase)
            .map(|e| e.at)
    }

    /// Records a published epoch (the first record per epoch wins).
    pub fn epoch_published(&self, record: EpochRecord) {
        if let Ok(mut i) = self.inner.lock()
            && !i.epochs.iter().any(|e| e.epoch == record.epoch)
        {
            i.epochs.push(record);
        }
    }

    /// Published epochs, in order.
    pub fn epochs(&self) -> Vec<EpochRecord> {
        let mut v = self
            .inner
            .lock()
            .map(|i| i.epochs.clone())
            .unwrap_or_default();
        v.sort_by_key(|e| e.epoch);
        v
    }
}
