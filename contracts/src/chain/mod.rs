//! The `Chain` trait: what nodes do on chain, implemented once for any backend (in
//! `contracts`, for [`Contracts`](crate::client::Contracts) over any
//! [`Backend`](crate::backend::Backend)); and the types its calls take and return.

mod contracts;

use std::future::Future;

use alloy::primitives::{Address, B256, Bytes, U256};

use crate::backend::{ChainError, Receipt};

/// Protocol roles, with their on-chain numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Role {
    /// Posts tasks (100 ATN).
    Proposer = 1,
    /// Trains and commits solutions (50 ATN).
    Solver = 2,
    /// Verifies and votes (500 ATN).
    Coordinator = 3,
    /// Aggregates and posts mint roots (1000 ATN).
    Aggregator = 4,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 4] = [
        Role::Proposer,
        Role::Solver,
        Role::Coordinator,
        Role::Aggregator,
    ];

    /// Minimum stake in ATN wei.
    pub fn min_stake(self) -> U256 {
        let atn = match self {
            Role::Proposer => 100u64,
            Role::Solver => 50,
            Role::Coordinator => 500,
            Role::Aggregator => 1000,
        };
        U256::from(atn) * crate::deploy::ATN
    }

    /// Parses `proposer|solver|coordinator|aggregator`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "proposer" => Some(Role::Proposer),
            "solver" => Some(Role::Solver),
            "coordinator" => Some(Role::Coordinator),
            "aggregator" => Some(Role::Aggregator),
            _ => None,
        }
    }
}

/// Parameters of a new task.
#[derive(Debug, Clone)]
pub struct TaskParams {
    /// Funding project.
    pub project_id: U256,
    /// Content id of the task spec.
    pub spec_hash: B256,
    /// `ground_truth_commitment(held_out_id, salt)`.
    pub ground_truth_commit: B256,
    /// Pool shared by accepted solvers.
    pub solver_reward: U256,
    /// Pool shared by non-dissenting coordinators.
    pub coordinator_reward: U256,
    /// Length of the commit phase in blocks.
    pub commit_blocks: u64,
    /// Length of the reveal phase in blocks.
    pub reveal_blocks: u64,
    /// Length of the vote phase in blocks.
    pub vote_blocks: u64,
    /// The protocol epoch the task belongs to: the newest epoch on chain, or the next one.
    pub epoch: u64,
}

/// A model version to register on `ModelShardRegistry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRegistration {
    /// The model's content id.
    pub model_id: B256,
    /// The project it belongs to.
    pub project_id: U256,
    /// Root of the sorted-pair keccak tree over `leaves`.
    pub root: B256,
    /// Data shards.
    pub k: u16,
    /// Parity shards.
    pub m: u16,
    /// The epoch whose final mint root names the model, or 0 for a model published by hand.
    pub epoch: u64,
    /// Every shard's BLAKE3 digest, in index order (k + m of them).
    pub leaves: Vec<B256>,
}

/// A stake as the staking contract reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StakeInfo {
    /// Staked ATN wei.
    pub amount: U256,
    /// Role number (0 = none).
    pub role: u8,
    /// 0 while bonded, else the first block `unstake` pays out.
    pub unlock_block: u64,
}

/// A model version as `ModelShardRegistry` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisteredModel {
    /// The project the model was trained for.
    pub project_id: U256,
    /// Root of the sorted-pair keccak tree over the shards' BLAKE3 digests.
    pub root: B256,
    /// Data shards: any `k` of the `k + m` shards rebuild the model.
    pub k: u16,
    /// Parity shards: up to `m` shards may be lost.
    pub m: u16,
    /// The aggregator that registered it.
    pub registrant: Address,
    /// Block of registration.
    pub registered_at: u64,
}

