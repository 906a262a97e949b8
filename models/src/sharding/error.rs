//! Why sharding, verification or a rebuild failed; shard faults carry the shard's index so a
//! fetcher can penalize the provider that served it.

use thiserror::Error;

use crate::substrate::error::SubstrateError;

/// A sharding failure.
#[derive(Debug, Error, PartialEq)]
pub enum ShardingError {
    #[error("invalid shard parameters k={k}, m={m}: {reason}")]
    InvalidParams { k: usize, m: usize, reason: String },
    #[error("too few valid shards to rebuild: have {have}, need {need}")]
    TooFewShards { have: usize, need: usize },
    #[error("shard {index} does not match its Merkle leaf (BLAKE3 differs)")]
    ShardMismatch { index: usize },
    #[error("shard {index} is {got} bytes, the manifest says {expected}")]
    WrongShardSize {
        index: usize,
        got: usize,
        expected: u64,
    },
    #[error("shard index {index} is out of range: the model has {total} shards")]
    ShardIndexOutOfRange { index: usize, total: usize },
    #[error("shard {index} was supplied twice")]
    DuplicateShard { index: usize },
    #[error("the rebuilt model does not match the manifest's model hash")]
    ModelHashMismatch,
    #[error("the model is {size} bytes, more than this platform can address in memory")]
    ModelTooLarge { size: u64 },
    #[error(
        "shard manifest format {found} is not readable by this node, which reads format {reads} \
         (format 1 used an older Reed-Solomon code whose parity shards this node cannot check \
         or decode; re-publish the model to shard it again)"
    )]
    UnsupportedFormat { found: u16, reads: u16 },
    #[error("inconsistent manifest: {0}")]
    InconsistentManifest(String),
    #[error("manifest: {0}")]
    ManifestEncoding(#[from] SubstrateError),
    #[error("erasure coding failed: {0}")]
    Codec(String),
}

/// Result alias of this module.
pub type Result<T> = std::result::Result<T, ShardingError>;
