//! Shared test helpers: accounts by role, block advancement, vote rounds, revert assertions.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;
use autonet_contracts::commitment::vote_commitment;
use autonet_contracts::{ATN, Backend, Chain, ChainError, Contracts, ProtocolView};

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

/// The salt a test coordinator uses for its vote on `task`.
pub fn vote_salt(task: U256, coordinator: Address) -> B256 {
    keccak256((task, coordinator).abi_encode())
}

/// Every coordinator of `votes` commits its scores (the task must be in its vote phase), the
/// chain moves past the vote-commit deadline, and every vote is revealed.
pub async fn vote_round<B: Backend>(
    c: &Contracts<B>,
    task: U256,
    votes: &[(Address, Vec<U256>)],
) -> Result<(), ChainError> {
    for (k, scores) in votes {
        let commitment = vote_commitment(task, *k, scores, vote_salt(task, *k));
        c.commit_vote(*k, task, commitment).await?;
    }
    advance_past(c, c.task_info(task).await?.vote_commit_deadline).await;
    for (k, scores) in votes {
        c.reveal_vote(*k, task, scores.clone(), vote_salt(task, *k))
            .await?;
    }
    Ok(())
}

/// Asserts that a `Result<_, ChainError>` failed with the given contract error, named by its
/// variant of a contract's error enum, e.g. `assert_revert!(r, TaskContractErrors::WrongPhase)`.
macro_rules! assert_revert {
    ($r:expr, $($error:ident)::+ $(,)?) => {
        match $r {
            Err(e) => assert!(
                matches!(e.revert(), Some($($error)::+(_))),
                "expected revert {}, got {e}",
                stringify!($($error)::+)
            ),
            Ok(v) => panic!("expected revert {}, got Ok({v:?})", stringify!($($error)::+)),
        }
    };
}
pub(crate) use assert_revert;
