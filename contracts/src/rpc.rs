//! `RpcChain`: a JSON-RPC endpoint (anvil in tests, Etherlink or any EVM chain in production).
//!
//! Transactions are built and signed here (EIP-1559 fees from `eth_feeHistory`, gas from
//! `eth_estimateGas`, which also surfaces reverts with their custom error before anything is
//! broadcast). Nonces are assigned per sender under a lock, so concurrent sends from one key get
//! consecutive nonces. Each signed transaction is recorded in the [`PendingStore`] before it is
//! broadcast, rebroadcast unchanged on transport errors (same bytes, same hash: never a duplicate),
//! replaced with bumped fees when stuck, and resubmitted from the store after a restart. Mined
//! transactions stay in the store until `finality_depth` blocks bury them: when the node comes
//! back without them (restarted from an older state, or reorged), the next send finds the node's
//! nonce behind the stored ones and hands it the same signed bytes again before using a new nonce.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::{BlockNumberOrTag, Encodable2718};
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::TransportError;
use tokio::sync::Mutex as AsyncMutex;

use crate::backend::{Backend, ChainError, ChainLog, Receipt, TxRequest};
use crate::pending::{PendingStore, PendingTx};

mod recovery;
mod retry;
use recovery::is_known_or_mined;

/// Retry and timing knobs.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// Chain id the endpoint must report (None: accept what it reports).
    pub expected_chain_id: Option<u64>,
    /// How long one operation keeps retrying transport errors (exponential backoff with
    /// jitter, starting at `poll`).
    pub retry_for: Duration,
    /// Pause between polls, and the first pause before retrying a transport error.
    pub poll: Duration,
    /// Time after which an unmined transaction is replaced with bumped fees.
    pub replace_after: Duration,
    /// Time after which waiting for a transaction stops with an error (it stays in the pending
    /// store and is resubmitted on the next connect).
    pub give_up_after: Duration,
    /// Blocks on top of a mined transaction before it is forgotten (until then it is
    /// resubmitted if the node loses it).
    pub finality_depth: u64,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            expected_chain_id: None,
            retry_for: Duration::from_secs(30),
            poll: Duration::from_millis(50),
            replace_after: Duration::from_secs(20),
            give_up_after: Duration::from_secs(300),
            finality_depth: 64,
        }
    }
}

/// A JSON-RPC chain with local signers.
#[derive(Clone)]
pub struct RpcChain {
    provider: RootProvider,
    chain_id: u64,
    signers: Arc<HashMap<Address, PrivateKeySigner>>,
    order: Arc<Vec<Address>>,
    nonces: Arc<HashMap<Address, AsyncMutex<Option<u64>>>>,
    pending: Arc<PendingStore>,
    cfg: RpcConfig,
}

impl std::fmt::Debug for RpcChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcChain")
            .field("chain_id", &self.chain_id)
            .field("accounts", &self.order)
            .finish()
    }
}

fn classify(e: TransportError) -> ChainError {
    if let Some(payload) = e.as_error_resp() {
        if let Some(data) = payload.as_revert_data() {
            return ChainError::reverted(data);
        }
        return ChainError::Rejected(payload.message.to_string());
    }
    ChainError::Transport(e.to_string())
}

impl RpcChain {
    /// Connects, checks the chain id, and resubmits transactions left pending by a previous run.
    pub async fn connect(
        url: &str,
        signers: Vec<PrivateKeySigner>,
        pending: PendingStore,
        cfg: RpcConfig,
    ) -> Result<Self, ChainError> {
        let parsed = url
            .parse()
            .map_err(|e| ChainError::Transport(format!("bad RPC URL {url}: {e}")))?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(parsed)
            .root()
            .clone();
        let actual = provider.get_chain_id().await.map_err(classify)?;
        if let Some(expected) = cfg.expected_chain_id
            && expected != actual
        {
            return Err(ChainError::WrongChain { expected, actual });
        }
        let order: Vec<Address> = signers.iter().map(|s| s.address()).collect();
        let nonces = order.iter().map(|a| (*a, AsyncMutex::new(None))).collect();
        let chain = Self {
            provider,
            chain_id: actual,
            signers: Arc::new(signers.into_iter().map(|s| (s.address(), s)).collect()),
            order: Arc::new(order),
            nonces: Arc::new(nonces),
            pending: Arc::new(pending),
            cfg,
        };
        chain.resume_pending().await?;
        Ok(chain)
    }

    /// The pending-transaction store.
    pub fn pending(&self) -> &PendingStore {
        &self.pending
    }

    /// The provider (for reads the trait does not cover).
    pub fn provider(&self) -> &RootProvider {
        &self.provider
    }

    async fn retry<T, F, Fut>(&self, op: F) -> Result<T, ChainError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ChainError>>,
    {
        retry::retry(self.cfg.poll, self.cfg.retry_for, op).await
    }

