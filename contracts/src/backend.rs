//! The low-level transport both chain backends implement: send a transaction from one of the
//! backend's accounts, run a read-only call, read the head and logs, and mine blocks in tests.
//! Everything protocol-specific is built once on top of it (`client::Contracts`), so the same
//! code and the same test bodies run on the embedded EVM and on JSON-RPC.

use std::future::Future;

use alloy::primitives::{Address, B256, Bytes, Log, Selector, U256};
use alloy::sol_types::SolInterface;

use crate::bindings::error_name;

/// A transaction or call.
#[derive(Debug, Clone, Default)]
pub struct TxRequest {
    /// Sender; must be one of the backend's accounts for transactions.
    pub from: Address,
    /// Callee; `None` deploys `data` as creation code.
    pub to: Option<Address>,
    /// Calldata or creation code.
    pub data: Bytes,
    /// Native value sent.
    pub value: U256,
}

/// What a mined transaction produced.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Transaction hash (the embedded chain derives a unique one).
    pub tx_hash: B256,
    /// Block it was included in.
    pub block_number: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Logs emitted.
    pub logs: Vec<Log>,
    /// Address of a contract it created.
    pub contract_address: Option<Address>,
}

/// A log with where it was included.
#[derive(Debug, Clone)]
pub struct ChainLog {
    /// Block number.
    pub block_number: u64,
    /// Hash of that block (reorg detection).
    pub block_hash: B256,
    /// Index of the log in its block.
    pub log_index: u64,
    /// The log.
    pub log: Log,
}

/// Chain-layer errors. A revert carries the contract's custom error name when it is one of ours.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The contract reverted.
    #[error("reverted with {}", name.as_deref().unwrap_or("unknown error"))]
    Reverted {
        /// Custom error name (e.g. `WrongPhase`), `Error`, `Panic`, or `None` if unknown.
        name: Option<String>,
        /// Raw revert data.
        data: Bytes,
    },
    /// The EVM halted (out of gas, invalid opcode, …).
    #[error("execution halted: {0}")]
    Halted(String),
    /// The transaction was rejected before execution (nonce, funds, chain id, …).
    #[error("transaction rejected: {0}")]
    Rejected(String),
    /// The node is unreachable or answered badly; the operation may be retried.
    #[error("transport error: {0}")]
    Transport(String),
    /// The endpoint is a different chain than expected.
    #[error("chain id mismatch: expected {expected}, node says {actual}")]
    WrongChain {
        /// The chain id we were configured for.
        expected: u64,
        /// The chain id the node reports.
        actual: u64,
    },
    /// No signer for this address.
    #[error("no key for sender {0}")]
    UnknownSender(Address),
    /// A call returned data that does not decode as its ABI says.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Decoder message.
        reason: String,
    },
    /// The committed artifacts could not be read.
    #[error(transparent)]
    Artifact(#[from] crate::bindings::ArtifactError),
    /// A deployment or discovery step failed.
    #[error("deployment: {0}")]
    Deploy(String),
    /// Pending-transaction store failure.
    #[error("state store: {0}")]
    Store(String),
    /// A reorg replaced every delivered block the event cursor still remembers.
    #[error(
        "reorg deeper than the cursor's window of {window} blocks (block {newest} was replaced)"
    )]
    ReorgTooDeep {
        /// The cursor's window.
        window: usize,
        /// The newest delivered block, now replaced.
        newest: u64,
    },
}

impl ChainError {
    /// Builds a revert error from raw revert data, naming our custom errors (for display).
    pub fn reverted(data: Bytes) -> Self {
        let name = (data.len() >= 4)
            .then(|| Selector::from_slice(&data[..4]))
            .and_then(error_name);
        ChainError::Reverted { name, data }
    }

    /// The revert decoded as one of `T`'s errors: a contract's error enum from
    /// [`crate::revert`] (e.g. `TaskContractErrors`). `None` when this is not a revert or the
    /// revert is not one of `T`'s errors. Errors bubble up through calls between contracts,
    /// so `T` is the contract that declares the error, not necessarily the one called.
    pub fn revert<T: SolInterface>(&self) -> Option<T> {
        match self {
            ChainError::Reverted { data, .. } => T::abi_decode(data).ok(),
            _ => None,
        }
    }

    /// True when a contract refused with a declared error: a custom error of the suite,
    /// `Error(string)` or `Panic(uint256)` (rather than an empty or unknown revert).
    pub fn is_declared_revert(&self) -> bool {
        matches!(self, ChainError::Reverted { name: Some(_), .. })
    }
}

/// A chain backend: the embedded EVM or a JSON-RPC endpoint.
pub trait Backend: Send + Sync + 'static {
    /// The chain id.
    fn chain_id(&self) -> u64;
    /// Accounts this backend can send from (funded dev accounts or configured keys).
    fn accounts(&self) -> Vec<Address>;
    /// Sends a transaction and waits until it is mined. Reverts are reported as
    /// [`ChainError::Reverted`] and change no state.
    fn send(&self, tx: TxRequest) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Executes a read-only call against the latest block.
    fn call(&self, tx: TxRequest) -> impl Future<Output = Result<Bytes, ChainError>> + Send;
    /// The latest block number.
    fn block_number(&self) -> impl Future<Output = Result<u64, ChainError>> + Send;
    /// Logs of `addresses` in blocks `from..=to`.
    fn logs(
        &self,
        from: u64,
        to: u64,
        addresses: &[Address],
    ) -> impl Future<Output = Result<Vec<ChainLog>, ChainError>> + Send;
    /// Hash of block `number` (`None` if it does not exist).
    fn block_hash(
        &self,
        number: u64,
    ) -> impl Future<Output = Result<Option<B256>, ChainError>> + Send;
    /// Mines `blocks` empty blocks (tests and phase advancement on dev chains).
    fn mine(&self, blocks: u64) -> impl Future<Output = Result<(), ChainError>> + Send;
    /// Native balance.
    fn native_balance(&self, who: Address)
    -> impl Future<Output = Result<U256, ChainError>> + Send;
}
