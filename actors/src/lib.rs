//! Supervised ractor actors for autonet, and the training protocol they run.
//!
//! Bird's-eye view:
//! - [`protocol`]: the pure protocol core (crate `autonet-protocol`: phases and deadlines, slice
//!   assignment, salts and commitments, the model extension point, scoring, settlement mirroring
//!   the contract, mint trees). No I/O.
//! - [`roles`]: the role actors (proposer, solver, coordinator, aggregator) over the overlay and
//!   the `Chain` trait, a peer assembly, the gossip gate, the block board, the protocol events and the
//!   layer that collects them.
//! - [`supervisor`]: the root [`Supervisor`], which restarts failed children within a restart
//!   budget (N restarts in T) and escalates by failing itself when the budget is spent.
//! - [`bridge`]: the [`NetworkBridge`], which turns overlay events (`autonet_p2p::NetworkEvent`)
//!   into actor messages, asks a validator actor for each gossip message's verdict before it is
//!   relayed, and publishes on behalf of other actors.
//! - [`shards`]: model shards on the overlay: one supervised [`shards::actor::ShardActor`] per held
//!   shard under a [`shards::ShardHost`], rendezvous placement, publish (registered on
//!   `ModelShardRegistry`), parallel proof-checked resumable fetch, and repair.
//! - `testing` (feature `testing`): test support shared with `autonet-tests`.
//!
//! **Owns** the protocol's rules and the actors that run them on a peer. **Must not depend on**
//! `autonet-node`, and holds no simulation code: Byzantine behaviour enters only through
//! [`roles::conduct::SolverConduct`], block pacing only through [`roles::board::Board`].

#![warn(missing_docs, unreachable_pub)]

pub mod bridge;
/// The pure protocol rules live in their own crate; roles reach them here.
pub use autonet_protocol as protocol;
pub mod roles;
pub mod shards;
pub mod supervisor;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use bridge::{BridgeArgs, BridgeMsg, NetworkBridge, Validate};
pub use supervisor::{
    ChildSpec, StartFn, StartFuture, Supervisor, SupervisorConfig, SupervisorError, SupervisorMsg,
};
