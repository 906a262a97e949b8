//! The cloneable [`Client`] handle: every call is a [`Command`] on a bounded channel to the
//! [`crate::EventLoop`], answered on a oneshot channel.

use std::collections::HashSet;
use std::time::Duration;

use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::kad::RecordKey;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::envelope::Envelope;
use crate::records::{ContentId, content_id};
use crate::rpc::{InboundRpc, RequestBudget, RpcId, RpcRequest, RpcResponse};
use crate::status::Status;
use crate::transfer::{ChunkCheck, ChunkRequest, ChunkResponse};
use crate::{GossipTopic, P2pError};

type Reply<T> = oneshot::Sender<Result<T, P2pError>>;

/// A request to the event loop.
#[derive(Debug)]
pub enum Command {
    /// [`Client::listen_addrs`]: answered once at least one listen address is known.
    ListenAddrs(Reply<Vec<Multiaddr>>),
    /// [`Client::dial`]: answered when the connection is established or has failed.
    Dial(Multiaddr, Reply<()>),
    /// [`Client::publish_bytes`]: publish already-encoded bytes.
    Publish {
        /// Topic to publish on.
        topic: GossipTopic,
        /// The encoded envelope (or, in fault injection, arbitrary bytes).
        data: Vec<u8>,
        /// Gets the message id gossipsub assigned.
        reply: Reply<MessageId>,
    },
    /// [`Client::report_validation`]: the application's verdict on a received message.
    ReportValidation {
        /// The message judged ([`crate::InboundMessage::id`]).
        id: MessageId,
        /// The peer that forwarded it ([`crate::InboundMessage::propagation_source`]).
        propagation_source: PeerId,
        /// Accept relays it; Reject also lowers the sender's score.
        acceptance: MessageAcceptance,
    },
    /// [`Client::put_record`]: store a value in the DHT under its hash.
    PutRecord(Vec<u8>, Reply<RecordKey>),
    /// [`Client::get_record`]: read and verify a DHT record.
    GetRecord(RecordKey, Reply<Vec<u8>>),
    /// [`Client::provide`]: serve these bytes from memory and announce them.
    Provide(Vec<u8>, Reply<ContentId>),
    /// [`Client::serve_stored`]: serve an id from the content source and announce it.
    ServeStored(ContentId, Reply<ContentId>),
    /// [`Client::providers`]: answered by the first lookup step that finds any provider.
    GetProviders(ContentId, Reply<HashSet<PeerId>>),
    /// [`Client::all_providers`]: answered when the whole lookup has finished.
    GetAllProviders(ContentId, Reply<HashSet<PeerId>>),
    /// [`Client::request_chunk`]: ask a peer for one chunk.
    RequestChunk(PeerId, ChunkRequest, Reply<ChunkResponse>),
    /// [`Client::announce`]: announce as a provider without serving over transfer.
    Announce(ContentId, Reply<()>),
    /// [`Client::stop_providing`]: drop the local provider record.
    StopProviding(ContentId),
    /// [`Client::penalize`]: lower a peer's score for an offence.
    Penalize(PeerId, crate::PeerAction),
    /// [`Client::known_peers`]: connected peers and routing-table peers.
    KnownPeers(Reply<Vec<PeerId>>),
    /// [`Client::rpc`]: call a named service on a peer.
    Rpc {
        /// The peer to call.
        peer: PeerId,
        /// Service name and body.
        request: RpcRequest,
        /// Gets the peer's answer, or an error at the RPC timeout.
        reply: Reply<RpcResponse>,
    },
    /// [`Client::serve_rpc`]: route a service's inbound RPCs to a handler.
    ServeRpc {
        /// The service's name.
        service: String,
        /// Where its requests go.
        handler: mpsc::Sender<InboundRpc>,
        /// Its own per-peer budget; `None`: the node's default.
        budget: Option<RequestBudget>,
        /// Answered once requests are routed there.
        reply: Reply<()>,
    },
    /// [`Client::answer_rpc`]: answer an inbound RPC.
    RespondRpc(RpcId, RpcResponse),
    /// [`Client::status`]: a snapshot of the node's state.
    Status(Reply<Status>),
    /// [`Client::peer_score`]: the gossipsub score of a peer, if tracked.
    PeerScore(PeerId, Reply<Option<f64>>),
    /// [`Client::ban`]: ban a peer for this long.
    Ban(PeerId, Duration),
    /// [`Client::shutdown`]: close every connection and stop the event loop.
    Shutdown(Reply<()>),
}

/// A handle on a running node. Cheap to clone; all clones talk to the same event loop.
#[derive(Debug, Clone)]
pub struct Client {
    peer_id: PeerId,
    commands: mpsc::Sender<Command>,
}

