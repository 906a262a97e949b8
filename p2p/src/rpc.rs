//! Application request-response: a peer asks a named service on another peer and gets one
//! answer (inference plans, the shard protocol). Content by id goes over [`crate::transfer`];
//! this is the one other request-response protocol.
//!
//! The wire is CBOR ([`RpcRequest`], [`RpcResponse`]) under [`RPC_PROTOCOL`], with size limits on
//! both directions enforced by the codec. An application serves a service by registering it
//! with [`crate::Client::serve_rpc`]: its requests arrive on the handler channel given there, the
//! application answers each with [`crate::Client::answer_rpc`] and may
//! [`crate::Client::penalize`] a peer that sent bad input (penalties lower its score until it is
//! banned). The event loop answers the rest itself, without work: a malformed service name
//! (penalized), a service nobody here serves (`Unavailable`, at once, so a prober learns it
//! without waiting for a timeout), a peer over its budget (`RateLimited`) and a full handler
//! (`Unavailable`, `busy`). An application that never answers leaks nothing: the responder's
//! channel closes at the requester's timeout and is dropped.
//!
//! Each peer's requests are counted against a [`RequestBudget`]: by default the node's
//! [`crate::Limits`] budget, shared with content transfer; a service whose requests come in
//! windows larger than that (the shard protocol keeps several 1 MiB chunk requests in flight
//! per shard download) declares its own budget when it registers, counted apart.

use std::time::Instant;

use libp2p::request_response::{self, Message, ResponseChannel};
use libp2p::{PeerId, StreamProtocol};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::event_loop::EventLoop;
use crate::swarm_events::{fail_outbound, settle_outbound};
use crate::transfer::{MAX_CHUNK_BYTES, RateLimiter};

/// Request-response protocol name of application RPCs.
pub const RPC_PROTOCOL: StreamProtocol = StreamProtocol::new("/autonet/rpc/1.0.0");

/// Largest encoded request accepted.
pub const MAX_RPC_REQUEST_BYTES: u64 = 1024 * 1024;

/// Largest encoded response accepted: a 1 MiB chunk of a service's data plus room for what goes
/// with it (a shard chunk's Merkle proof) and the framing.
pub const MAX_RPC_RESPONSE_BYTES: u64 = MAX_CHUNK_BYTES as u64 + 64 * 1024;

/// Longest service name.
pub const MAX_SERVICE_NAME: usize = 64;

/// A call of `service` with an opaque body (the service defines and versions its format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpcRequest {
    /// Name of the service to call, 1..=[`MAX_SERVICE_NAME`] bytes.
    pub service: String,
    /// The request in the service's own encoding.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// The answer to an [`RpcRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RpcResponse {
    /// The service's answer.
    Ok {
        /// The answer in the service's own encoding.
        #[serde(with = "serde_bytes")]
        body: Vec<u8>,
    },
    /// The request was refused; the reason says why (bad input, failure).
    Error {
        /// Human-readable cause, for logs.
        reason: String,
    },
    /// This peer does not run the service, or is too busy to answer now.
    Unavailable {
        /// Human-readable cause, for logs (`busy` when the application's queue was full).
        reason: String,
    },
    /// The caller is over its request budget.
    RateLimited,
}

/// How many requests one peer may make: `burst` at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBudget {
    /// Requests a peer may make at once (at least 1 is allowed).
    pub burst: u32,
    /// Requests per second the budget refills by.
    pub per_second: u32,
}

/// Where a registered service's requests go, and its own budget if it declared one.
#[derive(Debug)]
pub(crate) struct RpcRoute {
    handler: mpsc::Sender<InboundRpc>,
    /// `None`: the node's default budget ([`EventLoop::rate_limiter`]).
    limiter: Option<RateLimiter>,
}

impl RpcRoute {
    pub(crate) fn new(handler: mpsc::Sender<InboundRpc>, budget: Option<RequestBudget>) -> Self {
        Self {
            handler,
            limiter: budget.map(|b| RateLimiter::new(b.burst, b.per_second)),
        }
    }

    /// Forgets a disconnected peer's budget.
    pub(crate) fn forget(&mut self, peer: &PeerId) {
        if let Some(limiter) = &mut self.limiter {
            limiter.forget(peer);
        }
    }
}

