//! The [`EventLoop`]: owns the swarm, executes [`Command`]s, turns swarm events into
//! [`NetworkEvent`]s for the application, checks peer scores and lifts expired bans.
//!
//! Channels are bounded in both directions. Commands wait for room (back-pressure on callers);
//! events to the application are offered with `try_send`, and when the application lags a
//! message is reported `Ignore` (not relayed, no penalty) instead of blocking the swarm.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::kad::{QueryId, Quorum, Record, RecordKey};
use libp2p::request_response::{OutboundRequestId, ResponseChannel};
use libp2p::swarm::ConnectionId;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, Swarm};
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};

use crate::behaviour::{Behaviour, build_swarm, phase_of};
use crate::client::{Client, Command};
use crate::config::NetworkConfig;
use crate::dht_store::DhtStore;
use crate::metrics::NetMetrics;
use crate::peer_manager::PeerActivity;
use crate::records::{ContentId, record_key};
use crate::rpc::{InboundRpc, RpcId, RpcResponse};
use crate::service::{InboundRequest, ServiceResponse};
use crate::status::{BanStatus, Status, TopicStatus};
use crate::transfer::{ChunkResponse, ProvidedContent, RateLimiter};
use crate::{GossipTopic, P2pError};

type Reply<T> = oneshot::Sender<Result<T, P2pError>>;

/// A gossip message that passed the envelope checks, waiting for the application's verdict.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    /// Gossipsub's id of the message (a hash of its content); pass it back in
    /// `report_validation`.
    pub id: MessageId,
    /// The topic the message arrived on.
    pub topic: GossipTopic,
    /// The peer that signed (authored) the message.
    pub author: Option<PeerId>,
    /// The peer that forwarded it to us; pass it back in `report_validation`.
    pub propagation_source: PeerId,
    /// The envelope's payload, still encoded as the topic's CBOR message.
    pub body: Vec<u8>,
    /// The author's clock at publication (µs since the Unix epoch); informational only.
    pub sent_at_micros: u64,
}

/// What the network tells the application.
#[derive(Debug, Clone)]
pub enum NetworkEvent {
    /// Call [`Client::report_validation`] with the verdict.
    Message(InboundMessage),
    /// A peer's first connection opened.
    PeerConnected(PeerId),
    /// A peer's last connection closed.
    PeerDisconnected(PeerId),
    /// A peer was banned for a low score: its connections are closed and refused meanwhile.
    PeerBanned {
        /// The banned peer.
        peer: PeerId,
        /// How long the ban lasts.
        duration: Duration,
    },
    /// An RPC for the application; answer it with [`Client::answer_rpc`].
    Request(InboundRpc),
}

/// A running provider lookup.
pub(crate) struct ProviderLookup {
    pub(crate) found: HashSet<PeerId>,
    /// Wait for the whole query; else the first step that finds any provider answers.
    pub(crate) all: bool,
    pub(crate) reply: Reply<HashSet<PeerId>>,
}

/// Owns the swarm; run it with [`EventLoop::run`].
pub struct EventLoop {
    pub(crate) swarm: Swarm<Behaviour>,
    pub(crate) config: NetworkConfig,
    commands: mpsc::Receiver<Command>,
    pub(crate) events: mpsc::Sender<NetworkEvent>,
    pub(crate) metrics: NetMetrics,
    pub(crate) libp2p_metrics: libp2p::metrics::Metrics,
    pub(crate) listen_addrs: Vec<Multiaddr>,
    pub(crate) listen_waiters: Vec<Reply<Vec<Multiaddr>>>,
    pub(crate) pending_dials: HashMap<ConnectionId, Reply<()>>,
    pub(crate) pending_puts: HashMap<QueryId, (RecordKey, Reply<RecordKey>)>,
    pub(crate) pending_gets: HashMap<QueryId, Reply<Vec<u8>>>,
    pub(crate) pending_provides: HashMap<QueryId, (ContentId, Reply<ContentId>)>,
    pub(crate) pending_providers: HashMap<QueryId, ProviderLookup>,
    pub(crate) pending_requests: HashMap<OutboundRequestId, Reply<ChunkResponse>>,
    pub(crate) pending_rpcs: HashMap<OutboundRequestId, Reply<RpcResponse>>,
    pub(crate) rpc_channels: HashMap<RpcId, ResponseChannel<RpcResponse>>,
    pub(crate) next_rpc_id: RpcId,
    pub(crate) provided: ProvidedContent,
    pub(crate) rate_limiter: RateLimiter,
    pub(crate) bans: HashMap<PeerId, Instant>,
    /// Score of each peer when it was last banned for its score. Gossipsub keeps (and does not
    /// decay) a disconnected peer's score, so after a ban expires the peer is banned again only
    /// if it misbehaves further, not for the same old offence.
    pub(crate) score_at_ban: HashMap<PeerId, f64>,
    pub(crate) bootstrap_peers: HashSet<PeerId>,
    /// Where inbound service requests go ([`Client::serve_requests`]).
    pub(crate) service_handler: Option<mpsc::Sender<InboundRequest>>,
    pub(crate) pending_service: HashMap<OutboundRequestId, Reply<Vec<u8>>>,
    /// Answers the application is still preparing, with the channel each goes back on.
    pub(crate) service_answers: FuturesUnordered<ServiceAnswer>,
    /// Application penalties per peer (positive numbers; the score gets their negation).
    pub(crate) penalties: HashMap<PeerId, f64>,
    /// When each peer last connected or served a request ([`crate::peer_manager`]).
    pub(crate) activity: PeerActivity,
    /// Random walks so far.
    walks: u64,
    /// When a reconnection to a bootstrap peer last started a full DHT bootstrap.
    pub(crate) last_join_refresh: Option<std::time::Instant>,
}

