//! The composed libp2p behaviour and the swarm built around it.
//!
//! Order matters for connection gating: connection limits and the ban list come first, so a banned
//! or over-limit peer is refused before any protocol handler is set up for it.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::time::Duration;

use libp2p::core::{Transport, upgrade};
use libp2p::gossipsub::{
    self, IdentityTransform, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds,
    TopicScoreParams, ValidationMode, WhitelistSubscriptionFilter,
};
use libp2p::identity::Keypair;
use libp2p::kad::{self, StoreInserts};
use libp2p::request_response::{self, ProtocolSupport, cbor};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    PeerId, Swarm, SwarmBuilder, allow_block_list, autonat, connection_limits, dcutr, identify,
    noise, ping, relay, tcp, yamux,
};
use prometheus_client::registry::Registry;

use crate::config::{DhtMode, KAD_PROTOCOL, NetworkConfig, TRANSFER_PROTOCOL};
use crate::dht_store::DhtStore;
use crate::envelope::MAX_ENVELOPE_BYTES;
use crate::link_delay::DelayedRead;
use crate::relay_server::RelayServer;
use crate::rpc::{
    MAX_RPC_REQUEST_BYTES, MAX_RPC_RESPONSE_BYTES, RPC_PROTOCOL, RpcRequest, RpcResponse,
};
use crate::transfer::{ChunkRequest, ChunkResponse, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};
use crate::{GossipTopic, P2pError};

/// The gossipsub behaviour with a whitelist of protocol topics (no catch-all).
pub type Gossipsub = gossipsub::Behaviour<IdentityTransform, WhitelistSubscriptionFilter>;

pub use composed::{Behaviour, BehaviourEvent};

// The derive also generates `BehaviourEvent`, whose variants it leaves undocumented; this module
// confines the `missing_docs` exemption to those two generated items.
#[allow(missing_docs)]
mod composed {
    use super::*;

    /// Every protocol an autonet node speaks.
    // Most sub-behaviours do not implement Debug, so neither can this.
    #[allow(missing_debug_implementations)]
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        /// Refuses connections beyond [`crate::Limits`] before any protocol is negotiated.
        pub limits: connection_limits::Behaviour,
        /// Refuses connections from banned peers.
        pub bans: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
        /// Exchanges protocol versions and listen addresses; a version mismatch disconnects.
        pub identify: identify::Behaviour,
        /// Liveness and round-trip time of each connection.
        pub ping: ping::Behaviour,
        /// AutoNAT: asks peers to dial this node back (is it reachable?) and answers their
        /// probes ([`crate::nat`]).
        pub autonat: autonat::v1::Behaviour,
        /// Circuit relay v2 server: relays for NATed peers within the configured limits (off
        /// with `relay_server = false`); guarded by [`RelayServer`].
        pub relay: Toggle<RelayServer>,
        /// Relay client: reservations on relays, and dials through `/p2p-circuit` addresses.
        pub relay_client: relay::client::Behaviour,
        /// DCUtR hole punching: upgrades a relayed connection to a direct one (off with
        /// `hole_punching = false`).
        pub dcutr: Toggle<dcutr::Behaviour>,
        /// The DHT, under autonet's own protocol name, backed by the redb-backed [`DhtStore`].
        pub kad: kad::Behaviour<DhtStore>,
        /// Signed, strictly validated gossip with peer scoring.
        pub gossipsub: Gossipsub,
        /// Chunked content transfer ([`crate::transfer`]).
        pub transfer: cbor::Behaviour<ChunkRequest, ChunkResponse>,
        /// Requests to named application services ([`crate::rpc`]).
        pub rpc: cbor::Behaviour<RpcRequest, RpcResponse>,
    }
}

/// Builds the swarm: TCP and QUIC transports (noise + yamux on TCP), bandwidth metrics, and the
/// behaviour. Registers libp2p's own metrics in `registry`.
pub fn build_swarm(
    config: &NetworkConfig,
    store: DhtStore,
    registry: &mut Registry,
) -> Result<Swarm<Behaviour>, P2pError> {
    if let Some(delay) = config.link_delay {
        return build_delayed_swarm(config, store, registry, delay);
    }
    let swarm = SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_quic()
        // `/dns4`, `/dns6` and `/dns` addresses (bootstrap nodes by name), resolved with the
        // system's resolver configuration.
        .with_dns()
        .map_err(|e| P2pError::Transport(format!("DNS resolver: {e}")))?
        // Dials to and listens on `/p2p-circuit` addresses go through the relay transport.
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| P2pError::Transport(format!("relay client: {e}")))?
        .with_bandwidth_metrics(registry)
        .with_behaviour(|key, relay_client| {
            build_behaviour(key, config, store, relay_client, registry)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_timeout))
        .build();
    Ok(swarm)
}

