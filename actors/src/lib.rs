//! Supervised ractor actors for autonet.
//!
//! Bird's-eye view:
//! - [`supervisor`]: the root [`Supervisor`], which restarts failed children within a restart
//!   budget (N restarts in T) and escalates by failing itself when the budget is spent.
//! - [`bridge`]: the [`NetworkBridge`], which turns overlay events (`autonet_p2p::NetworkEvent`)
//!   into actor messages, asks a validator actor for each gossip message's verdict before it is
//!   relayed, and publishes on behalf of other actors.
//!
//! - [`shards`]: model shards on the overlay: one supervised [`shards::actor::ShardActor`] per held
//!   shard under a [`shards::ShardHost`], rendezvous placement, publish (registered on
//!   `ModelShardRegistry`), parallel proof-checked resumable fetch, and repair.
//!
//! Role actors (proposer, solver, coordinator, aggregator) and agents come with the protocol
//! issues and run under the same supervisor.

pub mod bridge;
pub mod shards;
pub mod supervisor;

pub use bridge::{BridgeArgs, BridgeMsg, NetworkBridge, Validate};
pub use supervisor::{
    ChildSpec, StartFn, StartFuture, Supervisor, SupervisorConfig, SupervisorError, SupervisorMsg,
};
