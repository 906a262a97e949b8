//! Errors of the overlay.

use crate::envelope::EnvelopeError;

/// Why an overlay operation failed.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    #[error("invalid network configuration: {0}")]
    Config(String),
    #[error("transport setup failed: {0}")]
    Transport(String),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: String, reason: String },
    #[error("cannot dial {addr}: {reason}")]
    Dial { addr: String, reason: String },
    #[error("bootstrap address {0} has no /p2p/<peer id> suffix")]
    BootstrapWithoutPeerId(String),
    #[error("publish failed: {0}")]
    Publish(String),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("DHT operation failed: {0}")]
    Dht(String),
    #[error("record not found in the DHT")]
    RecordNotFound,
    #[error("record value does not hash to its key")]
    RecordInvalid,
    #[error("request to {peer} failed: {reason}")]
    Request { peer: String, reason: String },
    #[error("content not found: {0}")]
    ContentNotFound(String),
    #[error("content fetched from {peer} does not match its id")]
    ContentCorrupt { peer: String },
    /// The provider's answers break the transfer protocol or the fetch's size limit (a `total`
    /// over the limit or changed between chunks, a short middle chunk, bytes past the limit); it
    /// is penalized and dropped before it can make the fetcher hold more.
    #[error("provider {peer} broke the transfer rules: {reason}")]
    ProviderLied { peer: String, reason: String },
    #[error("the network event loop has stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] autonet_store::StoreError),
}