/// The same swarm with the same TCP upgrade stack (multistream V1Lazy, noise, yamux) as
/// `with_tcp` builds, but every TCP stream wrapped in a [`DelayedRead`] (emulated link latency,
/// benchmarks only).
fn build_delayed_swarm(
    config: &NetworkConfig,
    store: DhtStore,
    registry: &mut Registry,
    delay: Duration,
) -> Result<Swarm<Behaviour>, P2pError> {
    let swarm = SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_quic()
        .with_other_transport(|key| {
            let noise = noise::Config::new(key)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(
                tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
                    .map(move |stream, _| DelayedRead::new(stream, delay))
                    .upgrade(upgrade::Version::V1Lazy)
                    .authenticate(noise)
                    .multiplex(yamux::Config::default()),
            )
        })
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| P2pError::Transport(format!("relay client: {e}")))?
        .with_bandwidth_metrics(registry)
        .with_behaviour(|key, relay_client| {
            build_behaviour(key, config, store, relay_client, registry)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_timeout))
        .build();
    Ok(swarm)
}

fn build_behaviour(
    key: &Keypair,
    config: &NetworkConfig,
    store: DhtStore,
    relay_client: relay::client::Behaviour,
    registry: &mut Registry,
) -> Result<Behaviour, P2pError> {
    let peer_id = key.public().to_peer_id();
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(config.limits.max_established))
        .with_max_established_per_peer(Some(config.limits.max_established_per_peer))
        .with_max_pending_incoming(Some(config.limits.max_pending_incoming));

    let identify = identify::Behaviour::new(
        identify::Config::new(config.protocol_version.clone(), key.public())
            .with_agent_version(config.agent_version.clone())
            // A new relay reservation (`…/p2p-circuit`) must reach peers at once, not at the
            // next periodic identify: it is how they can dial a NATed node.
            .with_push_listen_addr_updates(true),
    );
    let nat = &config.nat;
    let relay = nat
        .relay_server
        .then(|| RelayServer::new(relay::Behaviour::new(peer_id, nat.relay_config())));
    let dcutr = nat.hole_punching.then(|| dcutr::Behaviour::new(peer_id));

    let mut kad_config = kad::Config::new(KAD_PROTOCOL);
    kad_config
        .set_record_filtering(StoreInserts::FilterBoth)
        // The event loop refreshes the buckets itself, at a per-node phase (see `phase_of`).
        .set_periodic_bootstrap_interval(None)
        .set_max_packet_size(config.limits.max_record_bytes + 16 * 1024)
        .set_query_timeout(Duration::from_secs(30))
        .set_record_ttl(Some(Duration::from_secs(48 * 3600)))
        .set_replication_interval(Some(Duration::from_secs(3600)))
        .set_publication_interval(Some(Duration::from_secs(22 * 3600)));
    if let Some(k) = NonZeroUsize::new(20) {
        kad_config.set_replication_factor(k);
    }
    let mut kad = kad::Behaviour::with_config(peer_id, store, kad_config);
    kad.set_mode(Some(match config.dht_mode {
        DhtMode::Server => kad::Mode::Server,
        DhtMode::Client => kad::Mode::Client,
    }));

    let gossipsub = build_gossipsub(key, config, registry)?;

    let codec = cbor::codec::Codec::default()
        .set_request_size_maximum(MAX_REQUEST_BYTES)
        .set_response_size_maximum(MAX_RESPONSE_BYTES);
    let transfer = request_response::Behaviour::with_codec(
        codec,
        [(TRANSFER_PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
    );

    let rpc_codec = cbor::codec::Codec::default()
        .set_request_size_maximum(MAX_RPC_REQUEST_BYTES)
        .set_response_size_maximum(MAX_RPC_RESPONSE_BYTES);
    // Long timeout: a request may wait for a paced uplink or for long work (a shard holder
    // answers a Hold once it has the shard); many streams: a shard download keeps several chunk
    // requests in flight, and a peer may run several downloads from one holder.
    let rpc = request_response::Behaviour::with_codec(
        rpc_codec,
        [(RPC_PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(config.rpc_timeout)
            .with_max_concurrent_streams(256),
    );

    Ok(Behaviour {
        limits: connection_limits::Behaviour::new(limits),
        bans: allow_block_list::Behaviour::default(),
        identify,
        ping: ping::Behaviour::default(),
        autonat: autonat::v1::Behaviour::new(peer_id, nat.autonat_config()),
        relay: relay.into(),
        relay_client,
        dcutr: dcutr.into(),
        kad,
        gossipsub,
        transfer,
        rpc,
    })
}

/// Message id = BLAKE3 of the message data (the signed envelope bytes).
fn content_message_id(message: &gossipsub::Message) -> MessageId {
    MessageId::from(blake3::hash(&message.data).as_bytes().to_vec())
}

/// A per-node phase within `period`, taken from its peer id. Nodes started together (a restart,
/// an in-process testnet) would otherwise run their periodic work (gossipsub heartbeats, DHT
/// walks) in step, and its cost would arrive in one burst on every node at once.
pub(crate) fn phase_of(peer: &PeerId, period: Duration) -> Duration {
    let period = u64::try_from(period.as_micros()).unwrap_or(u64::MAX).max(1);
    Duration::from_micros(hash_peers(&[peer]) % period)
}

/// A number derived from `peers` (BLAKE3 of their ids, in order): the same on every run, and
/// spread evenly, for per-node phases and per-node orders.
pub(crate) fn hash_peers(peers: &[&PeerId]) -> u64 {
    let mut hasher = blake3::Hasher::new();
    for peer in peers {
        hasher.update(&peer.to_bytes());
    }
    let mut first = [0u8; 8];
    first.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    u64::from_le_bytes(first)
}

fn build_gossipsub(
    key: &Keypair,
    config: &NetworkConfig,
    registry: &mut Registry,
) -> Result<Gossipsub, P2pError> {
    let p = &config.gossip;
    let gossip_config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(p.heartbeat)
        .heartbeat_initial_delay(
            Duration::from_millis(100) + phase_of(&key.public().to_peer_id(), p.heartbeat),
        )
        .mesh_n(p.mesh_n)
        .mesh_n_low(p.mesh_n_low)
        .mesh_n_high(p.mesh_n_high)
        .validation_mode(ValidationMode::Strict)
        .validate_messages()
        .message_id_fn(content_message_id)
        // Oversized envelopes up to 4x the limit still reach validation, so the sender is
        // penalised; anything larger is dropped by the codec.
        .max_transmit_size(4 * MAX_ENVELOPE_BYTES)
        .build()
        .map_err(|e| P2pError::Config(format!("gossipsub: {e}")))?;
    let filter = WhitelistSubscriptionFilter(GossipTopic::ALL.iter().map(|t| t.hash()).collect());
    let mut gossipsub = Gossipsub::new_with_subscription_filter(
        MessageAuthenticity::Signed(key.clone()),
        gossip_config,
        filter,
    )
    .map_err(|e| P2pError::Config(format!("gossipsub: {e}")))?
    .with_metrics(
        registry.sub_registry_with_prefix("gossipsub"),
        Default::default(),
    );
    let (params, thresholds) = score_params();
    gossipsub
        .with_peer_score(params, thresholds)
        .map_err(|e| P2pError::Config(format!("gossipsub scoring: {e}")))?;
    Ok(gossipsub)
}

/// Peer-score parameters. Invalid messages (bad signature, bad envelope, application `Reject`)
/// weigh heavily (P4 = -30 × count², decaying slowly), so two of them push a peer below the
/// graylist threshold (-80), where its RPCs are ignored and the event loop bans it; IP colocation is not penalised because test networks and
/// NATed hosts share addresses; mesh-delivery deficits are off so a slow but honest peer on a
/// loaded machine is not punished.
pub fn score_params() -> (PeerScoreParams, PeerScoreThresholds) {
    let topic = TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 100.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.5,
        first_message_deliveries_cap: 50.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -30.0,
        invalid_message_deliveries_decay: 0.99,
        ..TopicScoreParams::default()
    };
    let params = PeerScoreParams {
        topics: GossipTopic::ALL
            .iter()
            .map(|t| (t.hash(), topic.clone()))
            .collect(),
        topic_score_cap: 50.0,
        ip_colocation_factor_weight: 0.0,
        ip_colocation_factor_whitelist: HashSet::new(),
        behaviour_penalty_weight: -1.0,
        behaviour_penalty_threshold: 6.0,
        behaviour_penalty_decay: 0.9,
        ..PeerScoreParams::default()
    };
    (params, PeerScoreThresholds::default())
}
