//! Agent mail, cards and delegation between in-process peers over real libp2p (TCP, noise,
//! yamux, Kademlia, request-response), each peer with its own redb store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod decoders;
mod delegation;
mod hostile;
mod mail;
mod node;
mod runtimes;
