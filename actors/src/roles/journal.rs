//! The journal: what roles did, in order, for progress lines and the final report. Shared by
//! every role of a simulation; a joined node keeps its own.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use alloy::primitives::Address;
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

/// What an aggregator published for an epoch (for the report; kept in its store).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EpochRecord {
    pub epoch: u64,
    pub task: String,
    pub model_id: String,
    pub mint_root: String,
    pub accepted: Vec<Address>,
    /// Agents in the mint list.
    pub mint_agents: usize,
    pub root_scores: Vec<(String, f64)>,
    pub novelty: Vec<(String, f64)>,
    /// Held-out loss of the base and of the new model (model kinds that measure it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out_loss: Option<(f64, f64)>,
    pub started_at: f64,
    pub published_at: f64,
}

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
        tracing::info!(target: "autonet_actors::protocol", peer, epoch, phase, "{text}");
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