    async fn broadcast(&self, raw: &Bytes) -> Result<(), ChainError> {
        self.retry(|| async {
            match self.provider.send_raw_transaction(raw).await {
                Ok(_) => Ok(()),
                Err(e) => match classify(e) {
                    // Already in the pool or already mined: the same bytes cannot land twice.
                    ChainError::Rejected(m) if is_known_or_mined(&m) => Ok(()),
                    other => Err(other),
                },
            }
        })
        .await
    }

    fn sign(&self, from: Address, tx: TxEip1559) -> Result<(B256, Bytes), ChainError> {
        let signer = self
            .signers
            .get(&from)
            .ok_or(ChainError::UnknownSender(from))?;
        let mut tx = tx;
        let sig = signer
            .sign_transaction_sync(&mut tx)
            .map_err(|e| ChainError::Rejected(format!("signing: {e}")))?;
        let envelope = TxEnvelope::from(tx.into_signed(sig));
        Ok((*envelope.tx_hash(), envelope.encoded_2718().into()))
    }

    async fn fees(&self) -> Result<(u128, u128), ChainError> {
        let est = self
            .retry(|| async {
                self.provider
                    .estimate_eip1559_fees()
                    .await
                    .map_err(classify)
            })
            .await?;
        Ok((est.max_fee_per_gas, est.max_priority_fee_per_gas))
    }

    /// Polls for a receipt of the transaction or of any stored version of its nonce; when it
    /// stays unmined for `replace_after`, replaces it with a repriced version (same nonce, fees
    /// up by at least 25%). When the node comes back after transport errors, our earlier
    /// transactions it may have forgotten and this one are handed to it again.
    async fn wait_mined(
        &self,
        tx: &PendingTx,
        mut hashes: Vec<B256>,
    ) -> Result<alloy::rpc::types::TransactionReceipt, ChainError> {
        let started = tokio::time::Instant::now();
        let mut last_bump = tokio::time::Instant::now();
        let mut transport_errors_since: Option<tokio::time::Instant> = None;
        let mut latest = tx.clone();
        loop {
            for h in hashes.clone() {
                match self.provider.get_transaction_receipt(h).await {
                    Ok(Some(r)) => {
                        self.settle_mined(tx, h, r.block_number.unwrap_or_default())
                            .await?;
                        return Ok(r);
                    }
                    Ok(None) => {
                        if transport_errors_since.take().is_some() {
                            self.restore_below(tx.from, tx.nonce).await?;
                            if let Some(v) = self.hand_over(&latest).await? {
                                hashes.push(v.hash);
                                latest = v;
                            }
                        }
                    }
                    Err(e) => {
                        let since =
                            *transport_errors_since.get_or_insert_with(tokio::time::Instant::now);
                        if since.elapsed() > self.cfg.retry_for {
                            return Err(ChainError::Transport(format!(
                                "waiting for {h}: {}",
                                classify(e)
                            )));
                        }
                    }
                }
            }
            if started.elapsed() > self.cfg.give_up_after {
                return Err(ChainError::Transport(format!(
                    "transaction {} (nonce {}) not mined after {:?}; kept for resubmission",
                    tx.hash, tx.nonce, self.cfg.give_up_after
                )));
            }
            if last_bump.elapsed() > self.cfg.replace_after && transport_errors_since.is_none() {
                last_bump = tokio::time::Instant::now();
                let mined_nonce = self
                    .retry(|| async {
                        self.provider
                            .get_transaction_count(tx.from)
                            .latest()
                            .await
                            .map_err(classify)
                    })
                    .await?;
                if mined_nonce < tx.nonce {
                    // Waiting behind a gap: earlier transactions of ours were forgotten.
                    self.restore_below(tx.from, tx.nonce).await?;
                }
                if mined_nonce > tx.nonce && !self.any_mined(&hashes).await? {
                    self.pending.remove_nonce(tx.from, tx.nonce)?;
                    return Err(ChainError::Rejected(format!(
                        "transaction {} dropped: nonce {} was used by another transaction",
                        tx.hash, tx.nonce
                    )));
                }
                let v = self.reprice(&latest).await?;
                tracing::info!(target: "autonet_contracts::rpc", "replaced stuck tx {} with {}", latest.hash, v.hash);
                hashes.push(v.hash);
                latest = v;
            }
            tokio::time::sleep(self.cfg.poll).await;
        }
    }
}

impl RpcChain {
    /// Why a mined transaction reverted. It passed its gas estimate, so a transaction mined
    /// before it (often in the same block: two coordinators finalizing one task) changed what it
    /// saw; replayed as a call on the state its block left, it reverts with the contract's
    /// custom error, which callers match to tell "refused" from a failure. A replay that does
    /// not revert (the state moved on again) leaves the revert unnamed.
    async fn mined_revert(&self, req: &TxRequest, block: Option<u64>) -> ChainError {
        let mut call = TransactionRequest::default()
            .from(req.from)
            .input(req.data.clone().into())
            .value(req.value);
        call.to = req.to.map(TxKind::Call);
        let at = block.map_or(BlockNumberOrTag::Latest, BlockNumberOrTag::Number);
        match self.provider.call(call).block(at.into()).await {
            Err(e) => match classify(e) {
                named @ ChainError::Reverted { name: Some(_), .. } => named,
                _ => ChainError::reverted(Bytes::new()),
            },
            Ok(_) => ChainError::reverted(Bytes::new()),
        }
    }
}

