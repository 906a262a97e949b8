//! Errors of the overlay.

use crate::envelope::EnvelopeError;

/// Why an overlay operation failed.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// A setting or request the node cannot act on (bad gossipsub parameters, a topic that
    /// cannot be subscribed, content this node cannot serve, a test mesh that did not form).
    #[error("invalid network configuration: {0}")]
    Config(String),
    /// Building the TCP/QUIC transport (noise, yamux) failed.
    #[error("transport setup failed: {0}")]
    Transport(String),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The multiaddr that was refused.
        addr: String,
        /// The transport's error.
        reason: String,
    },
    /// A dial failed or could not be started.
    #[error("cannot dial {addr}: {reason}")]
    Dial {
        /// The multiaddr (or peer) dialed.
        addr: String,
        /// The swarm's error.
        reason: String,
    },
    /// Bootstrap peers must name their peer id so the DHT can add them to its routing table.
    #[error("bootstrap address {0} has no /p2p/<peer id> suffix")]
    BootstrapWithoutPeerId(String),
    /// Gossipsub refused the message (no peers on the topic, duplicate, too large, …).
    #[error("publish failed: {0}")]
    Publish(String),
    /// An envelope could not be encoded or decoded.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// A Kademlia put, get or provide query failed.
    #[error("DHT operation failed: {0}")]
    Dht(String),
    /// No peer holds a record under the key.
    #[error("record not found in the DHT")]
    RecordNotFound,
    /// A record's value does not hash to its key (a forged or corrupted record).
    #[error("record value does not hash to its key")]
    RecordInvalid,
    /// An outbound request failed: timeout, closed connection, unsupported protocol, or a
    /// refusal.
    #[error("request to {peer} failed: {reason}")]
    Request {
        /// The peer asked.
        peer: String,
        /// Why it failed.
        reason: String,
    },
    /// The fetched bytes do not hash to the requested id; the provider was penalized.
    #[error("content fetched from {peer} does not match its id")]
    ContentCorrupt {
        /// The provider that sent them.
        peer: String,
    },
    /// The provider's answers break the transfer protocol or the fetch's size limit (a `total`
    /// over the limit or changed between chunks, a short middle chunk, bytes past the limit); it
    /// is penalized and dropped before it can make the fetcher hold more.
    #[error("provider {peer} broke the transfer rules: {reason}")]
    ProviderLied {
        /// The provider.
        peer: String,
        /// Which rule it broke.
        reason: String,
    },
    /// The event loop is gone (shut down or panicked), so the command got no answer.
    #[error("the network event loop has stopped")]
    Stopped,
    /// The DHT's redb store failed.
    #[error(transparent)]
    Store(#[from] autonet_store::StoreError),
}

impl P2pError {
    /// A refused listen address, with the whole cause: libp2p's transport error prints nothing
    /// itself (the OS error is its source), and a busy port gets a sentence on what to do.
    pub(crate) fn listen(addr: &impl std::fmt::Display, err: &dyn std::error::Error) -> Self {
        let mut reason = err.to_string();
        let mut source = err.source();
        while let Some(e) = source {
            let text = e.to_string();
            if !text.is_empty() && !reason.contains(&text) {
                if !reason.is_empty() {
                    reason.push_str(": ");
                }
                reason.push_str(&text);
            }
            source = e.source();
        }
        if reason.is_empty() {
            reason = "the transport refused it without a reason".into();
        }
        if reason.contains("Address already in use") {
            reason.push_str(
                "; another process (perhaps another autonet node) holds that port: stop it, \
                 or choose another port with --listen (port 0 picks a free one)",
            );
        }
        P2pError::Listen {
            addr: addr.to_string(),
            reason,
        }
    }
}
