//! An event cursor: reads the suite's logs block range by block range, only once they have
//! `confirmations` blocks on top, and survives reorgs.
//!
//! Reorgs shallower than `confirmations` never touch what was delivered: the cursor simply has not
//! read those blocks yet. For deeper ones the cursor remembers the hashes of the blocks it
//! delivered (every block that held one of its events, and the last block of every poll, up to
//! [`EventCursor::window`] of them). Each poll first re-checks the newest remembered hash; on a
//! mismatch it walks back to the newest block whose hash still matches (the chain below it is
//! unchanged, since every block commits to its parent), reports [`Batch::rewound_from`] = the
//! block after it, and re-reads from there. A consumer that drops its events from
//! `rewound_from` on before applying `events` ends up with exactly the canonical events: none
//! lost, none twice.

use std::collections::VecDeque;

use alloy::primitives::{Address, B256};

use crate::backend::{Backend, ChainError, ChainLog};
use crate::bindings;
use crate::client::Deployment;

/// A decoded-enough event: which contract, which event, where.
#[derive(Debug, Clone)]
pub struct ChainEvent {
    /// Contract name (e.g. `TaskContract`).
    pub contract: &'static str,
    /// Event name from the ABI (e.g. `SolutionRevealed`), or `None` if unknown.
    pub name: Option<String>,
    /// The raw log with its position; decode it with the `sol!` event type.
    pub log: ChainLog,
}

/// What a poll returned.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Set after a reorg reached delivered blocks: every event delivered earlier from this block
    /// on is void (those still canonical are in `events` again).
    pub rewound_from: Option<u64>,
    /// Newly confirmed events in chain order.
    pub events: Vec<ChainEvent>,
}

impl Batch {
    /// Whether a reorg of delivered blocks was detected.
    pub fn reorged(&self) -> bool {
        self.rewound_from.is_some()
    }
}

/// Cursor state; persist `next_block` to resume after a restart.
#[derive(Debug, Clone)]
pub struct EventCursor {
    /// First block not yet delivered.
    pub next_block: u64,
    /// Blocks required on top of a block before its logs are delivered.
    pub confirmations: u64,
    /// How many delivered block hashes are remembered; a reorg that replaces all of them is an
    /// error ([`ChainError::ReorgTooDeep`]) rather than a silent gap.
    pub window: usize,
    /// First block this cursor ever delivered (a reorg reaching below every remembered block
    /// rewinds here while nothing has been forgotten yet).
    start_block: u64,
    /// Delivered (number, hash), oldest first.
    seen: VecDeque<(u64, B256)>,
    /// Whether older entries of `seen` were dropped to respect `window`.
    forgot: bool,
    addresses: Vec<Address>,
    deployment: Deployment,
}

impl EventCursor {
    /// A cursor over every contract of `deployment`, starting at `from_block`.
    pub fn new(deployment: Deployment, from_block: u64, confirmations: u64) -> Self {
        let addresses = deployment.entries().iter().map(|(_, _, a)| *a).collect();
        Self {
            next_block: from_block,
            confirmations,
            window: 256,
            start_block: from_block,
            seen: VecDeque::new(),
            forgot: false,
            addresses,
            deployment,
        }
    }

    /// Delivers the confirmed events since the last poll (possibly none), after rewinding over a
    /// reorg if one replaced delivered blocks.
    pub async fn poll<B: Backend>(&mut self, backend: &B) -> Result<Batch, ChainError> {
        let rewound_from = self.check_reorg(backend).await?;
        let head = backend.block_number().await?;
        let safe = match head.checked_sub(self.confirmations) {
            Some(safe) if safe >= self.next_block => safe,
            _ => {
                return Ok(Batch {
                    rewound_from,
                    events: vec![],
                });
            }
        };
        // The safe block's hash is read before the logs: if a reorg slips in between, the next
        // poll sees a mismatch on one of them and re-reads.
        let safe_hash = backend.block_hash(safe).await?;
        let logs = backend.logs(self.next_block, safe, &self.addresses).await?;
        for log in &logs {
            if self.seen.back().map(|(n, _)| *n) != Some(log.block_number) {
                self.remember(log.block_number, log.block_hash);
            }
        }
        if let Some(hash) = safe_hash
            && self.seen.back().map(|(n, _)| *n) != Some(safe)
        {
            self.remember(safe, hash);
        }
        self.next_block = safe + 1;
        let events = logs.into_iter().map(|log| self.describe(log)).collect();
        Ok(Batch {
            rewound_from,
            events,
        })
    }

    /// Finds the newest remembered block still canonical; rewinds past it when a newer one was
    /// replaced. Returns the first rewound block.
    async fn check_reorg<B: Backend>(&mut self, backend: &B) -> Result<Option<u64>, ChainError> {
        let Some(&(newest, hash)) = self.seen.back() else {
            return Ok(None);
        };
        if backend.block_hash(newest).await? == Some(hash) {
            return Ok(None);
        }
        self.seen.pop_back();
        while let Some(&(number, hash)) = self.seen.back() {
            if backend.block_hash(number).await? == Some(hash) {
                break;
            }
            self.seen.pop_back();
        }
        let from = match self.seen.back() {
            Some((number, _)) => number + 1,
            None if !self.forgot => self.start_block,
            None => {
                return Err(ChainError::ReorgTooDeep {
                    window: self.window,
                    newest,
                });
            }
        };
        tracing::warn!(target: "autonet_contracts::cursor", "reorg replaced delivered blocks from {from}; re-reading");
        self.next_block = from;
        Ok(Some(from))
    }

    fn remember(&mut self, number: u64, hash: B256) {
        self.seen.push_back((number, hash));
        while self.seen.len() > self.window.max(1) {
            self.seen.pop_front();
            self.forgot = true;
        }
    }

    fn describe(&self, log: ChainLog) -> ChainEvent {
        let contract = self
            .deployment
            .name_of(log.log.address)
            .unwrap_or("unknown");
        let name = log.log.topics().first().and_then(|topic| {
            bindings::cached(contract)
                .ok()?
                .abi
                .events()
                .find(|e| e.selector() == *topic)
                .map(|e| e.name.clone())
        });
        ChainEvent {
            contract,
            name,
            log,
        }
    }
}
