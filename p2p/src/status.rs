//! A snapshot of a node's overlay state, served as JSON by the node's status endpoint.

use serde::{Deserialize, Serialize};

use crate::config::DhtMode;

/// What a node sees right now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub peer_id: String,
    pub listen_addrs: Vec<String>,
    pub connected_peers: Vec<String>,
    pub dht_mode: DhtMode,
    /// Peers in the Kademlia routing table.
    pub routing_table_peers: usize,
    /// Value records held in the local DHT store.
    pub dht_records: usize,
    pub topics: Vec<TopicStatus>,
    pub bans: Vec<BanStatus>,
    pub counters: Counters,
}

/// One subscribed topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicStatus {
    pub name: String,
    pub topic: String,
    /// Peers in our gossipsub mesh for this topic.
    pub mesh_peers: usize,
    /// Connected peers subscribed to it.
    pub subscribed_peers: usize,
}

/// One active ban.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BanStatus {
    pub peer: String,
    pub seconds_left: u64,
}

/// Running totals since start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub messages_published: u64,
    /// Valid envelopes handed to the application.
    pub messages_received: u64,
    /// Messages rejected before the application saw them (bad envelope, unknown topic).
    pub messages_invalid: u64,
    /// Messages the application rejected.
    pub messages_rejected: u64,
    pub peers_banned: u64,
    /// Inbound connections refused because the peer is banned.
    pub connections_refused_banned: u64,
    /// Peers disconnected for announcing another protocol version.
    pub version_mismatches: u64,
    pub requests_served: u64,
    pub requests_rate_limited: u64,
    /// Events dropped because the application's channel was full.
    pub events_dropped: u64,
    /// Peers disconnected to keep the connection count near its target.
    #[serde(default)]
    pub peers_pruned: u64,
}
