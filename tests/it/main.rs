//! The one integration-test binary of autonet-tests; see the crate docs for what each module
//! covers. Every wait polls with a deadline; deadlines are generous because CI runs on two
//! shared cores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod adversary;
mod bad_signer;
mod fetch_failover;
mod fetch_limits;
mod forger;
mod gated;
mod gossip_flood;
mod liar;
mod mesh;
mod peer_binding;
mod pruning;
mod raw_peer;
mod rpc;
mod shard_hold;
mod shard_net;
mod shard_resume;
mod shard_rpc;
mod shards;
mod supervision;
mod transfer;