impl Client {
    pub(crate) fn new(peer_id: PeerId, commands: mpsc::Sender<Command>) -> Self {
        Self { peer_id, commands }
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, P2pError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| P2pError::Stopped)?;
        rx.await.map_err(|_| P2pError::Stopped)?
    }

    /// The addresses the node listens on, waiting until at least one is known.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, P2pError> {
        self.call(Command::ListenAddrs).await
    }

    /// Dials an address; resolves when the connection is established or has failed.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), P2pError> {
        self.call(|r| Command::Dial(addr, r)).await
    }

    /// Publishes `body` on `topic` inside a current-version envelope.
    pub async fn publish(&self, topic: GossipTopic, body: Vec<u8>) -> Result<MessageId, P2pError> {
        let data = Envelope::new(body).encode()?;
        self.publish_bytes(topic, data).await
    }

    /// Publishes raw bytes without wrapping them in an envelope. Only for fault injection (the
    /// adversarial tests); honest code uses [`Client::publish`].
    pub async fn publish_bytes(
        &self,
        topic: GossipTopic,
        data: Vec<u8>,
    ) -> Result<MessageId, P2pError> {
        self.call(|reply| Command::Publish { topic, data, reply })
            .await
    }

    /// The application's verdict on a received message; only `Accept`ed messages are relayed.
    pub async fn report_validation(
        &self,
        id: MessageId,
        propagation_source: PeerId,
        acceptance: MessageAcceptance,
    ) -> Result<(), P2pError> {
        self.commands
            .send(Command::ReportValidation {
                id,
                propagation_source,
                acceptance,
            })
            .await
            .map_err(|_| P2pError::Stopped)
    }

    /// Stores `value` in the DHT under `hash(value)`; returns the key.
    pub async fn put_record(&self, value: Vec<u8>) -> Result<RecordKey, P2pError> {
        self.call(|r| Command::PutRecord(value, r)).await
    }

    /// Reads the record stored under `key`, checking that its value hashes to the key.
    pub async fn get_record(&self, key: RecordKey) -> Result<Vec<u8>, P2pError> {
        self.call(|r| Command::GetRecord(key, r)).await
    }

    /// Serves `data` over request-response and announces this node as a provider of its id.
    pub async fn provide(&self, data: Vec<u8>) -> Result<ContentId, P2pError> {
        self.call(|r| Command::Provide(data, r)).await
    }

    /// Serves `id` from the node's [`crate::transfer::ContentSource`] (its store: nothing is
    /// copied into memory) and announces this node as a provider of it.
    pub async fn serve_stored(&self, id: ContentId) -> Result<ContentId, P2pError> {
        self.call(|r| Command::ServeStored(id, r)).await
    }

    /// Peers that announced they provide `id` (the first that the DHT lookup finds).
    pub async fn providers(&self, id: ContentId) -> Result<HashSet<PeerId>, P2pError> {
        self.call(|r| Command::GetProviders(id, r)).await
    }

    /// Every provider of `id` the whole DHT lookup finds: slower than [`Client::providers`],
    /// for when the first ones found did not serve (a dead provider's record outlives it).
    pub async fn all_providers(&self, id: ContentId) -> Result<HashSet<PeerId>, P2pError> {
        self.call(|r| Command::GetAllProviders(id, r)).await
    }

    /// Asks `peer` for one chunk.
    pub async fn request_chunk(
        &self,
        peer: PeerId,
        request: ChunkRequest,
    ) -> Result<ChunkResponse, P2pError> {
        self.call(|r| Command::RequestChunk(peer, request, r)).await
    }

    /// Fetches content by id from one provider (the transfer primitive: finding providers and
    /// choosing among them is the caller's, `autonet_actors::roles::fetch::Fetcher` in the
    /// roles), chunk by chunk, giving up when one chunk takes
    /// longer than `chunk_timeout` (a dead or stalled provider fails fast, so the caller can
    /// try another), and checks its hash.
    ///
    /// The content may weigh at most `max_bytes`, known before the first chunk: every answer is
    /// judged by [`ChunkCheck`] before its bytes are kept, so a provider that claims more chunks
    /// than that, changes its count or sends bytes past the limit is penalized
    /// ([`crate::PeerAction::Lied`]) and dropped, and the fetcher never holds more than
    /// `max_bytes` (memory grows with the bytes received, never with a claimed length). A
    /// provider whose bytes fail their id is penalized as well.
    pub async fn fetch_from(
        &self,
        peer: PeerId,
        id: ContentId,
        max_bytes: u64,
        chunk_timeout: Duration,
    ) -> Result<Vec<u8>, P2pError> {
        let mut data = Vec::new();
        let mut check = ChunkCheck::new(max_bytes);
        let mut index = 0u32;
        loop {
            let request = ChunkRequest { content: id, index };
            let answer = tokio::time::timeout(chunk_timeout, self.request_chunk(peer, request))
                .await
                .map_err(|_| P2pError::Request {
                    peer: peer.to_string(),
                    reason: format!("chunk {index} took longer than {chunk_timeout:?}"),
                })??;
            match answer {
                ChunkResponse::Chunk {
                    index: got,
                    total,
                    data: chunk,
                } if got == index => {
                    if let Err(reason) = check.accept(index, total, chunk.len()) {
                        tracing::info!(%peer, %reason, "dropping a lying provider");
                        let _ = self.penalize(peer, crate::PeerAction::Lied).await;
                        return Err(P2pError::ProviderLied {
                            peer: peer.to_string(),
                            reason,
                        });
                    }
                    data.extend_from_slice(&chunk);
                    index += 1;
                    if index >= total {
                        break;
                    }
                }
                ChunkResponse::Chunk { index: got, .. } => {
                    let _ = self.penalize(peer, crate::PeerAction::Lied).await;
                    return Err(P2pError::ProviderLied {
                        peer: peer.to_string(),
                        reason: format!("answered chunk {got} to a request for chunk {index}"),
                    });
                }
                other @ (ChunkResponse::NotFound | ChunkResponse::RateLimited) => {
                    return Err(P2pError::Request {
                        peer: peer.to_string(),
                        reason: format!("unexpected answer {other:?} to chunk {index}"),
                    });
                }
            }
        }
        if content_id(&data) != id {
            let _ = self.penalize(peer, crate::PeerAction::Lied).await;
            return Err(P2pError::ContentCorrupt {
                peer: peer.to_string(),
            });
        }
        Ok(data)
    }

    /// Announces this node as a provider of `id` without handing content to the event loop
    /// (the application serves it itself, through an RPC service such as the shard host's).
    pub async fn announce(&self, id: ContentId) -> Result<(), P2pError> {
        self.call(|r| Command::Announce(id, r)).await
    }

    /// Stops announcing `id` (the local provider record is removed; remote copies expire).
    pub async fn stop_providing(&self, id: ContentId) -> Result<(), P2pError> {
        self.commands
            .send(Command::StopProviding(id))
            .await
            .map_err(|_| P2pError::Stopped)
    }

    /// Calls `service` on `peer` (which must be connected or dialable by id) and waits for its
    /// answer or the RPC timeout.
    pub async fn rpc(
        &self,
        peer: PeerId,
        service: &str,
        body: Vec<u8>,
    ) -> Result<RpcResponse, P2pError> {
        let request = RpcRequest {
            service: service.to_string(),
            body,
        };
        self.call(|reply| Command::Rpc {
            peer,
            request,
            reply,
        })
        .await
    }

    /// Serves RPCs to `service` from now on (replacing an earlier registration of the name):
    /// each request arrives on `handler` and is answered with [`Client::answer_rpc`]. Each peer
    /// may make requests within `budget`, counted apart from other services; `None` counts them
    /// against the node's default budget ([`crate::Limits`], shared with content transfer).
    /// Requests arriving while `handler` is full are answered `Unavailable` (`busy`); once its
    /// receiver is dropped the service is no longer served.
    pub async fn serve_rpc(
        &self,
        service: &str,
        handler: mpsc::Sender<InboundRpc>,
        budget: Option<RequestBudget>,
    ) -> Result<(), P2pError> {
        let service = service.to_string();
        self.call(|reply| Command::ServeRpc {
            service,
            handler,
            budget,
            reply,
        })
        .await
    }

    /// Answers the inbound RPC `id` (from a handler registered with [`Client::serve_rpc`]).
    pub async fn answer_rpc(&self, id: RpcId, response: RpcResponse) -> Result<(), P2pError> {
        self.commands
            .send(Command::RespondRpc(id, response))
            .await
            .map_err(|_| P2pError::Stopped)
    }

    /// Lowers `peer`'s score for application-level misbehaviour, such as serving bytes that fail
    /// their hash ([`crate::PeerAction`] sets how much). Penalties add up, enter the gossipsub
    /// score as its application-specific part, and can get the peer banned like any other low
    /// score.
    pub async fn penalize(&self, peer: PeerId, action: crate::PeerAction) -> Result<(), P2pError> {
        self.commands
            .send(Command::Penalize(peer, action))
            .await
            .map_err(|_| P2pError::Stopped)
    }

    /// Peers this node knows of: connected ones and those in the Kademlia routing table.
    pub async fn known_peers(&self) -> Result<Vec<PeerId>, P2pError> {
        self.call(Command::KnownPeers).await
    }

    /// A snapshot of the node's state.
    pub async fn status(&self) -> Result<Status, P2pError> {
        self.call(Command::Status).await
    }

    /// The gossipsub score this node gives `peer` (`None` if it is not tracked).
    pub async fn peer_score(&self, peer: PeerId) -> Result<Option<f64>, P2pError> {
        self.call(|r| Command::PeerScore(peer, r)).await
    }

    /// Bans `peer` for `duration`: disconnects it and refuses its connections meanwhile.
    pub async fn ban(&self, peer: PeerId, duration: Duration) -> Result<(), P2pError> {
        self.commands
            .send(Command::Ban(peer, duration))
            .await
            .map_err(|_| P2pError::Stopped)
    }

    /// Closes every connection and stops the event loop; resolves when it has stopped.
    pub async fn shutdown(&self) -> Result<(), P2pError> {
        self.call(Command::Shutdown).await
    }
}
