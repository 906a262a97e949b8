//! Settings of one overlay node. [`NetworkConfig::new`] gives production defaults; tests and the
//! harness shorten the timers.

use std::path::PathBuf;
use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::{Multiaddr, StreamProtocol};

use crate::GossipTopic;
use crate::nat::NatConfig;
use crate::peer_manager::PeerTargets;

/// Protocol version announced by identify; peers announcing another one are disconnected.
pub const PROTOCOL_VERSION: &str = "/autonet/1.0.0";

/// Kademlia protocol name (our own, so autonet never mixes into the public IPFS DHT).
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/autonet/kad/1.0.0");

/// Request-response protocol name for chunked content transfer.
pub const TRANSFER_PROTOCOL: StreamProtocol = StreamProtocol::new("/autonet/transfer/1.0.0");

/// Whether this node answers DHT queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DhtMode {
    /// Bootstrap and full peers: answer queries and store records for others.
    Server,
    /// Light peers: query only.
    Client,
}

/// Gossipsub mesh parameters.
#[derive(Debug, Clone)]
pub struct GossipParams {
    /// Target mesh degree D.
    pub mesh_n: usize,
    /// Below this many mesh peers a topic's mesh is topped up at the next heartbeat.
    pub mesh_n_low: usize,
    /// Above this many mesh peers a topic's mesh is pruned back to `mesh_n`.
    pub mesh_n_high: usize,
    /// Interval of gossipsub's heartbeat (mesh maintenance and gossip emission).
    pub heartbeat: Duration,
}

impl Default for GossipParams {
    fn default() -> Self {
        Self {
            mesh_n: 6,
            mesh_n_low: 4,
            mesh_n_high: 12,
            heartbeat: Duration::from_secs(1),
        }
    }
}

/// Resource limits.
/// (Also the config file's `[network.limits]` table: every field a key, missing ones default.)
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Established connections in total (inbound and outbound); more are refused.
    pub max_established: u32,
    /// Established connections to one peer.
    pub max_established_per_peer: u32,
    /// Inbound connections still in their handshake.
    pub max_pending_incoming: u32,
    /// Records in the DHT store.
    pub max_records: usize,
    /// Bytes of one DHT record value.
    pub max_record_bytes: usize,
    /// Inbound transfer requests (and RPCs to services without a budget of their own) a peer
    /// may make in a burst, and per second afterwards.
    pub request_burst: u32,
    /// Refill rate of the per-peer request budget (see `request_burst`).
    pub requests_per_second: u32,
    /// Items waiting in the command and event channels.
    pub channel_capacity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_established: 256,
            // A relayed and a direct connection, plus a short-lived AutoNAT dial-back or
            // hole-punch dial: with 2, the dial-back to a peer already holding two was refused
            // and a public node judged itself private (the namespace test).
            max_established_per_peer: 4,
            max_pending_incoming: 64,
            max_records: 16 * 1024,
            max_record_bytes: 64 * 1024,
            request_burst: 32,
            requests_per_second: 16,
            channel_capacity: 1024,
        }
    }
}

/// Peer scoring and banning.
#[derive(Debug, Clone)]
pub struct BanPolicy {
    /// A connected peer whose gossipsub score falls below this is banned. It matches gossipsub's
    /// graylist threshold: below it the peer's RPCs are ignored anyway.
    pub ban_below_score: f64,
    /// How long a ban lasts; redials are refused meanwhile.
    pub ban_duration: Duration,
    /// How often scores are checked and expired bans lifted.
    pub check_interval: Duration,
}

impl Default for BanPolicy {
    fn default() -> Self {
        Self {
            ban_below_score: -80.0,
            ban_duration: Duration::from_secs(3600),
            check_interval: Duration::from_secs(1),
        }
    }
}

/// Everything needed to start one node.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// The node's identity; its public key is the peer id.
    pub keypair: Keypair,
    /// Addresses to listen on (`/ip4/127.0.0.1/tcp/0`, `/ip4/0.0.0.0/udp/0/quic-v1`, …).
    pub listen: Vec<Multiaddr>,
    /// Bootstrap peers; each address must end in `/p2p/<peer id>`.
    pub bootstrap: Vec<Multiaddr>,
    /// Public addresses to announce (through identify, so into other peers' DHT routing
    /// tables) besides those the node learns: a node behind a port forward names its public
    /// address here.
    pub external_addrs: Vec<Multiaddr>,
    /// Whether this node answers DHT queries for others.
    pub dht_mode: DhtMode,
    /// redb file for DHT records; `None` keeps them in memory only.
    pub dht_store_path: Option<PathBuf>,
    /// Topics to subscribe to at start.
    pub topics: Vec<GossipTopic>,
    /// Gossipsub mesh sizes and heartbeat.
    pub gossip: GossipParams,
    /// Connection, DHT record, request-rate and channel limits.
    pub limits: Limits,
    /// When low-scoring peers are banned and for how long.
    pub bans: BanPolicy,
    /// Connection-count targets ([`crate::peer_manager`]).
    pub peers: PeerTargets,
    /// AutoNAT, relay and hole-punching settings ([`crate::nat`]).
    pub nat: NatConfig,
    /// Interval of Kademlia random walks (lookups of random ids that refresh the routing table).
    pub random_walk_interval: Duration,
    /// Announced by identify; see [`PROTOCOL_VERSION`].
    pub protocol_version: String,
    /// Announced by identify as the agent version: the node puts its release and core code
    /// fingerprint here (`autonet/<version> core/<hex>`), so peers see what code a peer runs.
    pub agent_version: String,
    /// Connections with no open stream are closed after this long.
    pub idle_timeout: Duration,
    /// How long an RPC ([`crate::rpc`]) waits for its answer, on both sides (the responder drops
    /// a request still unanswered by then). Long by default: a service may answer after long
    /// work (a shard host asked to hold a shard answers once it has downloaded it).
    pub rpc_timeout: Duration,
    /// Emulated one-way latency on every TCP link, for benchmarks on kernels without `netem`
    /// ([`crate::link_delay`]). `None` (the default) in production.
    pub link_delay: Option<Duration>,
    /// Where announced content is read from ([`crate::Client::serve_stored`]); `None` serves only
    /// what [`crate::Client::provide`] keeps in memory.
    pub content_source: Option<std::sync::Arc<dyn crate::transfer::ContentSource>>,
}

impl NetworkConfig {
    /// Production defaults: listen nowhere, DHT server, all topics.
    pub fn new(keypair: Keypair) -> Self {
        Self {
            keypair,
            listen: Vec::new(),
            bootstrap: Vec::new(),
            external_addrs: Vec::new(),
            dht_mode: DhtMode::Server,
            dht_store_path: None,
            topics: GossipTopic::ALL.to_vec(),
            gossip: GossipParams::default(),
            limits: Limits::default(),
            bans: BanPolicy::default(),
            peers: PeerTargets::default(),
            nat: NatConfig::default(),
            random_walk_interval: Duration::from_secs(60),
            protocol_version: PROTOCOL_VERSION.to_string(),
            agent_version: format!("autonet/{}", env!("CARGO_PKG_VERSION")),
            idle_timeout: Duration::from_secs(300),
            rpc_timeout: Duration::from_secs(120),
            link_delay: None,
            content_source: None,
        }
    }
}
