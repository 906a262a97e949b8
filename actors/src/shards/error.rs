//! Errors of the shard subsystem.

use autonet_models::sharding::ShardingError;

/// Why a shard operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error(transparent)]
    Sharding(#[from] ShardingError),
    #[error(transparent)]
    Network(#[from] autonet_p2p::P2pError),
    #[error(transparent)]
    Store(#[from] autonet_store::StoreError),
    #[error("chain: {0}")]
    Chain(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("bad shard protocol message: {0}")]
    Wire(String),
    #[error("no provider serves the manifest of model {0}")]
    ManifestNotFound(String),
    #[error(
        "model {model}: the manifest's root {manifest} is not the registered root {registered}"
    )]
    RootMismatch {
        model: String,
        manifest: String,
        registered: String,
    },
    #[error("model {model}: only {have} of the {need} shards needed could be fetched ({detail})")]
    NotEnoughShards {
        model: String,
        have: usize,
        need: usize,
        detail: String,
    },
    #[error("disk quota: {need} more bytes needed, {free} free of {quota}")]
    QuotaExceeded { need: u64, free: u64, quota: u64 },
    #[error("refused: {0}")]
    Refused(String),
    #[error("placement: {0}")]
    Placement(String),
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
