//! The shard protocol on the overlay's RPC ([`autonet_p2p::rpc`]): the service name, the budget
//! a host grants each peer, and a requester's call.
//!
//! The messages are [`super::wire`]'s CBOR, carried as the body of an RPC to [`SHARD_SERVICE`]
//! (the answer as the body of `RpcResponse::Ok`). A change of their format takes a new service
//! name, so hosts of both formats can run side by side.

use std::time::Duration;

use autonet_p2p::{Client, P2pError, PeerId, RequestBudget, RpcResponse};

use super::wire::{self, ShardRequest, ShardResponse};

/// Name of the shard protocol's RPC service (`/1`: the [`super::wire`] format).
pub const SHARD_SERVICE: &str = "shards/1";

/// Requests one peer may make to a shard host, counted apart from the node's default budget
/// (16 a second, bursts of 32: sized for small RPCs and content chunks). Shard traffic comes in
/// windows: a download keeps four 1 MiB chunk requests in flight, a fetcher whose only provider
/// is this host runs up to `k` downloads from it at once, and a holder takes up to four shards
/// from the same source. The burst covers the most requests one connection carries at once
/// (the RPC protocol's 256 streams), and the rate, 1 GiB/s of chunks, is above any uplink, so
/// the budget never throttles a download; it bounds a peer's flood of cheap requests. Bandwidth
/// is the host's own business: [`super::HostConfig::upload_bytes_per_sec`] paces chunks.
pub const SHARD_BUDGET: RequestBudget = RequestBudget {
    burst: 256,
    per_second: 1024,
};

/// Times a call answered `RateLimited` is sent again before it fails.
const RATE_LIMITED_RETRIES: u32 = 4;

/// The wait after the first `RateLimited` answer; it doubles at each retry.
const RATE_LIMITED_BACKOFF: Duration = Duration::from_millis(100);

/// Why a call to a shard host got no shard answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request did not get through (unreachable, timed out, the node stopped).
    #[error(transparent)]
    Network(#[from] P2pError),
    /// The host refused the request as malformed.
    #[error("refused: {0}")]
    Refused(String),
    /// The peer serves no shards, or was too busy to take the request.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The peer kept answering that this node is over its budget.
    #[error("rate limited {RATE_LIMITED_RETRIES} times in a row")]
    RateLimited,
    /// The answer is not a shard message: the peer broke the protocol.
    #[error("undecodable answer: {0}")]
    Garbled(String),
}

/// Sends `request` to the shard host on `peer` and decodes its answer. A `RateLimited` answer
/// is waited out (a few times, with a doubling backoff): being over a budget is the requester's
/// pace, not the host's fault, so the call slows down instead of giving the host up.
pub async fn call(
    client: &Client,
    peer: PeerId,
    request: &ShardRequest,
) -> Result<ShardResponse, CallError> {
    let body = wire::encode(request);
    let mut wait = RATE_LIMITED_BACKOFF;
    for attempt in 0..=RATE_LIMITED_RETRIES {
        match client.rpc(peer, SHARD_SERVICE, body.clone()).await? {
            RpcResponse::Ok { body } => {
                return wire::decode(&body).map_err(|e| CallError::Garbled(e.to_string()));
            }
            RpcResponse::Error { reason } => return Err(CallError::Refused(reason)),
            RpcResponse::Unavailable { reason } => return Err(CallError::Unavailable(reason)),
            RpcResponse::RateLimited if attempt < RATE_LIMITED_RETRIES => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            RpcResponse::RateLimited => {}
        }
    }
    Err(CallError::RateLimited)
}
