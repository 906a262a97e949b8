//! How the [`EventLoop`] acts on NAT traversal: AutoNAT's reachability decides whether the node
//! reserves a slot on its bootstrap relays, relay and hole-punch outcomes are logged and
//! counted, and a relayed connection is closed once a direct one to the same peer is open.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, autonat, dcutr, relay};

use crate::connections::is_relayed;
use crate::event_loop::{EventLoop, peer_id_of};
use crate::nat::{Reachability, RelayUse};

/// How long after a reservation failed or expired the node asks that relay again. Short
/// enough that a NATed node is reachable again soon after its relay restarts, long enough not
/// to hammer a relay that refuses it (its own rate limiter would then refuse it longer).
const RESERVATION_RETRY: Duration = Duration::from_secs(10);

/// The node's relay reservations: the circuit listener on each relay, and when a failed one may
/// be tried again.
#[derive(Debug, Default)]
pub(crate) struct Reservations {
    listeners: HashMap<Multiaddr, ListenerId>,
    retry_at: HashMap<Multiaddr, Instant>,
}

impl EventLoop {
    /// Relays the node may reserve a slot on: its bootstrap peers reached directly (a
    /// bootstrap address that is itself a circuit names a NATed peer, not a relay).
    fn relay_addrs(&self) -> Vec<Multiaddr> {
        let local = *self.swarm.local_peer_id();
        self.config
            .bootstrap
            .iter()
            .filter(|a| !is_relayed(a) && peer_id_of(a).is_some_and(|p| p != local))
            .map(|a| a.clone().with(Protocol::P2pCircuit))
            .collect()
    }

    /// Whether the node wants relay reservations now.
    fn wants_relays(&self) -> bool {
        match self.config.nat.use_relays {
            RelayUse::Always => true,
            RelayUse::Never => false,
            RelayUse::Auto => self.reachability == Reachability::Private,
        }
    }

    /// Reserves on every relay that has none (and is not waiting to retry), or gives every
    /// reservation up when the node does not want them; runs on the periodic check and when
    /// the reachability changes.
    pub(crate) fn update_relay_reservations(&mut self) {
        if !self.wants_relays() {
            for (addr, id) in self.reservations.listeners.drain() {
                tracing::info!(relay = %addr, "giving up relay reservation");
                self.swarm.remove_listener(id);
            }
            return;
        }
        let now = Instant::now();
        for addr in self.relay_addrs() {
            let waiting = self
                .reservations
                .retry_at
                .get(&addr)
                .is_some_and(|at| *at > now);
            if self.reservations.listeners.contains_key(&addr) || waiting {
                continue;
            }
            match self.swarm.listen_on(addr.clone()) {
                Ok(id) => {
                    tracing::info!(relay = %addr, "requesting relay reservation");
                    self.reservations.listeners.insert(addr, id);
                }
                Err(err) => {
                    tracing::warn!(relay = %addr, %err, "cannot request relay reservation");
                    self.reservations
                        .retry_at
                        .insert(addr, now + RESERVATION_RETRY);
                }
            }
        }
    }

    /// A listener closed: if it was a relay reservation, try again after [`RESERVATION_RETRY`].
    pub(crate) fn on_listener_closed(&mut self, id: ListenerId, reason: &str) {
        let closed: Vec<Multiaddr> = self
            .reservations
            .listeners
            .iter()
            .filter(|(_, l)| **l == id)
            .map(|(a, _)| a.clone())
            .collect();
        for addr in closed {
            tracing::warn!(relay = %addr, %reason, "relay reservation ended");
            self.reservations.listeners.remove(&addr);
            self.reservations
                .retry_at
                .insert(addr, Instant::now() + RESERVATION_RETRY);
        }
    }

    pub(crate) fn on_autonat(&mut self, event: autonat::v1::Event) {
        if let autonat::v1::Event::StatusChanged { old, new } = event {
            self.reachability = Reachability::from(&new);
            tracing::info!(?old, ?new, "reachability changed");
            self.update_relay_reservations();
        }
    }

    pub(crate) fn on_relay_client(&mut self, event: relay::client::Event) {
        match event {
            relay::client::Event::ReservationReqAccepted { relay_peer_id, .. } => {
                tracing::info!(relay = %relay_peer_id, "relay reservation accepted");
            }
            relay::client::Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
                tracing::debug!(relay = %relay_peer_id, "outbound relayed circuit open");
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
                tracing::debug!(from = %src_peer_id, "inbound relayed circuit open");
            }
        }
    }

    pub(crate) fn on_relay_server(&mut self, event: relay::Event) {
        tracing::debug!(?event, "relay server");
    }

    pub(crate) fn on_dcutr(&mut self, event: dcutr::Event) {
        match event.result {
            Ok(connection) => {
                tracing::info!(peer = %event.remote_peer_id, ?connection, "hole punch succeeded: direct connection");
                self.metrics.hole_punches_succeeded.inc();
            }
            Err(err) => {
                tracing::info!(peer = %event.remote_peer_id, %err, "hole punch failed; staying on the relay");
                self.metrics.hole_punches_failed.inc();
            }
        }
    }

    /// Closes relayed connections to peers that also have a direct one
    /// ([`crate::connections::relayed_to_close`]).
    pub(crate) fn prefer_direct(&mut self) {
        for id in self.connections.redundant_relayed() {
            if self.swarm.close_connection(id) {
                tracing::debug!(?id, "closing relayed connection: a direct one is open");
                self.metrics.relayed_closed_for_direct.inc();
            }
        }
    }
}
