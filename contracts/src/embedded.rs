//! `EmbeddedChain`: the suite's bytecode running in revm inside the process.
//!
//! Like anvil's default, every transaction is mined into its own block; `mine` adds empty blocks
//! and an optional timer mines one block per interval, so phase deadlines in blocks advance as on
//! a real chain. Dev accounts are derived deterministically and funded with ether (gas is free:
//! base fee 0) and ATN. The whole suite is deployed at genesis by [`EmbeddedChain::genesis`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::TxKind;
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{Context, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext};

use crate::backend::{Backend, ChainError, ChainLog, Receipt, TxRequest};

/// revm spec matching the pinned `evmVersion` ("cancun") of the artifacts.
pub const SPEC: SpecId = SpecId::CANCUN;
/// Chain id of the embedded chain (anvil's default, so signatures look the same).
pub const EMBEDDED_CHAIN_ID: u64 = 31337;
const BLOCK_GAS_LIMIT: u64 = 30_000_000;
const TX_GAS_LIMIT: u64 = 16_000_000;
const GENESIS_TIMESTAMP: u64 = 1_700_000_000;

type Db = CacheDB<EmptyDB>;

struct Inner {
    db: Db,
    head: u64,
    block_hashes: Vec<B256>,
    logs: Vec<ChainLog>,
    tx_count: u64,
}

/// The in-process EVM chain. Cheap to clone (shared state).
#[derive(Clone)]
pub struct EmbeddedChain {
    inner: Arc<Mutex<Inner>>,
    accounts: Arc<Vec<PrivateKeySigner>>,
}

impl std::fmt::Debug for EmbeddedChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedChain")
            .field("accounts", &self.accounts.len())
            .finish()
    }
}

/// Deterministic dev key `i` (keccak of a fixed label), identical across runs.
pub fn dev_key(i: u32) -> PrivateKeySigner {
    let mut seed = keccak256(format!("autonet-dev-account-{i}"));
    loop {
        if let Ok(k) = PrivateKeySigner::from_bytes(&seed) {
            return k;
        }
        seed = keccak256(seed);
    }
}

impl EmbeddedChain {
    /// An empty chain with `n_accounts` dev accounts, each holding 1e6 ether for value transfers.
    pub fn new(n_accounts: u32) -> Self {
        let accounts: Vec<PrivateKeySigner> = (0..n_accounts).map(dev_key).collect();
        let mut db = CacheDB::new(EmptyDB::default());
        for a in &accounts {
            let ether = U256::from(1_000_000u64) * U256::from(10u64).pow(U256::from(18u64));
            db.insert_account_info(a.address(), AccountInfo::from_balance(ether));
        }
        let genesis_hash = keccak256(b"autonet-embedded-genesis");
        Self {
            inner: Arc::new(Mutex::new(Inner {
                db,
                head: 0,
                block_hashes: vec![genesis_hash],
                logs: Vec::new(),
                tx_count: 0,
            })),
            accounts: Arc::new(accounts),
        }
    }

    /// The dev signers (index = dev account number).
    pub fn signers(&self) -> &[PrivateKeySigner] {
        &self.accounts
    }

    /// Mines one block per `interval` in the background until every clone is dropped.
    pub fn start_block_timer(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                if let Ok(mut g) = inner.lock() {
                    seal_block(&mut g);
                }
            }
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, ChainError> {
        self.inner
            .lock()
            .map_err(|_| ChainError::Transport("embedded chain state poisoned".into()))
    }

