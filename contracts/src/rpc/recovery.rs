//! How `RpcChain` keeps its transactions alive when the node misbehaves: resubmission after a
//! restart of either side, nonce choice that respects our own stored transactions, handing a
//! node that restarted from an older state (or reorged) the transactions it forgot, repricing
//! when the base fee rose above a transaction's fee cap, and settling the store once a nonce is
//! mined.

use alloy::consensus::{TxEip1559, TxEnvelope};
use alloy::eips::Decodable2718;
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::Provider;

use super::{RpcChain, classify};
use crate::backend::ChainError;
use crate::pending::PendingTx;

/// The node already has these bytes, or their nonce is mined: the same bytes cannot land twice.
pub(super) fn is_known_or_mined(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("already known") || m.contains("already imported") || m.contains("nonce too low")
}

/// The node refuses the transaction's fees (below the base fee, or too low to replace).
fn is_underpriced(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("base fee") || m.contains("underpriced") || m.contains("fee cap")
}

fn decode_eip1559(raw: &Bytes) -> Result<TxEip1559, ChainError> {
    match TxEnvelope::decode_2718(&mut raw.as_ref()) {
        Ok(TxEnvelope::Eip1559(signed)) => Ok(signed.tx().clone()),
        Ok(_) => Err(ChainError::Store(
            "stored transaction is not an EIP-1559 transaction".into(),
        )),
        Err(e) => Err(ChainError::Store(format!("stored transaction: {e}"))),
    }
}

fn max_fee_of(tx: &PendingTx) -> u128 {
    decode_eip1559(&tx.raw).map_or(0, |t| t.max_fee_per_gas)
}

