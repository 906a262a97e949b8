//! Model shards on the overlay: shard actors, placement, publish, fetch and repair.
//!
//! Bird's-eye view (the pure coding, hashing and manifest live in `autonet_models::sharding`):
//! - [`wire`]: the shard protocol's messages (manifest, chunk with Merkle proof, "do you hold
//!   it", "please hold it") and the provider-record keys; [`mod@rpc`]: how they travel, as the
//!   overlay's RPC service [`rpc::SHARD_SERVICE`] with its own per-peer budget.
//! - [`placement`]: rendezvous (highest-random-weight) placement of a model's shards on distinct
//!   peers, balanced when there are fewer peers than shard copies. Pure.
//! - [`disk`]: shard files under the data dir (`<model>/manifest.cbor`, `<model>/<index>.shard`),
//!   the disk quota and the garbage-collection policy for old model versions.
//! - [`actor`]: the [`ShardActor`](actor::ShardActor), one supervised actor per held shard: checks
//!   its file, announces provider records, serves chunks with the shard's Merkle proof.
//! - [`host`]: the [`ShardHost`], one per node: answers the shard protocol, starts and stops shard
//!   actors under a [`crate::Supervisor`], stages shards being handed out, optionally limits its
//!   upload rate (benchmarks emulate slow links with it; [`config`]), and runs the repair loop.
//! - [`authority`]: what a host asks the chain before it holds a shard for someone: the model is
//!   registered with the manifest's root, the requester is staked (or placement's re-placer), and
//!   old models go by registration order.
//! - [`mod@fetch`]: a parallel, resumable (`progress`), proof-checking fetch of any `k` shards
//!   from distinct providers, fastest first; a provider that serves bad bytes is penalized and
//!   avoided.
//! - [`mod@publish`]: registers a model on `ModelShardRegistry` and hands its shards to the peers
//!   placement picks; [`roots`]: where a fetcher gets the registered root from.
//! - [`repair`]: holders watch live replication and rebuild and re-place missing shards.

pub mod actor;
pub mod authority;
pub mod config;
pub mod disk;
pub mod error;
pub mod fetch;
pub mod host;
pub mod placement;
mod progress;
pub mod publish;
pub mod repair;
pub mod roots;
pub mod rpc;
pub mod wire;

pub use authority::{ChainAuthority, HoldAuthority};
pub use config::HostConfig;
pub use error::ShardError;
pub use fetch::{FetchEvent, FetchOptions, FetchReport, Fetched, fetch};
pub use host::ShardHost;
pub use publish::{PublishOptions, publish};
pub use roots::{AuthorityRoots, ChainRoots, KnownRoot, RegisteredRoot, RootSource};

/// A model's id: BLAKE3 of its bytes (what the registry calls `modelId` and a mint root names).
pub type ModelId = [u8; 32];
