//! An event cursor: reads the suite's logs block range by block range, only once they have
//! `confirmations` blocks on top, and detects reorgs by re-checking the hash of the last block it
//! delivered. After a reorg it rewinds and delivers the affected range again; events carry their
//! (block, log index) position so consumers can deduplicate.

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
    /// Events in chain order.
    pub events: Vec<ChainEvent>,
    /// Whether a reorg was detected (the events re-deliver a rewound range).
    pub reorged: bool,
}

/// Cursor state; persist `next_block` to resume after a restart.
#[derive(Debug, Clone)]
pub struct EventCursor {
    /// First block not yet delivered.
    pub next_block: u64,
    /// Blocks required on top of a block before its logs are delivered.
    pub confirmations: u64,
    last: Option<(u64, B256)>,
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
            last: None,
            addresses,
            deployment,
        }
    }

    /// Delivers the confirmed events since the last poll (possibly none).
    pub async fn poll<B: Backend>(&mut self, backend: &B) -> Result<Batch, ChainError> {
        let mut reorged = false;
        if let Some((number, hash)) = self.last
            && backend.block_hash(number).await? != Some(hash)
        {
            reorged = true;
            self.next_block = number.saturating_sub(self.confirmations.max(1));
            self.last = None;
        }
        let head = backend.block_number().await?;
        let Some(safe) = head.checked_sub(self.confirmations) else {
            return Ok(Batch {
                events: vec![],
                reorged,
            });
        };
        if safe < self.next_block {
            return Ok(Batch {
                events: vec![],
                reorged,
            });
        }
        let logs = backend.logs(self.next_block, safe, &self.addresses).await?;
        let events = logs.into_iter().map(|log| self.describe(log)).collect();
        if let Some(hash) = backend.block_hash(safe).await? {
            self.last = Some((safe, hash));
        }
        self.next_block = safe + 1;
        Ok(Batch { events, reorged })
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
