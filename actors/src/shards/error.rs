//! Errors of the shard subsystem.

use autonet_models::sharding::ShardingError;

/// Why a shard operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// The shard codec refused (bad parameters, a shard failing its leaf, a bad manifest).
    #[error(transparent)]
    Sharding(#[from] ShardingError),
    /// The overlay failed.
    #[error(transparent)]
    Network(#[from] autonet_p2p::P2pError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] autonet_store::StoreError),
    /// A chain read or registration failed, or a model is not registered.
    #[error("chain: {0}")]
    Chain(String),
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done (`read`, `write`, `rename`, …).
        what: &'static str,
        /// The file or folder.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A shard protocol message could not be decoded, or names a bad peer or shard index.
    #[error("bad shard protocol message: {0}")]
    Wire(String),
    /// No provider answered with the model's manifest (hex model id).
    #[error("no provider serves the manifest of model {0}")]
    ManifestNotFound(String),
    /// A manifest's Merkle root is not the one registered on chain for its model.
    #[error(
        "model {model}: the manifest's root {manifest} is not the registered root {registered}"
    )]
    RootMismatch {
        /// The model id, hex.
        model: String,
        /// The manifest's root.
        manifest: String,
        /// The registered root.
        registered: String,
    },
    /// A fetch ended with fewer than `k` verified shards.
    #[error("model {model}: only {have} of the {need} shards needed could be fetched ({detail})")]
    NotEnoughShards {
        /// The model id, hex.
        model: String,
        /// Verified shards.
        have: usize,
        /// Shards needed, `k`.
        need: usize,
        /// The failed downloads (`; `-separated), or `no providers found`.
        detail: String,
    },
    /// Holding another shard would exceed the host's disk quota.
    #[error("disk quota: {need} more bytes needed, {free} free of {quota}")]
    QuotaExceeded {
        /// Bytes the new shard needs.
        need: u64,
        /// Bytes still free under the quota.
        free: u64,
        /// The host's disk quota in bytes.
        quota: u64,
    },
    /// The host will not hold a shard (no chain to check with, requester not allowed, already
    /// downloading it).
    #[error("refused: {0}")]
    Refused(String),
    /// A shard found no holder, or its download from the named source failed.
    #[error("placement: {0}")]
    Placement(String),
    /// A shard actor or the host's supervisor failed or did not answer.
    #[error("actor: {0}")]
    Actor(String),
}

impl ShardError {
    pub(crate) fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.display().to_string(),
            source,
        }
    }
}
