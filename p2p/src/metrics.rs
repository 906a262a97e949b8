//! autonet's own overlay metrics, registered next to libp2p's (which [`crate::behaviour`] and the
//! event loop record into the same registry).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::status::Counters;

/// Counters and gauges of one node.
#[derive(Debug, Clone, Default)]
pub struct NetMetrics {
    /// Gossip messages published by this node.
    pub messages_published: Counter,
    /// Valid gossip envelopes handed to the application.
    pub messages_received: Counter,
    /// Gossip messages dropped before the application saw them (bad envelope, unknown topic).
    pub messages_invalid: Counter,
    /// Gossip messages the application rejected.
    pub messages_rejected: Counter,
    /// Peers banned for a low gossipsub score.
    pub peers_banned: Counter,
    /// Inbound connections refused because the peer is banned.
    pub connections_refused_banned: Counter,
    /// Peers disconnected for announcing another protocol version.
    pub version_mismatches: Counter,
    /// Inbound transfer and RPC requests answered.
    pub requests_served: Counter,
    /// Inbound requests refused by the per-peer rate limit.
    pub requests_rate_limited: Counter,
    /// Events dropped because the application's channel was full.
    pub events_dropped: Counter,
    /// Peers disconnected to keep the connection count near its target.
    pub peers_pruned: Counter,
    /// Relayed connections upgraded to direct ones by hole punching (DCUtR).
    pub hole_punches_succeeded: Counter,
    /// Hole punches that failed (the connection stays relayed).
    pub hole_punches_failed: Counter,
    /// Relayed connections closed because a direct one to the same peer was open.
    pub relayed_closed_for_direct: Counter,
    /// Peers with at least one open connection.
    pub connected_peers: Gauge,
    /// Records in the local DHT store.
    pub dht_records: Gauge,
}

impl NetMetrics {
    /// Creates the metrics and registers them under the `autonet_p2p` prefix.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        let r = registry.sub_registry_with_prefix("autonet_p2p");
        let counters: [(&str, &str, &Counter); 14] = [
            (
                "messages_published",
                "Gossip messages published",
                &m.messages_published,
            ),
            (
                "messages_received",
                "Valid gossip envelopes received",
                &m.messages_received,
            ),
            (
                "messages_invalid",
                "Gossip messages with a bad envelope",
                &m.messages_invalid,
            ),
            (
                "messages_rejected",
                "Gossip messages the application rejected",
                &m.messages_rejected,
            ),
            (
                "peers_banned",
                "Peers banned for a low score",
                &m.peers_banned,
            ),
            (
                "connections_refused_banned",
                "Connections refused from banned peers",
                &m.connections_refused_banned,
            ),
            (
                "version_mismatches",
                "Peers dropped for an incompatible protocol version",
                &m.version_mismatches,
            ),
            (
                "requests_served",
                "Transfer requests answered",
                &m.requests_served,
            ),
            (
                "requests_rate_limited",
                "Transfer requests refused by the rate limit",
                &m.requests_rate_limited,
            ),
            (
                "events_dropped",
                "Events dropped because the application lagged",
                &m.events_dropped,
            ),
            (
                "peers_pruned",
                "Peers disconnected to keep the connection count near its target",
                &m.peers_pruned,
            ),
            (
                "hole_punches_succeeded",
                "Relayed connections upgraded to direct ones by hole punching",
                &m.hole_punches_succeeded,
            ),
            (
                "hole_punches_failed",
                "Hole punches that failed",
                &m.hole_punches_failed,
            ),
            (
                "relayed_closed_for_direct",
                "Relayed connections closed because a direct one was open",
                &m.relayed_closed_for_direct,
            ),
        ];
        for (name, help, counter) in counters {
            r.register(name, help, counter.clone());
        }
        r.register(
            "connected_peers",
            "Peers with an open connection",
            m.connected_peers.clone(),
        );
        r.register(
            "dht_records",
            "Records in the local DHT store",
            m.dht_records.clone(),
        );
        m
    }

    /// The counters as plain numbers for the status endpoint.
    pub fn counters(&self) -> Counters {
        Counters {
            messages_published: self.messages_published.get(),
            messages_received: self.messages_received.get(),
            messages_invalid: self.messages_invalid.get(),
            messages_rejected: self.messages_rejected.get(),
            peers_banned: self.peers_banned.get(),
            connections_refused_banned: self.connections_refused_banned.get(),
            version_mismatches: self.version_mismatches.get(),
            requests_served: self.requests_served.get(),
            requests_rate_limited: self.requests_rate_limited.get(),
            events_dropped: self.events_dropped.get(),
            peers_pruned: self.peers_pruned.get(),
            hole_punches_succeeded: self.hole_punches_succeeded.get(),
            hole_punches_failed: self.hole_punches_failed.get(),
            relayed_closed_for_direct: self.relayed_closed_for_direct.get(),
        }
    }
}
