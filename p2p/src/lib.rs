//! The autonet overlay on libp2p.
//!
//! Bird's-eye view (filled in by the overlay issue): a swarm over TCP and QUIC with noise and yamux;
//! identify with a protocol-version gate, ping, Kademlia for small self-validating records and
//! provider records, gossipsub on typed topics with application-level validation before relay,
//! request-response for bulk transfers, connection limits and peer scoring. A cloneable `Client`
//! handle talks over bounded channels to an `EventLoop` that owns the swarm.
