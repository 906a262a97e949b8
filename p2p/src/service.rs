//! Application request-response ("service" requests): opaque, size-limited CBOR byte messages
//! that the overlay carries and the application answers.
//!
//! The content transfer in [`crate::transfer`] serves bytes the event loop holds in memory; a
//! service request is instead handed to the application (for example the shard host, which
//! reads shards from disk and attaches Merkle proofs). The application registers one handler
//! with [`crate::Client::serve_requests`]; each [`InboundRequest`] carries a oneshot sender for
//! the answer. A request that reaches a node with no handler, or whose handler drops the sender,
//! fails on the requester's side like an unreachable peer, so callers simply try elsewhere.

use libp2p::PeerId;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::transfer::MAX_CHUNK_BYTES;

/// Largest encoded service request accepted (room for a manifest of a few hundred shards).
pub const MAX_SERVICE_REQUEST_BYTES: u64 = 256 * 1024;

/// Largest encoded service response accepted: a 1 MiB chunk plus a proof and framing.
pub const MAX_SERVICE_RESPONSE_BYTES: u64 = MAX_CHUNK_BYTES as u64 + 64 * 1024;

/// A service request on the wire: bytes the application encodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRequest(#[serde(with = "serde_bytes")] pub Vec<u8>);

/// A service response on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceResponse(#[serde(with = "serde_bytes")] pub Vec<u8>);

/// A request from `peer` waiting for the application's answer on `reply`.
#[derive(Debug)]
pub struct InboundRequest {
    /// The requesting peer.
    pub peer: PeerId,
    /// The request as the application encoded it (at most [`MAX_SERVICE_REQUEST_BYTES`]).
    pub body: Vec<u8>,
    /// Send the encoded answer; dropping it makes the request fail on the requester's side.
    pub reply: oneshot::Sender<Vec<u8>>,
}