impl RpcChain {
    /// Hands the node every stored transaction (in flight, or mined but not yet final) again in
    /// nonce order and waits until each nonce is mined.
    pub async fn resume_pending(&self) -> Result<(), ChainError> {
        let all = self.pending.all();
        for group in all.chunk_by(|a, b| (a.from, a.nonce) == (b.from, b.nonce)) {
            let mut hashes: Vec<B256> = group.iter().map(|t| t.hash).collect();
            let best = best_version(group);
            let waited = match self.hand_over(best).await {
                Ok(replacement) => {
                    hashes.extend(replacement.map(|v| v.hash));
                    self.wait_mined(best, hashes).await.map(|_| ())
                }
                Err(e) => Err(e),
            };
            match waited {
                Ok(()) => {}
                // Its nonce was taken by another transaction of this key: it can never land.
                Err(ChainError::Rejected(m)) => {
                    tracing::warn!(target: "autonet_contracts::rpc", "stored transaction abandoned: {m}");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Broadcasts `tx` (again). When the node refuses its fees, a repriced version of it is
    /// recorded and broadcast instead, and returned.
    pub(super) async fn hand_over(&self, tx: &PendingTx) -> Result<Option<PendingTx>, ChainError> {
        match self.broadcast(&tx.raw).await {
            Ok(()) => Ok(None),
            Err(ChainError::Rejected(m)) if is_underpriced(&m) => {
                tracing::info!(target: "autonet_contracts::rpc", "node refused the fees of {}: {m}; repricing", tx.hash);
                Ok(Some(self.reprice(tx).await?))
            }
            Err(e) => Err(e),
        }
    }

    /// Re-signs `tx` (same nonce, same call) with fees at least 25% above its own and at least
    /// the node's current estimate, records it, and broadcasts it.
    pub(super) async fn reprice(&self, tx: &PendingTx) -> Result<PendingTx, ChainError> {
        let mut t = decode_eip1559(&tx.raw)?;
        let (max_fee, tip) = self.fees().await?;
        t.max_priority_fee_per_gas = tip.max(t.max_priority_fee_per_gas * 5 / 4 + 1);
        t.max_fee_per_gas = max_fee
            .max(t.max_fee_per_gas * 5 / 4 + 1)
            .max(t.max_priority_fee_per_gas);
        let (hash, raw) = self.sign(tx.from, t)?;
        let version = PendingTx {
            from: tx.from,
            nonce: tx.nonce,
            hash,
            raw,
            mined_in: None,
        };
        self.pending.insert(version.clone())?;
        self.broadcast(&version.raw).await?;
        Ok(version)
    }

    /// The nonce for a new transaction of `from`. The node's view wins unless our own stored
    /// transactions explain the difference: after a reorg, or when the key was used elsewhere, a
    /// cached nonce would leave a gap (or collide), while our stored transactions (in flight, or
    /// mined and then forgotten by a node that restarted from an older state) keep theirs — the
    /// forgotten ones are handed to the node again, in nonce order, before the new one.
    pub(super) async fn next_nonce(
        &self,
        from: Address,
        cached: Option<u64>,
        node_pending: u64,
    ) -> Result<u64, ChainError> {
        let ours: Vec<PendingTx> = self
            .pending
            .all()
            .into_iter()
            .filter(|t| t.from == from)
            .collect();
        let stored_next = ours.iter().map(|t| t.nonce + 1).max();
        let want = cached.max(stored_next).unwrap_or(node_pending);
        if want <= node_pending {
            return Ok(node_pending);
        }
        let covered = (node_pending..want).all(|k| ours.iter().any(|t| t.nonce == k));
        if !covered {
            return Ok(node_pending);
        }
        tracing::info!(target: "autonet_contracts::rpc", "node is at nonce {node_pending} for {from}, ours at {want}: handing it our stored transactions again");
        self.restore_below(from, want).await?;
        Ok(want)
    }

    /// Hands the node the stored transactions of `from` it does not know (nonces at or above
    /// its pending nonce), in nonce order.
    pub(super) async fn restore_forgotten(&self, from: Address) -> Result<(), ChainError> {
        let Some(stored_next) = self
            .pending
            .all()
            .iter()
            .filter(|t| t.from == from)
            .map(|t| t.nonce + 1)
            .max()
        else {
            return Ok(());
        };
        let node_pending = self
            .retry(|| async {
                self.provider
                    .get_transaction_count(from)
                    .pending()
                    .await
                    .map_err(classify)
            })
            .await?;
        if node_pending < stored_next {
            tracing::info!(target: "autonet_contracts::rpc", "node is at nonce {node_pending} for {from}, ours at {stored_next}: handing it our stored transactions again");
            self.restore_below(from, stored_next).await?;
        }
        Ok(())
    }

    /// Hands the node, in nonce order, the best stored version of every nonce of `from` below
    /// `nonce` (one it still has is answered "known" or "nonce too low" and changes nothing).
    pub(super) async fn restore_below(&self, from: Address, nonce: u64) -> Result<(), ChainError> {
        let ours: Vec<PendingTx> = self
            .pending
            .all()
            .into_iter()
            .filter(|t| t.from == from && t.nonce < nonce)
            .collect();
        for group in ours.chunk_by(|a, b| a.nonce == b.nonce) {
            match self.hand_over(best_version(group)).await {
                Ok(_) => {}
                Err(ChainError::Rejected(m)) => {
                    tracing::debug!(target: "autonet_contracts::rpc", "restoring nonce {} refused: {m}", group[0].nonce);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Records that version `hash` of `tx`'s nonce was mined in `block`. Every lower nonce of the
    /// sender is then mined too: versions still marked in flight are settled (the one with a
    /// receipt is marked mined, the others forgotten), and transactions buried under
    /// `finality_depth` blocks are forgotten.
    pub(super) async fn settle_mined(
        &self,
        tx: &PendingTx,
        hash: B256,
        block: u64,
    ) -> Result<(), ChainError> {
        self.pending.mark_mined(hash, block)?;
        let below: Vec<PendingTx> = self
            .pending
            .all()
            .into_iter()
            .filter(|t| t.from == tx.from && t.nonce < tx.nonce)
            .collect();
        for group in below.chunk_by(|a, b| a.nonce == b.nonce) {
            if group.iter().all(|v| v.mined_in.is_some()) {
                continue;
            }
            let mut landed = None;
            for v in group {
                // Retried: the node may go away between two receipts (a restart mid-run).
                let hash = v.hash;
                if let Some(r) = self
                    .retry(|| async {
                        self.provider
                            .get_transaction_receipt(hash)
                            .await
                            .map_err(classify)
                    })
                    .await?
                {
                    landed = Some((v.hash, r.block_number.unwrap_or_default()));
                    break;
                }
            }
            match landed {
                Some((h, b)) => self.pending.mark_mined(h, b)?,
                // None of our versions holds that nonce: another transaction used it.
                None => self.pending.remove_nonce(tx.from, group[0].nonce)?,
            }
        }
        if let Some(final_up_to) = block.checked_sub(self.cfg.finality_depth) {
            self.pending.prune_final(tx.from, final_up_to)?;
        }
        Ok(())
    }

    pub(super) async fn any_mined(&self, hashes: &[B256]) -> Result<bool, ChainError> {
        for h in hashes {
            if self
                .retry(|| async {
                    self.provider
                        .get_transaction_receipt(*h)
                        .await
                        .map_err(classify)
                })
                .await?
                .is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The version of one nonce to hand over: the one seen mined, else the highest fee cap.
fn best_version(group: &[PendingTx]) -> &PendingTx {
    group
        .iter()
        .find(|t| t.mined_in.is_some())
        .or_else(|| group.iter().max_by_key(|t| max_fee_of(t)))
        .unwrap_or(&group[0])
}