/// A full bucket refresh replaces every this many random walks (5 minutes at the production
/// walk interval, Kademlia's default refresh period).
const WALKS_PER_REFRESH: u64 = 5;

/// A pending answer to an inbound service request.
pub(crate) type ServiceAnswer = futures::future::BoxFuture<
    'static,
    (
        libp2p::request_response::ResponseChannel<ServiceResponse>,
        Option<Vec<u8>>,
    ),
>;

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("peer_id", self.swarm.local_peer_id())
            .finish_non_exhaustive()
    }
}

/// Builds a node: the [`Client`], the application's event receiver and the [`EventLoop`] to
/// spawn. Registers libp2p's and autonet's metrics in `registry`. Listening and bootstrap dials
/// start at once.
pub fn new(
    config: NetworkConfig,
    registry: &mut Registry,
) -> Result<(Client, mpsc::Receiver<NetworkEvent>, EventLoop), P2pError> {
    let peer_id = config.keypair.public().to_peer_id();
    let store = match &config.dht_store_path {
        Some(path) => DhtStore::open(
            path,
            peer_id,
            config.limits.max_records,
            config.limits.max_record_bytes,
        )?,
        None => DhtStore::in_memory(
            peer_id,
            config.limits.max_records,
            config.limits.max_record_bytes,
        ),
    };
    let libp2p_metrics = libp2p::metrics::Metrics::new(registry);
    let metrics = NetMetrics::register(registry);
    let mut swarm = build_swarm(&config, store, registry)?;
    for topic in &config.topics {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&topic.ident())
            .map_err(|e| P2pError::Config(format!("subscribe {topic}: {e}")))?;
    }
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| P2pError::listen(addr, &e))?;
    }
    let mut bootstrap_peers = HashSet::new();
    for addr in &config.bootstrap {
        let Some(peer) = peer_id_of(addr) else {
            return Err(P2pError::BootstrapWithoutPeerId(addr.to_string()));
        };
        bootstrap_peers.insert(peer);
        swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        if let Err(err) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, %err, "cannot dial bootstrap peer");
        }
    }
    let provided = ProvidedContent::with_source(config.content_source.clone());
    let (command_tx, command_rx) = mpsc::channel(config.limits.channel_capacity);
    let (event_tx, event_rx) = mpsc::channel(config.limits.channel_capacity);
    let rate_limiter = RateLimiter::new(
        config.limits.request_burst,
        config.limits.requests_per_second,
    );
    let event_loop = EventLoop {
        swarm,
        config,
        commands: command_rx,
        events: event_tx,
        metrics,
        libp2p_metrics,
        listen_addrs: Vec::new(),
        listen_waiters: Vec::new(),
        pending_dials: HashMap::new(),
        pending_puts: HashMap::new(),
        pending_gets: HashMap::new(),
        pending_provides: HashMap::new(),
        pending_providers: HashMap::new(),
        pending_requests: HashMap::new(),
        pending_rpcs: HashMap::new(),
        rpc_channels: HashMap::new(),
        next_rpc_id: 0,
        provided,
        rate_limiter,
        bans: HashMap::new(),
        score_at_ban: HashMap::new(),
        bootstrap_peers,
        service_handler: None,
        pending_service: HashMap::new(),
        service_answers: FuturesUnordered::new(),
        penalties: HashMap::new(),
        activity: PeerActivity::default(),
        walks: 0,
        last_join_refresh: None,
    };
    Ok((Client::new(peer_id, command_tx), event_rx, event_loop))
}