impl Backend for RpcChain {
    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn accounts(&self) -> Vec<Address> {
        self.order.to_vec()
    }

    async fn send(&self, req: TxRequest) -> Result<Receipt, ChainError> {
        let nonce_slot = self
            .nonces
            .get(&req.from)
            .ok_or(ChainError::UnknownSender(req.from))?;
        let kind = req.to.map_or(TxKind::Create, TxKind::Call);
        let mut call = TransactionRequest::default()
            .from(req.from)
            .input(req.data.clone().into())
            .value(req.value);
        call.to = Some(kind);
        // A node that forgot some of our transactions (restarted from an older state, reorged)
        // gets them back before it estimates this one against its state.
        self.restore_forgotten(req.from).await?;
        let gas = self
            .retry(|| async {
                self.provider
                    .estimate_gas(call.clone())
                    .await
                    .map_err(classify)
            })
            .await?;
        let (max_fee, tip) = self.fees().await?;
        let pending = {
            let mut next = nonce_slot.lock().await;
            let node_pending = self
                .retry(|| async {
                    self.provider
                        .get_transaction_count(req.from)
                        .pending()
                        .await
                        .map_err(classify)
                })
                .await?;
            let nonce = self.next_nonce(req.from, *next, node_pending).await?;
            let tx = TxEip1559 {
                chain_id: self.chain_id,
                nonce,
                gas_limit: gas + gas / 5,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: tip,
                to: kind,
                value: req.value,
                input: req.data.clone(),
                access_list: Default::default(),
            };
            let (hash, raw) = self.sign(req.from, tx)?;
            let pending = PendingTx {
                from: req.from,
                nonce,
                hash,
                raw,
                mined_in: None,
            };
            self.pending.insert(pending.clone())?;
            *next = Some(nonce + 1);
            match self.hand_over(&pending).await {
                // Handed over, or repriced because the node's base fee rose since the estimate.
                Ok(v) => v.unwrap_or(pending),
                Err(e) => {
                    // Resync the nonce from the node next time. A rejected transaction is
                    // forgotten; one that may have reached the node stays in the store, to be
                    // resubmitted after a restart (and dropped then if its nonce was used by
                    // another transaction).
                    if !matches!(e, ChainError::Transport(_)) {
                        self.pending.remove_nonce(req.from, nonce)?;
                    }
                    *next = None;
                    return Err(e);
                }
            }
        };
        let r = self.wait_mined(&pending, vec![pending.hash]).await?;
        let logs: Vec<alloy::primitives::Log> =
            r.inner.logs().iter().map(|l| l.inner.clone()).collect();
        if !r.status() {
            return Err(self.mined_revert(&req, r.block_number).await);
        }
        Ok(Receipt {
            tx_hash: r.transaction_hash,
            block_number: r.block_number.unwrap_or_default(),
            gas_used: r.gas_used,
            logs,
            contract_address: r.contract_address,
        })
    }

    async fn call(&self, req: TxRequest) -> Result<Bytes, ChainError> {
        let mut call = TransactionRequest::default()
            .from(req.from)
            .input(req.data.into())
            .value(req.value);
        call.to = req.to.map(TxKind::Call);
        self.retry(|| async { self.provider.call(call.clone()).await.map_err(classify) })
            .await
    }

    async fn block_number(&self) -> Result<u64, ChainError> {
        self.retry(|| async { self.provider.get_block_number().await.map_err(classify) })
            .await
    }

    async fn logs(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
    ) -> Result<Vec<ChainLog>, ChainError> {
        let filter = Filter::new()
            .from_block(from)
            .to_block(to)
            .address(addresses.to_vec());
        let logs = self
            .retry(|| async { self.provider.get_logs(&filter).await.map_err(classify) })
            .await?;
        Ok(logs
            .into_iter()
            .map(|l| ChainLog {
                block_number: l.block_number.unwrap_or_default(),
                block_hash: l.block_hash.unwrap_or_default(),
                log_index: l.log_index.unwrap_or_default(),
                log: l.inner,
            })
            .collect())
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        let block = self
            .retry(|| async {
                self.provider
                    .get_block_by_number(BlockNumberOrTag::Number(number))
                    .await
                    .map_err(classify)
            })
            .await?;
        Ok(block.map(|b| b.header.hash))
    }

    async fn mine(&self, blocks: u64) -> Result<(), ChainError> {
        self.retry(|| async {
            self.provider
                .raw_request::<_, serde_json::Value>("anvil_mine".into(), (U256::from(blocks),))
                .await
                .map(|_| ())
                .map_err(classify)
        })
        .await
    }

    async fn native_balance(&self, who: Address) -> Result<U256, ChainError> {
        self.retry(|| async { self.provider.get_balance(who).await.map_err(classify) })
            .await
    }
}