/// Handle of an inbound request, for [`crate::Client::answer_rpc`].
pub type RpcId = u64;

/// An inbound RPC waiting for the application's answer.
#[derive(Debug, Clone)]
pub struct InboundRpc {
    /// Pass it to [`crate::Client::answer_rpc`]; unique for the life of the event loop.
    pub id: RpcId,
    /// The requesting peer.
    pub peer: PeerId,
    /// The service it called (1..=[`MAX_SERVICE_NAME`] bytes).
    pub service: String,
    /// The request in the service's own encoding.
    pub body: Vec<u8>,
}

impl EventLoop {
    pub(crate) fn on_rpc(&mut self, event: request_response::Event<RpcRequest, RpcResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                Message::Request {
                    request, channel, ..
                } => self.on_inbound_rpc(peer, request, channel),
                Message::Response {
                    request_id,
                    response,
                } => settle_outbound(&mut self.pending_rpcs, request_id, Ok(response)),
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => fail_outbound(&mut self.pending_rpcs, peer, request_id, error),
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound RPC failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn on_inbound_rpc(
        &mut self,
        peer: PeerId,
        request: RpcRequest,
        channel: ResponseChannel<RpcResponse>,
    ) {
        if request.service.is_empty() || request.service.len() > MAX_SERVICE_NAME {
            let reason = format!("service name must be 1..={MAX_SERVICE_NAME} bytes");
            self.answer_rpc_channel(channel, RpcResponse::Error { reason });
            self.penalize(peer, crate::PeerAction::Malformed);
            return;
        }
        // A service that declared its own budget counts against it; the rest against the node's.
        let limiter = match self
            .rpc_routes
            .get_mut(&request.service)
            .and_then(|r| r.limiter.as_mut())
        {
            Some(own) => own,
            None => &mut self.rate_limiter,
        };
        if !limiter.allow(peer, Instant::now()) {
            self.metrics.requests_rate_limited.inc();
            self.answer_rpc_channel(channel, RpcResponse::RateLimited);
            return;
        }
        let Some(handler) = self
            .rpc_routes
            .get(&request.service)
            .map(|r| r.handler.clone())
        else {
            let reason = format!("this node serves no {:?}", request.service);
            self.answer_rpc_channel(channel, RpcResponse::Unavailable { reason });
            return;
        };
        self.next_rpc_id += 1;
        let id = self.next_rpc_id;
        let inbound = InboundRpc {
            id,
            peer,
            service: request.service,
            body: request.body,
        };
        let service = inbound.service.clone();
        match handler.try_send(inbound) {
            Ok(()) => {
                self.rpc_channels.insert(id, channel);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.metrics.events_dropped.inc();
                let reason = "busy".to_string();
                self.answer_rpc_channel(channel, RpcResponse::Unavailable { reason });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                // The application stopped serving it (its handler's receiver is gone).
                self.rpc_routes.remove(&service);
                let reason = format!("this node stopped serving {service:?}");
                self.answer_rpc_channel(channel, RpcResponse::Unavailable { reason });
            }
        }
    }

    /// Routes RPCs to `service` to `handler` from now on (replacing an earlier registration),
    /// each peer within `budget` (`None`: the node's default budget).
    pub(crate) fn serve_rpc(
        &mut self,
        service: String,
        handler: mpsc::Sender<InboundRpc>,
        budget: Option<RequestBudget>,
    ) {
        self.rpc_routes
            .insert(service, RpcRoute::new(handler, budget));
    }

    /// Sends the application's answer to inbound RPC `id` (ignored if it timed out meanwhile).
    pub(crate) fn respond_rpc(&mut self, id: RpcId, response: RpcResponse) {
        if let Some(channel) = self.rpc_channels.remove(&id) {
            self.answer_rpc_channel(channel, response);
        }
    }

    fn answer_rpc_channel(&mut self, channel: ResponseChannel<RpcResponse>, response: RpcResponse) {
        if self
            .swarm
            .behaviour_mut()
            .rpc
            .send_response(channel, response)
            .is_ok()
        {
            self.metrics.requests_served.inc();
        }
    }

    /// Drops the channels of requests whose requester has given up.
    pub(crate) fn prune_rpc_channels(&mut self) {
        self.rpc_channels.retain(|_, channel| channel.is_open());
    }
}
