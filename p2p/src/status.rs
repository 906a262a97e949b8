//! A snapshot of a node's overlay state, served as JSON by the node's status endpoint.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::DhtMode;
use crate::connections::ConnectionStatus;
use crate::event_loop::EventLoop;
use crate::nat::Reachability;

/// What a node sees right now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// This node's peer id (base58).
    pub peer_id: String,
    /// Addresses the swarm is listening on, as multiaddr strings.
    pub listen_addrs: Vec<String>,
    /// Addresses announced to other peers as this node's public ones (configured or confirmed).
    pub external_addrs: Vec<String>,
    /// Peer ids with at least one open connection.
    pub connected_peers: Vec<String>,
    /// Every open connection, with whether it runs through a relay.
    #[serde(default)]
    pub connections: Vec<ConnectionStatus>,
    /// What AutoNAT has learnt: can other peers dial this node?
    #[serde(default)]
    pub reachability: Reachability,
    /// The agent version each connected peer announced in identify (`autonet/<version>
    /// core/<protected fingerprint>` for autonet nodes), by peer id.
    #[serde(default)]
    pub peer_agents: std::collections::BTreeMap<String, String>,
    /// Whether this node answers DHT queries.
    pub dht_mode: DhtMode,
    /// Peers in the Kademlia routing table.
    pub routing_table_peers: usize,
    /// Value records held in the local DHT store.
    pub dht_records: usize,
    /// Every topic this node is subscribed to.
    pub topics: Vec<TopicStatus>,
    /// Peers banned right now.
    pub bans: Vec<BanStatus>,
    /// Running totals since the node started.
    pub counters: Counters,
}

/// One subscribed topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicStatus {
    /// Short name of the topic (`tasks`, `commits`, …).
    pub name: String,
    /// Full gossipsub topic string (`/autonet/1/<name>/cbor`).
    pub topic: String,
    /// Peers in our gossipsub mesh for this topic.
    pub mesh_peers: usize,
    /// Connected peers subscribed to it.
    pub subscribed_peers: usize,
}

/// One active ban.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BanStatus {
    /// The banned peer's id.
    pub peer: String,
    /// Whole seconds until the ban is lifted.
    pub seconds_left: u64,
}

/// Running totals since start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Gossip messages this node published.
    pub messages_published: u64,
    /// Valid envelopes handed to the application.
    pub messages_received: u64,
    /// Messages rejected before the application saw them (bad envelope, unknown topic).
    pub messages_invalid: u64,
    /// Messages the application rejected.
    pub messages_rejected: u64,
    /// Peers banned for a gossipsub score below the ban threshold.
    pub peers_banned: u64,
    /// Inbound connections refused because the peer is banned.
    pub connections_refused_banned: u64,
    /// Peers disconnected for announcing another protocol version.
    pub version_mismatches: u64,
    /// Inbound transfer and RPC requests answered.
    pub requests_served: u64,
    /// Inbound requests refused because the peer exceeded its request rate.
    pub requests_rate_limited: u64,
    /// Events dropped because the application's channel was full.
    pub events_dropped: u64,
    /// Peers disconnected to keep the connection count near its target.
    #[serde(default)]
    pub peers_pruned: u64,
    /// Relayed connections upgraded to direct ones by hole punching.
    #[serde(default)]
    pub hole_punches_succeeded: u64,
    /// Hole punches that failed (the connection stayed relayed).
    #[serde(default)]
    pub hole_punches_failed: u64,
    /// Relayed connections closed because a direct one to the same peer was open.
    #[serde(default)]
    pub relayed_closed_for_direct: u64,
}

impl EventLoop {
    /// A snapshot of the node for [`crate::Client::status`].
    pub(crate) fn status(&mut self) -> Status {
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
            external_addrs: self
                .swarm
                .external_addresses()
                .map(ToString::to_string)
                .collect(),
            connected_peers: self
                .swarm
                .connected_peers()
                .map(|p| p.to_string())
                .collect(),
            connections: self.connections.status(),
            reachability: self.reachability,
            peer_agents: self
                .agents
                .iter()
                .map(|(p, a)| (p.to_string(), a.clone()))
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
