//! Application request-response: a peer asks a named service on another peer and gets one
//! answer (inference plans today; any small RPC later). Bulk data goes over [`crate::transfer`].
//!
//! The wire is CBOR ([`RpcRequest`], [`RpcResponse`]) under [`RPC_PROTOCOL`], with size limits on
//! both directions enforced by the codec. The event loop answers rate-limited and malformed
//! requests itself; the rest reach the application as [`NetworkEvent::Request`], which answers
//! with [`crate::Client::answer_rpc`] and may [`crate::Client::penalize`] a peer that sent bad
//! input (penalties lower its score until it is banned). An application that never answers
//! leaks nothing: the responder's channel closes at the requester's timeout and is dropped.
//!
//! Unlike [`crate::service`] (one opaque handler, the shard host), RPCs name their service and
//! carry typed refusals, so several services share the protocol.

use std::time::Instant;

use libp2p::request_response::{self, Message, ResponseChannel};
use libp2p::{PeerId, StreamProtocol};
use serde::{Deserialize, Serialize};

use crate::event_loop::{EventLoop, NetworkEvent};
use crate::swarm_events::{fail_outbound, settle_outbound};

/// Request-response protocol name of application RPCs.
pub const RPC_PROTOCOL: StreamProtocol = StreamProtocol::new("/autonet/rpc/1.0.0");

/// Largest encoded request accepted.
pub const MAX_RPC_REQUEST_BYTES: u64 = 1024 * 1024;

/// Largest encoded response accepted.
pub const MAX_RPC_RESPONSE_BYTES: u64 = 1024 * 1024 + 4096;

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
        if !self.rate_limiter.allow(peer, Instant::now()) {
            self.metrics.requests_rate_limited.inc();
            self.answer_rpc_channel(channel, RpcResponse::RateLimited);
            return;
        }
        if request.service.is_empty() || request.service.len() > MAX_SERVICE_NAME {
            self.answer_rpc_channel(
                channel,
                RpcResponse::Error {
                    reason: format!("service name must be 1..={MAX_SERVICE_NAME} bytes"),
                },
            );
            self.penalize(peer, crate::PeerAction::Malformed);
            return;
        }
        self.next_rpc_id += 1;
        let id = self.next_rpc_id;
        let inbound = InboundRpc {
            id,
            peer,
            service: request.service,
            body: request.body,
        };
        match self.events.try_send(NetworkEvent::Request(inbound)) {
            Ok(()) => {
                self.rpc_channels.insert(id, channel);
            }
            Err(_) => {
                self.metrics.events_dropped.inc();
                self.answer_rpc_channel(
                    channel,
                    RpcResponse::Unavailable {
                        reason: "busy".to_string(),
                    },
                );
            }
        }
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
