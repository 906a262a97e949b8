//! The [`EventLoop`]: owns the swarm, executes [`Command`]s, turns swarm events into
//! [`NetworkEvent`]s for the application, checks peer scores and lifts expired bans.
//!
//! Channels are bounded in both directions. Commands wait for room (back-pressure on callers);
//! events to the application are offered with `try_send`, and when the application lags a
//! message is reported `Ignore` (not relayed, no penalty) instead of blocking the swarm.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::MessageId;
use libp2p::kad::{QueryId, RecordKey};
use libp2p::request_response::{OutboundRequestId, ResponseChannel};
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId, Swarm};
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};

use crate::behaviour::{Behaviour, build_swarm, phase_of};
use crate::client::{Client, Command};
use crate::config::NetworkConfig;
use crate::connections::Connections;
use crate::dht_store::DhtStore;
use crate::metrics::NetMetrics;
use crate::nat::Reachability;
use crate::nat_events::Reservations;
use crate::peer_manager::PeerActivity;
use crate::records::ContentId;
use crate::rpc::{RpcId, RpcResponse, RpcRoute};
use crate::transfer::{ChunkResponse, ProvidedContent, RateLimiter};
use crate::{GossipTopic, P2pError};

pub(crate) type Reply<T> = oneshot::Sender<Result<T, P2pError>>;

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
    /// The RPC services the application serves ([`Client::serve_rpc`]), by name.
    pub(crate) rpc_routes: HashMap<String, RpcRoute>,
    pub(crate) provided: ProvidedContent,
    pub(crate) rate_limiter: RateLimiter,
    pub(crate) bans: HashMap<PeerId, Instant>,
    /// Score of each peer when it was last banned for its score. Gossipsub keeps (and does not
    /// decay) a disconnected peer's score, so after a ban expires the peer is banned again only
    /// if it misbehaves further, not for the same old offence.
    pub(crate) score_at_ban: HashMap<PeerId, f64>,
    pub(crate) bootstrap_peers: HashSet<PeerId>,
    /// Application penalties per peer (positive numbers; the score gets their negation).
    pub(crate) penalties: HashMap<PeerId, f64>,
    /// When each peer last connected or served a request ([`crate::peer_manager`]).
    pub(crate) activity: PeerActivity,
    /// Random walks so far.
    pub(crate) walks: u64,
    /// When a reconnection to a bootstrap peer last started a full DHT bootstrap.
    pub(crate) last_join_refresh: Option<std::time::Instant>,
    /// The agent version each connected peer announced in identify (its release and code
    /// fingerprint); forgotten when its last connection closes.
    pub(crate) agents: HashMap<PeerId, String>,
    /// Every open connection, relayed or direct ([`crate::connections`]).
    pub(crate) connections: Connections,
    /// What AutoNAT last said about this node.
    pub(crate) reachability: Reachability,
    /// Relay reservations held or being requested ([`crate::nat_events`]).
    pub(crate) reservations: Reservations,
}

/// A full bucket refresh replaces every this many random walks (5 minutes at the production
/// walk interval, Kademlia's default refresh period).
const WALKS_PER_REFRESH: u64 = 5;

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
    config.nat.validate()?;
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
    for addr in &config.external_addrs {
        swarm.add_external_address(addr.clone());
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
        rpc_routes: HashMap::new(),
        provided,
        rate_limiter,
        bans: HashMap::new(),
        score_at_ban: HashMap::new(),
        bootstrap_peers,
        penalties: HashMap::new(),
        activity: PeerActivity::default(),
        walks: 0,
        last_join_refresh: None,
        agents: HashMap::new(),
        connections: Connections::default(),
        reachability: Reachability::Unknown,
        reservations: Reservations::default(),
    };
    Ok((Client::new(peer_id, command_tx), event_rx, event_loop))
}

/// The peer id at the end of a `/p2p/<id>` multiaddr: the last one, so that a relayed address
/// (`<relay>/p2p/<relay id>/p2p-circuit/p2p/<id>`) names the peer behind the relay.
pub fn peer_id_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter()
        .filter_map(|p| match p {
            libp2p::multiaddr::Protocol::P2p(id) => Some(id),
            _ => None,
        })
        .last()
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
        self.prefer_direct();
        self.update_relay_reservations();
        let records = self.swarm.behaviour_mut().kad.store_mut().len();
        self.metrics
            .dht_records
            .set(i64::try_from(records).unwrap_or(i64::MAX));
    }
}
