//! Every open connection of a node, and whether it runs through a relay.
//!
//! Why: a relayed connection costs the relay bandwidth and is cut when its circuit hits the
//! relay's limits, so once hole punching (or an ordinary dial) gives a direct connection to the
//! same peer, the relayed one is closed ([`relayed_to_close`]). A peer reachable only through a
//! relay keeps its relayed connection: it is the only way to it.

use std::collections::{BTreeMap, HashSet};

use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

/// One open connection, as the status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    /// The remote peer's id.
    pub peer: String,
    /// The remote address (a `/p2p-circuit` address when relayed).
    pub address: String,
    /// Whether the connection runs through a relay.
    pub relayed: bool,
    /// Whether this node dialed it.
    pub outbound: bool,
}

/// Whether `addr` goes through a relay (it contains `/p2p-circuit`).
pub fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| matches!(p, Protocol::P2pCircuit))
}

/// One open connection.
#[derive(Debug, Clone)]
struct Open {
    id: ConnectionId,
    address: Multiaddr,
    relayed: bool,
    outbound: bool,
}

/// The open connections of a node, per peer.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    by_peer: BTreeMap<PeerId, Vec<Open>>,
    /// Connections asked to close and not closed yet (asked once only).
    closing: HashSet<ConnectionId>,
}

impl Connections {
    /// Records an established connection.
    pub(crate) fn opened(&mut self, peer: PeerId, id: ConnectionId, endpoint: &ConnectedPoint) {
        let address = endpoint.get_remote_address().clone();
        let relayed = endpoint.is_relayed() || is_relayed(&address);
        self.by_peer.entry(peer).or_default().push(Open {
            id,
            address,
            relayed,
            outbound: endpoint.is_dialer(),
        });
    }

    /// Forgets a closed connection.
    pub(crate) fn closed(&mut self, peer: &PeerId, id: ConnectionId) {
        self.closing.remove(&id);
        if let Some(open) = self.by_peer.get_mut(peer) {
            open.retain(|c| c.id != id);
            if open.is_empty() {
                self.by_peer.remove(peer);
            }
        }
    }

    /// The relayed connections to close because a direct one to the same peer is open; each
    /// is returned once (it counts as closing from then on).
    pub(crate) fn redundant_relayed(&mut self) -> Vec<ConnectionId> {
        let redundant: Vec<ConnectionId> = self
            .by_peer
            .values()
            .flat_map(|open| {
                let kinds: Vec<(ConnectionId, bool)> =
                    open.iter().map(|c| (c.id, c.relayed)).collect();
                relayed_to_close(&kinds)
            })
            .filter(|id| !self.closing.contains(id))
            .collect();
        self.closing.extend(redundant.iter().copied());
        redundant
    }

    /// Every open connection, for the status.
    pub(crate) fn status(&self) -> Vec<ConnectionStatus> {
        self.by_peer
            .iter()
            .flat_map(|(peer, open)| {
                open.iter().map(move |c| ConnectionStatus {
                    peer: peer.to_string(),
                    address: c.address.to_string(),
                    relayed: c.relayed,
                    outbound: c.outbound,
                })
            })
            .collect()
    }
}

/// Given one peer's connections as `(id, relayed)`, the relayed ones to close: all of them when
/// a direct one exists, none otherwise.
pub fn relayed_to_close<I: Copy>(connections: &[(I, bool)]) -> Vec<I> {
    if connections.iter().all(|(_, relayed)| *relayed) {
        return Vec::new();
    }
    connections
        .iter()
        .filter(|(_, relayed)| *relayed)
        .map(|(id, _)| *id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direct_connection_makes_the_relayed_ones_redundant() {
        assert_eq!(
            relayed_to_close(&[(1, true), (2, false), (3, true)]),
            vec![1, 3]
        );
    }

    #[test]
    fn a_relayed_only_peer_keeps_its_connections() {
        assert!(relayed_to_close(&[(1, true), (2, true)]).is_empty());
        assert!(relayed_to_close::<u8>(&[]).is_empty());
    }

    #[test]
    fn direct_connections_are_never_closed() {
        assert!(relayed_to_close(&[(1, false), (2, false)]).is_empty());
    }

    #[test]
    fn circuit_addresses_count_as_relayed() {
        let relayed: Multiaddr = "/ip4/10.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"
            .parse()
            .expect("valid multiaddr");
        let direct: Multiaddr = "/ip4/10.0.0.1/tcp/4001".parse().expect("valid multiaddr");
        assert!(is_relayed(&relayed));
        assert!(!is_relayed(&direct));
    }

    #[test]
    fn the_tracker_closes_only_redundant_relayed_connections() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let relayed = ConnectedPoint::Dialer {
            address: "/ip4/10.0.0.1/tcp/1/p2p-circuit".parse().expect("addr"),
            role_override: libp2p::core::Endpoint::Dialer,
            port_use: libp2p::core::transport::PortUse::New,
        };
        let direct = ConnectedPoint::Listener {
            local_addr: "/ip4/10.0.0.2/tcp/2".parse().expect("addr"),
            send_back_addr: "/ip4/10.0.0.3/tcp/3".parse().expect("addr"),
        };
        let mut connections = Connections::default();
        let ids = [0, 1, 2].map(ConnectionId::new_unchecked);
        connections.opened(a, ids[0], &relayed);
        connections.opened(b, ids[1], &relayed);
        assert!(connections.redundant_relayed().is_empty());
        connections.opened(a, ids[2], &direct);
        assert_eq!(connections.redundant_relayed(), vec![ids[0]]);
        // Asked once: the next check does not close it again.
        assert!(connections.redundant_relayed().is_empty());
        connections.closed(&a, ids[0]);
        assert!(connections.redundant_relayed().is_empty());
        assert_eq!(connections.status().len(), 2);
    }
}
