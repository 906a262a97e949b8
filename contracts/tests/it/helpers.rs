//! Shared test helpers: accounts by role, block advancement, revert assertions.

use alloy::primitives::{Address, U256};
use autonet_contracts::{ATN, Backend, ChainError, Contracts};

/// Accounts used by the scenarios (dev account 0 deploys and funds).
#[derive(Debug, Clone)]
pub struct Cast {
    pub deployer: Address,
    pub proposer: Address,
    pub solvers: [Address; 4],
    pub coordinators: [Address; 3],
    pub aggregator: Address,
    pub outsider: Address,
}

/// Number of dev accounts the scenarios need.
pub const ACCOUNTS: u32 = 12;

impl Cast {
    pub fn new(accounts: &[Address]) -> Self {
        assert!(
            accounts.len() >= ACCOUNTS as usize,
            "need {ACCOUNTS} accounts"
        );
        Cast {
            deployer: accounts[0],
            proposer: accounts[1],
            solvers: [accounts[2], accounts[3], accounts[4], accounts[5]],
            coordinators: [accounts[6], accounts[7], accounts[8]],
            aggregator: accounts[9],
            outsider: accounts[10],
        }
    }
}

pub fn atn(x: u64) -> U256 {
    U256::from(x) * ATN
}

/// WAD from thousandths.
pub fn wad_milli(x: u64) -> U256 {
    U256::from(x) * U256::from(1_000_000_000_000_000u64)
}

/// Mines until the head is at least `block`, so the next transaction runs at `block + 1`.
pub async fn advance_past<B: Backend>(c: &Contracts<B>, block: u64) {
    let head = c.backend().block_number().await.unwrap();
    if head < block {
        c.backend().mine(block - head).await.unwrap();
    }
}

/// Asserts that `r` failed with the named custom error.
#[track_caller]
pub fn assert_revert<T: std::fmt::Debug>(r: Result<T, ChainError>, name: &str) {
    match r {
        Err(e) => assert_eq!(
            e.revert_name(),
            Some(name),
            "expected revert {name}, got {e}"
        ),
        Ok(v) => panic!("expected revert {name}, got Ok({v:?})"),
    }
}