/// What a node does on chain. `from` is the address of the role key that signs.
pub trait Chain: Send + Sync {
    /// Approves and stakes `amount` for `role`.
    fn stake(
        &self,
        from: Address,
        role: Role,
        amount: U256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Starts unbonding.
    fn request_unstake(
        &self,
        from: Address,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Withdraws an unbonded stake.
    fn unstake(&self, from: Address) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Reads a stake.
    fn stake_of(&self, who: Address) -> impl Future<Output = Result<StakeInfo, ChainError>> + Send;
    /// ATN balance.
    fn atn_balance(&self, who: Address) -> impl Future<Output = Result<U256, ChainError>> + Send;
    /// Transfers ATN.
    fn transfer_atn(
        &self,
        from: Address,
        to: Address,
        amount: U256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Binds a PeerId to `agent` (relayed by `from`), with both signatures.
    fn register_agent(
        &self,
        from: Address,
        agent: Address,
        peer_id: Bytes,
        peer_signature: Bytes,
        agent_signature: Bytes,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Withdraws `from`'s PeerId claim (to re-bind it to another PeerId).
    fn deregister_agent(
        &self,
        from: Address,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Creates a project; returns its id.
    fn create_project(
        &self,
        from: Address,
        name: &str,
        threshold: U256,
    ) -> impl Future<Output = Result<U256, ChainError>> + Send;
    /// Approves and funds a project.
    fn fund_project(
        &self,
        from: Address,
        project_id: U256,
        amount: U256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Creates a task; returns its id.
    fn create_task(
        &self,
        from: Address,
        p: &TaskParams,
    ) -> impl Future<Output = Result<U256, ChainError>> + Send;
    /// Posts a solver commitment.
    fn commit(
        &self,
        from: Address,
        task: U256,
        commitment: B256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Reveals the proposer's ground truth.
    fn reveal_ground_truth(
        &self,
        from: Address,
        task: U256,
        held_out: B256,
        salt: B256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Reveals a solution.
    fn reveal(
        &self,
        from: Address,
        task: U256,
        bundle_id: B256,
        salt: B256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Revealed solvers in canonical (commit) order.
    fn revealed_solvers(
        &self,
        task: U256,
    ) -> impl Future<Output = Result<Vec<Address>, ChainError>> + Send;
    /// Commits a coordinator's vote (`commitment::vote_commitment`), in the vote phase.
    fn commit_vote(
        &self,
        from: Address,
        task: U256,
        commitment: B256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Reveals a committed vote's score vector and salt, in the vote-reveal phase.
    fn reveal_vote(
        &self,
        from: Address,
        task: U256,
        scores: Vec<U256>,
        salt: B256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Finalizes a task after its vote deadline.
    fn finalize(
        &self,
        from: Address,
        task: U256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Expires a task that cannot finalize.
    fn expire(
        &self,
        from: Address,
        task: U256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Rewards credited and not yet claimed.
    fn claimable(&self, who: Address) -> impl Future<Output = Result<U256, ChainError>> + Send;
    /// Withdraws credited rewards.
    fn claim(&self, from: Address) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Posts an epoch mint root that pays for the epoch's model `model_id`.
    fn post_mint_root(
        &self,
        from: Address,
        epoch: U256,
        root: B256,
        total: U256,
        model_id: B256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Confirms an epoch mint root.
    fn confirm_mint_root(
        &self,
        from: Address,
        epoch: U256,
        root: B256,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Claims a mint amount with its proof.
    fn claim_mint(
        &self,
        from: Address,
        epoch: U256,
        amount: U256,
        proof: Vec<B256>,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Registers a model version's shard tree.
    fn register_model(
        &self,
        from: Address,
        model: &ModelRegistration,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// Announces holding shard `index`.
    fn announce_shard(
        &self,
        from: Address,
        model_id: B256,
        index: u16,
        leaf: B256,
        proof: Vec<B256>,
    ) -> impl Future<Output = Result<Receipt, ChainError>> + Send;
    /// A registered model's Merkle root and coding (an error if it is not registered).
    fn model_info(
        &self,
        model_id: B256,
    ) -> impl Future<Output = Result<RegisteredModel, ChainError>> + Send;
    /// Latest block.
    fn block_number(&self) -> impl Future<Output = Result<u64, ChainError>> + Send;
}