    /// Runs a transaction (or a call, `commit` false) in block `head + 1`; a committed success
    /// seals that block. Returns the result, the block number and the transaction hash.
    fn execute(
        &self,
        req: TxRequest,
        commit: bool,
    ) -> Result<(ExecutionResult, u64, B256), ChainError> {
        let mut g = self.lock()?;
        let number = g.head + 1;
        let nonce =
            g.db.cache
                .accounts
                .get(&req.from)
                .and_then(|a| a.info())
                .map(|i| i.nonce)
                .unwrap_or(0);
        let tx = TxEnv::builder()
            .caller(req.from)
            .kind(match req.to {
                Some(to) => TxKind::Call(to),
                None => TxKind::Create,
            })
            .data(req.data)
            .value(req.value)
            .gas_limit(TX_GAS_LIMIT)
            .gas_price(0)
            .nonce(nonce)
            .chain_id(Some(EMBEDDED_CHAIN_ID))
            .build()
            .map_err(|e| ChainError::Rejected(format!("{e:?}")))?;
        // The EVM is not Send (revm keeps Rc-based scratch state), so it is built per execution
        // around the shared database and the database is put back afterwards.
        let mut evm: MainnetEvm<MainnetContext<Db>> = Context::mainnet()
            .with_db(std::mem::take(&mut g.db))
            .modify_cfg_chained(|c: &mut CfgEnv| {
                c.spec = SPEC;
                c.chain_id = EMBEDDED_CHAIN_ID;
            })
            .with_block(block_env(number))
            .build_mainnet();
        let result = if commit {
            evm.transact_commit(tx)
        } else {
            evm.transact(tx).map(|r| r.result)
        };
        g.db = std::mem::take(&mut evm.ctx.journaled_state.database);
        let result = result.map_err(|e| ChainError::Rejected(e.to_string()))?;
        let mut tx_hash = B256::ZERO;
        if commit && result.is_success() {
            seal_block(&mut g);
            // State, head and logs change under one lock, as one block does on a real chain: a
            // reader that sees the new state (a finalized task, say) also sees its events.
            g.tx_count += 1;
            tx_hash =
                keccak256([&g.tx_count.to_be_bytes()[..], &number.to_be_bytes()[..]].concat());
            let block_hash = g
                .block_hashes
                .get(number as usize)
                .copied()
                .unwrap_or_default();
            for (i, log) in result.logs().iter().enumerate() {
                g.logs.push(ChainLog {
                    block_number: number,
                    block_hash,
                    log_index: i as u64,
                    log: log.clone(),
                });
            }
        }
        Ok((result, number, tx_hash))
    }
}

fn block_env(number: u64) -> BlockEnv {
    BlockEnv {
        number: U256::from(number),
        timestamp: U256::from(GENESIS_TIMESTAMP + number),
        gas_limit: BLOCK_GAS_LIMIT,
        basefee: 0,
        prevrandao: Some(keccak256(number.to_be_bytes())),
        ..Default::default()
    }
}

fn seal_block(g: &mut Inner) {
    g.head += 1;
    let parent = g.block_hashes.last().copied().unwrap_or_default();
    let mut buf = parent.to_vec();
    buf.extend_from_slice(&g.head.to_be_bytes());
    g.block_hashes.push(keccak256(buf));
}

fn revert_error(result: ExecutionResult) -> ChainError {
    match result {
        ExecutionResult::Revert { output, .. } => ChainError::reverted(output),
        ExecutionResult::Halt { reason, .. } => ChainError::Halted(format!("{reason:?}")),
        ExecutionResult::Success { .. } => ChainError::Halted("unexpected success".into()),
    }
}

impl Backend for EmbeddedChain {
    fn chain_id(&self) -> u64 {
        EMBEDDED_CHAIN_ID
    }

    fn accounts(&self) -> Vec<Address> {
        self.accounts.iter().map(|s| s.address()).collect()
    }

    async fn send(&self, req: TxRequest) -> Result<Receipt, ChainError> {
        if !self.accounts.iter().any(|s| s.address() == req.from) {
            return Err(ChainError::UnknownSender(req.from));
        }
        let (result, number, tx_hash) = self.execute(req, true)?;
        if !result.is_success() {
            return Err(revert_error(result));
        }
        let gas_used = result.tx_gas_used();
        let contract_address = result.created_address();
        let logs = result.into_logs();
        Ok(Receipt {
            tx_hash,
            block_number: number,
            gas_used,
            logs,
            contract_address,
        })
    }

    async fn call(&self, req: TxRequest) -> Result<Bytes, ChainError> {
        let (result, _, _) = self.execute(req, false)?;
        match result {
            ExecutionResult::Success {
                output: Output::Call(b),
                ..
            } => Ok(b),
            ExecutionResult::Success {
                output: Output::Create(b, _),
                ..
            } => Ok(b),
            other => Err(revert_error(other)),
        }
    }

    async fn block_number(&self) -> Result<u64, ChainError> {
        Ok(self.lock()?.head)
    }

    async fn logs(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
    ) -> Result<Vec<ChainLog>, ChainError> {
        let g = self.lock()?;
        Ok(g.logs
            .iter()
            .filter(|l| l.block_number >= from && l.block_number <= to)
            .filter(|l| addresses.is_empty() || addresses.contains(&l.log.address))
            .cloned()
            .collect())
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        Ok(self.lock()?.block_hashes.get(number as usize).copied())
    }

    async fn mine(&self, blocks: u64) -> Result<(), ChainError> {
        let mut g = self.lock()?;
        for _ in 0..blocks {
            seal_block(&mut g);
        }
        Ok(())
    }

    async fn native_balance(&self, who: Address) -> Result<U256, ChainError> {
        let g = self.lock()?;
        Ok(g.db
            .cache
            .accounts
            .get(&who)
            .and_then(|a| a.info())
            .map(|i| i.balance)
            .unwrap_or_default())
    }
}
