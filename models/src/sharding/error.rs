//! Why sharding, verification or a rebuild failed; shard faults carry the shard's index so a
//! fetcher can penalize the provider that served it.

use thiserror::Error;

use crate::substrate::error::SubstrateError;

/// A sharding failure.
#[derive(Debug, Error, PartialEq)]
pub enum ShardingError {
    /// [`super::ShardParams::new`] refused `k` and `m`: no data shards, or more shards in all
    /// than the registry accepts.
    #[error("invalid shard parameters k={k}, m={m}: {reason}")]
    InvalidParams {
        /// Requested data shards.
        k: usize,
        /// Requested parity shards.
        m: usize,
        /// Which limit they break.
        reason: String,
    },
    /// Fewer than `k` distinct, checked shards were supplied to a rebuild.
    #[error("too few valid shards to rebuild: have {have}, need {need}")]
    TooFewShards {
        /// Distinct shards supplied that passed their leaf check.
        have: usize,
        /// Shards a rebuild needs: the manifest's `k`.
        need: usize,
    },
    /// A shard's BLAKE3 digest is not the manifest's leaf at its index: its holder lied or its
    /// copy is corrupt.
    #[error("shard {index} does not match its Merkle leaf (BLAKE3 differs)")]
    ShardMismatch {
        /// Index of the shard (0-based; data shards first, then parity).
        index: usize,
    },
    /// A shard's length differs from the manifest's `shard_size`; refused before hashing.
    #[error("shard {index} is {got} bytes, the manifest says {expected}")]
    WrongShardSize {
        /// Index of the shard.
        index: usize,
        /// Its length in bytes.
        got: usize,
        /// The manifest's `shard_size` in bytes.
        expected: u64,
    },
    /// A shard index at or past `k + m`.
    #[error("shard index {index} is out of range: the model has {total} shards")]
    ShardIndexOutOfRange {
        /// The index given.
        index: usize,
        /// Shards the model has, `k + m`.
        total: usize,
    },
    /// The same shard index appears twice among the shards given to a rebuild.
    #[error("shard {index} was supplied twice")]
    DuplicateShard {
        /// The repeated index.
        index: usize,
    },
    /// Every shard matched its leaf, yet the rebuilt bytes' length or BLAKE3 is not the
    /// manifest's `size` or `model_hash` (the manifest's leaves name other bytes than its hash).
    #[error("the rebuilt model does not match the manifest's model hash")]
    ModelHashMismatch,
    /// The model's size does not fit in `usize` on this platform.
    #[error("the model is {size} bytes, more than this platform can address in memory")]
    ModelTooLarge {
        /// The size in bytes.
        size: u64,
    },
    /// A manifest of a format other than [`super::manifest::MANIFEST_FORMAT`].
    #[error(
        "shard manifest format {found} is not readable by this node, which reads format {reads} \
         (format 1 used an older Reed-Solomon code whose parity shards this node cannot check \
         or decode; re-publish the model to shard it again)"
    )]
    UnsupportedFormat {
        /// The manifest's format.
        found: u16,
        /// The one format this node reads.
        reads: u16,
    },
    /// A manifest (or the input to [`super::encode`]) breaks a limit or disagrees with itself:
    /// name or size over the limit, wrong shard size, leaf count or root. Says which.
    #[error("inconsistent manifest: {0}")]
    InconsistentManifest(String),
    /// The manifest bytes are not canonical CBOR of a manifest, or exceed the size limit.
    #[error("manifest: {0}")]
    ManifestEncoding(#[from] SubstrateError),
    /// `reed-solomon-simd` refused to encode or decode (its message).
    #[error("erasure coding failed: {0}")]
    Codec(String),
}

/// Result alias of this module.
pub type Result<T> = std::result::Result<T, ShardingError>;
