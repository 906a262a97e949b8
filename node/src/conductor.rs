//! What `autonet simulate` (peers in this process) and `autonet testnet drive` (peers as
//! processes) share as conductors of a local network: when to mine the next block, and when a
//! run is finished.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use autonet_contracts::{Backend, Chain, Contracts, ProtocolView, RegisteredModel, RewardEvent};

/// Decides when the local chain mines its next block.
///
/// A block comes once every role has acted on the head and none is waiting on the network, at
/// least `interval` after the previous one: outcomes then depend on blocks, never on how fast
/// this machine is, which keeps a seeded run reproducible. If the head has not moved for
/// `stall` the block comes anyway, as a real chain moves on without a slow peer.
#[derive(Debug)]
pub struct BlockPacer {
    interval: Duration,
    stall: Duration,
    last_head: u64,
    last_block: Instant,
    last_mine: Instant,
}

/// What the pacer decided for this look at the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Not yet.
    Wait,
    /// Every role is ready.
    Mine,
    /// The head did not move for the stall timeout.
    MineStalled,
}

impl BlockPacer {
    /// A pacer that mines at most every `interval` and at least every `stall`.
    pub fn new(interval: Duration, stall: Duration) -> Self {
        let now = Instant::now();
        BlockPacer {
            interval,
            stall,
            last_head: 0,
            last_block: now,
            last_mine: now,
        }
    }

    /// Looks at head `head`: `ready` when every role acted on it and none waits; `may_stall`
    /// when a stalled chain may be moved on (a conductor that has not heard from every peer yet
    /// must not move it).
    pub fn decide(&mut self, head: u64, ready: bool, may_stall: bool) -> Pace {
        if head != self.last_head {
            self.last_head = head;
            self.last_block = Instant::now();
        }
        if may_stall && self.last_block.elapsed() > self.stall {
            Pace::MineStalled
        } else if ready && self.last_mine.elapsed() >= self.interval {
            Pace::Mine
        } else {
            Pace::Wait
        }
    }

    /// Records that a block was mined.
    pub fn mined(&mut self) {
        self.last_mine = Instant::now();
    }
}

/// What a run must have reached on chain to be finished.
#[derive(Debug, Clone, Copy)]
pub struct Goal {
    /// Epochs the run is for.
    pub epochs: u64,
    /// Epochs whose outcome the conductor has seen.
    pub epochs_seen: usize,
    /// Mint claims the seen epochs call for.
    pub expected_mints: usize,
}

/// Whether the run reached its goal on chain: every epoch seen, every mint claimed, nothing left
/// to claim by `claimants` (the peers still running), and every epoch's model registered. Returns
/// the registered models, epoch by epoch, when it did.
pub async fn reached<B: Backend>(
    chain: &Contracts<B>,
    goal: Goal,
    claimants: impl IntoIterator<Item = Address>,
) -> anyhow::Result<Option<Vec<(B256, RegisteredModel)>>> {
    if (goal.epochs_seen as u64) < goal.epochs {
        return Ok(None);
    }
    let head = chain.block_number().await?;
    let mints = chain
        .reward_events(0, head)
        .await?
        .iter()
        .filter(|e| matches!(e, RewardEvent::MintClaimed { .. }))
        .count();
    if mints < goal.expected_mints {
        return Ok(None);
    }
    for who in claimants {
        if !chain.claimable(who).await?.is_zero() {
            return Ok(None);
        }
    }
    let mut models = Vec::new();
    for epoch in 1..=goal.epochs {
        let model = chain.final_model_of(U256::from(epoch)).await?;
        if model.is_zero() {
            return Ok(None);
        }
        match chain.model_info(model).await {
            Ok(info) if !info.root.is_zero() => models.push((model, info)),
            _ => return Ok(None),
        }
    }
    Ok(Some(models))
}
