//! Role actors: thin shells that read the chain and the overlay, call the pure protocol core
//! ([`crate::protocol`]) and send what it decides.
//!
//! Bird's-eye view:
//! - [`peer`]: one peer = an overlay node + its store + the gossip [`gate`] (only peers whose
//!   PeerId is bound on chain to an address staked in the right role are heard) behind the
//!   network bridge + one supervised [`actor::RoleActor`].
//! - The roles: [`proposer`], [`solver`], [`coordinator`], [`aggregator`]; each steps once per
//!   tick against the chain head, persisting its stage before and after every transaction, so a
//!   restarted actor resumes where it stopped. [`tasks`] discovers tasks from the chain,
//!   [`claims`] withdraws rewards and mint.
//! - [`ctx`]: what a peer's roles share; [`fetch`]: content from providers, fetched in the
//!   background with timeouts, retries and backoff so no role step waits on a dead provider; [`board`]: the block board a simulation's chain clock
//!   waits on.
//! - [`events`]: the protocol events roles emit (`tracing`, target `autonet::protocol`, inside
//!   `role`/`epoch`/`task` spans); [`protocol_log`]: the layer that collects them per run,
//!   for progress lines, the status endpoint and reports.

pub mod actor;
pub mod aggregator;
pub mod board;
pub mod claims;
pub mod conduct;
pub mod coordinator;
pub mod ctx;
pub mod events;
pub mod fetch;
pub mod gate;
pub mod inbox;
pub mod peer;
pub mod proposer;
pub mod protocol_log;
pub mod solver;
pub mod tasks;

/// Why a role step failed (the actor then fails and is restarted from its stored state).
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// A chain read or transaction failed (a revert the role does not expect included).
    #[error("chain: {0}")]
    Chain(#[from] autonet_contracts::ChainError),
    /// The overlay failed (publish, fetch or service call).
    #[error("network: {0}")]
    Net(#[from] autonet_p2p::P2pError),
    /// The peer's store failed.
    #[error("store: {0}")]
    Store(#[from] autonet_store::StoreError),
    /// The protocol core refused (a bad spec, model or settlement input).
    #[error("protocol: {0}")]
    Protocol(#[from] crate::protocol::ProtocolError),
    /// Local state or chain data that an intact, honest setup cannot produce (a stored model
    /// missing, a solver listed twice), or a local failure (the data dir, signing).
    #[error("corrupt state: {0}")]
    Corrupt(String),
    /// An actor could not be spawned or did not answer.
    #[error("actor: {0}")]
    Actor(String),
    /// The constitution refused the action before it ran (the refusal names the rule).
    #[error(transparent)]
    Refused(#[from] crate::protocol::constitution::Refusal),
}

impl From<crate::protocol::wire::DecodeError> for RoleError {
    fn from(e: crate::protocol::wire::DecodeError) -> Self {
        RoleError::Protocol(e.into())
    }
}