/// The peer id at the end of a `/p2p/<id>` multiaddr.
pub fn peer_id_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

impl EventLoop {
    /// Runs until [`Client::shutdown`] or until every client handle is dropped.
    pub async fn run(mut self) {
        let mut score_tick = tokio::time::interval(self.config.bans.check_interval);
        let walk = self.config.random_walk_interval;
        let phase = phase_of(self.swarm.local_peer_id(), walk);
        // The first walk comes after one period (joining already ran a bootstrap), plus the
        // node's phase.
        let first = tokio::time::Instant::now() + walk + phase;
        let mut walk_tick = tokio::time::interval_at(first, walk);
        let shutdown_reply = loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown(reply)) => break Some(reply),
                    Some(command) => self.on_command(command),
                    None => break None,
                },
                Some((channel, answer)) = self.service_answers.next(), if !self.service_answers.is_empty() => {
                    self.send_service_answer(channel, answer);
                }
                _ = score_tick.tick() => self.check_scores_and_bans(),
                _ = walk_tick.tick() => self.random_walk(),
            }
        };
        self.close().await;
        if let Some(reply) = shutdown_reply {
            let _ = reply.send(Ok(()));
        }
    }

    /// Closes every connection, waiting (bounded) for the goodbyes to go out.
    async fn close(mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while self.swarm.connected_peers().next().is_some() {
            match tokio::time::timeout_at(deadline, self.swarm.select_next_some()).await {
                Ok(event) => self.libp2p_metrics_record_swarm(&event),
                Err(_) => break,
            }
        }
        tracing::info!(peer = %self.swarm.local_peer_id(), "network stopped");
        // Dropping the swarm drops the DHT store; its writes were already durable.
    }

    /// Announces this node as a provider of `id`; `reply` answers once the record is out.
    fn start_providing(&mut self, id: ContentId, reply: Reply<ContentId>) {
        let kad = &mut self.swarm.behaviour_mut().kad;
        match kad.start_providing(RecordKey::new(&id)) {
            Ok(query) => {
                self.pending_provides.insert(query, (id, reply));
            }
            Err(err) => {
                let _ = reply.send(Err(P2pError::Dht(err.to_string())));
            }
        }
    }

    fn find_providers(&mut self, id: ContentId, all: bool, reply: Reply<HashSet<PeerId>>) {
        let query = self
            .swarm
            .behaviour_mut()
            .kad
            .get_providers(RecordKey::new(&id));
        self.pending_providers.insert(
            query,
            ProviderLookup {
                found: HashSet::new(),
                all,
                reply,
            },
        );
    }

    /// DHT upkeep: a lookup of a random id, and every [`WALKS_PER_REFRESH`]th time a refresh
    /// of every bucket (Kademlia's bootstrap) instead.
    fn random_walk(&mut self) {
        self.walks += 1;
        let kad = &mut self.swarm.behaviour_mut().kad;
        if self.walks.is_multiple_of(WALKS_PER_REFRESH) {
            let _ = kad.bootstrap();
        } else {
            let _ = kad.get_closest_peers(PeerId::random());
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::ListenAddrs(reply) => {
                if self.listen_addrs.is_empty() {
                    self.listen_waiters.push(reply);
                } else {
                    let _ = reply.send(Ok(self.listen_addrs.clone()));
                }
            }
            Command::Dial(addr, reply) => {
                let opts = DialOpts::from(addr.clone());
                let id = opts.connection_id();
                match self.swarm.dial(opts) {
                    Ok(()) => {
                        self.pending_dials.insert(id, reply);
                    }
                    Err(err) => {
                        let _ = reply.send(Err(P2pError::Dial {
                            addr: addr.to_string(),
                            reason: err.to_string(),
                        }));
                    }
                }
            }
            Command::Publish { topic, data, reply } => {
                let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
                let result = gossipsub
                    .publish(topic.ident(), data)
                    .map_err(|e| P2pError::Publish(e.to_string()));
                if result.is_ok() {
                    self.metrics.messages_published.inc();
                }
                let _ = reply.send(result);
            }
            Command::ReportValidation {
                id,
                propagation_source,
                acceptance,
            } => {
                if matches!(acceptance, MessageAcceptance::Reject) {
                    self.metrics.messages_rejected.inc();
                }
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &propagation_source, acceptance);
            }
            Command::PutRecord(value, reply) => {
                let key = record_key(&value);
                let kad = &mut self.swarm.behaviour_mut().kad;
                match kad.put_record(Record::new(key.clone(), value), Quorum::One) {
                    Ok(query) => {
                        self.pending_puts.insert(query, (key, reply));
                    }
                    Err(err) => {
                        let _ = reply.send(Err(P2pError::Dht(err.to_string())));
                    }
                }
            }
            Command::GetRecord(key, reply) => {
                let query = self.swarm.behaviour_mut().kad.get_record(key);
                self.pending_gets.insert(query, reply);
            }
            Command::Provide(data, reply) => {
                let id = crate::records::content_id(&data);
                if !self.provided.insert(id, data) {
                    let _ = reply.send(Err(P2pError::Config(
                        "content store limit reached".to_string(),
                    )));
                    return;
                }
                self.start_providing(id, reply);
            }
            Command::ServeStored(id, reply) => {
                if !self.provided.announce(id) {
                    let _ = reply.send(Err(P2pError::Config(format!(
                        "content {} is not in this node's content source",
                        crate::records::to_hex(&id)
                    ))));
                    return;
                }
                self.start_providing(id, reply);
            }
            Command::GetProviders(id, reply) => self.find_providers(id, false, reply),
            Command::GetAllProviders(id, reply) => self.find_providers(id, true, reply),
            Command::RequestChunk(peer, request, reply) => {
                self.activity.touch(peer);
                let id = self
                    .swarm
                    .behaviour_mut()
                    .transfer
                    .send_request(&peer, request);
                self.pending_requests.insert(id, reply);
            }
            Command::ServeRequests(handler, reply) => {
                self.service_handler = Some(handler);
                let _ = reply.send(Ok(()));
            }
            Command::Request(peer, body, reply) => {
                self.activity.touch(peer);
                let id = self
                    .swarm
                    .behaviour_mut()
                    .service
                    .send_request(&peer, crate::service::ServiceRequest(body));
                self.pending_service.insert(id, reply);
            }
            Command::Announce(id, reply) => {
                let kad = &mut self.swarm.behaviour_mut().kad;
                match kad.start_providing(RecordKey::new(&id)) {
                    Ok(query) => {
                        let (tx, rx) = oneshot::channel();
                        self.pending_provides.insert(query, (id, tx));
                        // The caller only needs to know the announcement went out.
                        tokio::spawn(async move {
                            let _ =
                                reply.send(rx.await.unwrap_or(Err(P2pError::Stopped)).map(|_| ()));
                        });
                    }
                    Err(err) => {
                        let _ = reply.send(Err(P2pError::Dht(err.to_string())));
                    }
                }
            }
            Command::StopProviding(id) => {
                self.swarm
                    .behaviour_mut()
                    .kad
                    .stop_providing(&RecordKey::new(&id));
            }
            Command::Penalize(peer, action) => self.penalize(peer, action),
            Command::KnownPeers(reply) => {
                let mut peers: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
                for bucket in self.swarm.behaviour_mut().kad.kbuckets() {
                    for entry in bucket.iter() {
                        peers.insert(*entry.node.key.preimage());
                    }
                }
                peers.retain(|p| !self.bans.contains_key(p));
                let _ = reply.send(Ok(peers.into_iter().collect()));
            }
            Command::Rpc {
                peer,
                request,
                reply,
            } => {
                self.activity.touch(peer);
                let id = self.swarm.behaviour_mut().rpc.send_request(&peer, request);
                self.pending_rpcs.insert(id, reply);
            }
            Command::RespondRpc(id, response) => self.respond_rpc(id, response),
            Command::Status(reply) => {
                let _ = reply.send(Ok(self.status()));
            }
            Command::PeerScore(peer, reply) => {
                let score = self.swarm.behaviour().gossipsub.peer_score(&peer);
                let _ = reply.send(Ok(score));
            }
            Command::Ban(peer, duration) => self.ban(peer, duration),
            Command::Shutdown(_) => {}
        }
    }

    fn send_service_answer(
        &mut self,
        channel: libp2p::request_response::ResponseChannel<ServiceResponse>,
        answer: Option<Vec<u8>>,
    ) {
        // No answer (the application dropped the request): dropping the channel makes the
        // request fail on the requester's side.
        if let Some(body) = answer {
            let _ = self
                .swarm
                .behaviour_mut()
                .service
                .send_response(channel, ServiceResponse(body));
        }
    }

    /// Lowers `peer`'s score for application-level misbehaviour; penalties add up and enter the
    /// gossipsub score as its application-specific part.
    pub(crate) fn penalize(&mut self, peer: PeerId, action: crate::PeerAction) {
        let amount = action.penalty();
        let total = self.penalties.entry(peer).or_insert(0.0);
        *total += amount;
        let score = -*total;
        self.swarm
            .behaviour_mut()
            .gossipsub
            .set_application_score(&peer, score);
        tracing::info!(%peer, action = action.name(), penalty = amount, "peer penalized");
    }

    /// Bans `peer`: refuse and close its connections, ignore its gossip, forget its address.
    pub(crate) fn ban(&mut self, peer: PeerId, duration: Duration) {
        let until = Instant::now() + duration;
        let newly = self.bans.insert(peer, until).is_none();
        let behaviour = self.swarm.behaviour_mut();
        behaviour.bans.block_peer(peer);
        behaviour.gossipsub.blacklist_peer(&peer);
        behaviour.kad.remove_peer(&peer);
        if newly {
            tracing::warn!(%peer, secs = duration.as_secs(), "peer banned");
            self.metrics.peers_banned.inc();
            let _ = self
                .events
                .try_send(NetworkEvent::PeerBanned { peer, duration });
        }
    }

    fn check_scores_and_bans(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in expired {
            self.bans.remove(&peer);
            let behaviour = self.swarm.behaviour_mut();
            behaviour.bans.unblock_peer(peer);
            behaviour.gossipsub.remove_blacklisted_peer(&peer);
            tracing::info!(%peer, "ban expired");
        }
        let threshold = self.config.bans.ban_below_score;
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let low: Vec<(PeerId, f64)> = self
            .swarm
            .connected_peers()
            .filter_map(|p| Some((*p, gossipsub.peer_score(p)?)))
            .filter(|(p, score)| {
                *score < threshold
                    && self
                        .score_at_ban
                        .get(p)
                        .is_none_or(|at_ban| *score < *at_ban - 1.0)
            })
            .collect();
        for (peer, score) in low {
            self.score_at_ban.insert(peer, score);
            self.ban(peer, self.config.bans.ban_duration);
        }
        self.prune_rpc_channels();
        self.manage_connections();
        let records = self.swarm.behaviour_mut().kad.store_mut().len();
        self.metrics
            .dht_records
            .set(i64::try_from(records).unwrap_or(i64::MAX));
    }

    fn status(&mut self) -> Status {
        let now = Instant::now();
        let behaviour = self.swarm.behaviour_mut();
        let routing_table_peers = behaviour
            .kad
            .kbuckets()
            .map(|b| b.num_entries())
            .sum::<usize>();
        let dht_records = behaviour.kad.store_mut().len();
        let gossipsub = &behaviour.gossipsub;
        let topics = self
            .config
            .topics
            .iter()
            .map(|t| {
                let hash = t.hash();
                TopicStatus {
                    name: t.name().to_string(),
                    topic: t.topic_string(),
                    mesh_peers: gossipsub.mesh_peers(&hash).count(),
                    subscribed_peers: gossipsub
                        .all_peers()
                        .filter(|(_, topics)| topics.contains(&&hash))
                        .count(),
                }
            })
            .collect();
        Status {
            peer_id: self.swarm.local_peer_id().to_string(),
            listen_addrs: self.listen_addrs.iter().map(|a| a.to_string()).collect(),
            connected_peers: self
                .swarm
                .connected_peers()
                .map(|p| p.to_string())
                .collect(),
            dht_mode: self.config.dht_mode,
            routing_table_peers,
            dht_records,
            topics,
            bans: self
                .bans
                .iter()
                .map(|(peer, until)| BanStatus {
                    peer: peer.to_string(),
                    seconds_left: until.saturating_duration_since(now).as_secs(),
                })
                .collect(),
            counters: self.metrics.counters(),
        }
    }
}
