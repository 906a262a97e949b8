//! The autonet overlay: a libp2p node with validated gossip, a self-validating DHT, chunked
//! content transfer and peer scoring.
//!
//! Bird's-eye view (the shape of rust-libp2p's file-sharing example):
//! - [`new`] builds a node from a [`NetworkConfig`] and returns a cloneable [`Client`], a bounded
//!   receiver of [`NetworkEvent`]s, and the [`EventLoop`] that owns the swarm (spawn
//!   [`EventLoop::run`]).
//! - [`behaviour`]: TCP + QUIC (noise, yamux), identify (protocol-version gate), ping, Kademlia
//!   (own protocol name, records filtered to key = BLAKE3(value), redb-backed [`DhtStore`]),
//!   gossipsub (signed, strict validation, content-hash ids, score parameters),
//!   request-response (two protocols: [`transfer`], CBOR chunks ≤ 1 MiB of content by id; and
//!   [`rpc`], named application services), connection limits and the ban list; bad RPC input
//!   lowers the sender's score until it is banned.
//! - [`envelope`]: the versioned, size-limited CBOR envelope every gossip message carries;
//!   [`topic`]: the closed enum of gossip topics.
//! - The event loop rejects bad envelopes itself and hands the rest to the application, whose
//!   Accept/Ignore/Reject (via [`Client::report_validation`]) decides whether a message is relayed.
//!   Rejections lower the sender's gossipsub score; peers below the ban threshold are
//!   disconnected and refused for the ban period.
//! - [`rpc`]: application request-response; the application registers each service it answers
//!   ([`Client::serve_rpc`], optionally with its own per-peer budget) and calls others'
//!   ([`Client::rpc`]), for example inference plans and the shard protocol.
//! - [`peer_action`]: typed offences ([`PeerAction`]), the one place penalty sizes are set.
//! - [`nat`]: AutoNAT (reachability), circuit relay v2 (server with limits on public nodes; a
//!   private node reserves a slot on its bootstrap relays) and DCUtR hole punching;
//!   [`connections`]: every open connection, and the rule that a direct connection makes a
//!   relayed one to the same peer redundant.
//! - [`peer_manager`]: keeps the connection count near a target (gossipsub's streams keep every
//!   connection alive, so without pruning a node stays connected to every peer it ever met).
//! - [`link_delay`]: emulated one-way link latency on every TCP connection, for benchmarks on
//!   kernels without `netem` (off in production).
//! - [`testnet`]: starts N in-process peers that know only a bootstrap address (tests, `simulate`,
//!   benchmarks).
//!
//! **Owns** the overlay: transports, gossip envelope and topics, the DHT, request-response
//! transfer and RPC, peer scoring, bans and connection targets, the in-process multi-peer
//! harness. **Must not depend on** `autonet-actors`, `autonet-models` or `autonet-contracts`: it
//! moves bytes and judges peers by their behaviour on the wire, never by protocol meaning.

#![warn(missing_docs, unreachable_pub)]

pub mod behaviour;
mod client;
mod commands;
pub mod config;
pub mod connections;
mod dht_store;
/// The gossip envelope lives in the wire crate (one home for every byte layout).
pub use autonet_wire::envelope;
mod error;
mod event_loop;
pub mod link_delay;
mod metrics;
pub mod nat;
mod nat_events;
pub mod peer_action;
pub mod peer_manager;
pub mod records;
pub mod relay_server;
pub mod rpc;
mod status;
mod swarm_events;
pub mod testnet;
pub mod topic;
pub mod transfer;

pub use client::{Client, Command};
pub use config::{BanPolicy, DhtMode, GossipParams, Limits, NetworkConfig};
pub use connections::ConnectionStatus;
pub use dht_store::DhtStore;
pub use error::P2pError;
pub use event_loop::{EventLoop, InboundMessage, NetworkEvent, new, peer_id_of};
pub use libp2p::gossipsub::{MessageAcceptance, MessageId};
pub use libp2p::identity::Keypair;
pub use libp2p::kad::RecordKey;
pub use libp2p::{Multiaddr, PeerId};
pub use metrics::NetMetrics;
pub use nat::{NatConfig, Reachability, RelayUse};
pub use peer_action::PeerAction;
pub use peer_manager::PeerTargets;
pub use rpc::{InboundRpc, RequestBudget, RpcId, RpcResponse};
pub use status::{BanStatus, Counters, Status, TopicStatus};
pub use topic::GossipTopic;
