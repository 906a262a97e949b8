//! Cross-crate integration tests of autonet.
//!
//! The multi-peer harness itself lives in `autonet_p2p::testnet` (so `autonet simulate` and
//! `autonet bench gossip` can use it too): it starts N in-process peers on 127.0.0.1 that know
//! only the bootstrap address, waits for meshes by polling, and records what each peer's
//! application accepted. `it/` is the one integration-test binary:
//! - `it/mesh.rs`: 50 peers, 100 gossip messages and DHT records reaching everyone;
//! - `it/adversary.rs` (+ `it/forger.rs`, a raw libp2p peer that forges unsigned messages):
//!   junk never crosses an honest victim, the adversary's score falls, it is banned and its
//!   redials are refused for the ban period; with `it/bad_signer.rs` (a peer that writes
//!   gossipsub frames by hand on a raw `/meshsub/1.1.0` stream), messages whose signatures do
//!   not verify are dropped before relay and their sender is banned (every raw peer, the liar of
//!   `it/fetch_limits.rs` too, is built on the swarm of `it/raw_peer.rs`);
//! - `it/peer_binding.rs` (+ `it/gated.rs`, a node judging gossip with the real gate and bridge
//!   over an embedded chain): a squatter's claim of another peer's PeerId binds nothing, cannot
//!   stop the owner binding it (claimed before or after), and the owner's gossip is never
//!   attributed to the squatter's stake;
//! - `it/gossip_flood.rs`: an unstaked peer flooding `tasks`, and a relay of many fresh unbound
//!   authors, are penalized and banned while a staked proposer's announcements all get through;
//! - `it/transfer.rs`: `Client::fetch_from` over request-response between real peers, and the
//!   provider's per-peer rate limit; `it/fetch_failover.rs`: the role actors' background
//!   fetcher skips a dead provider for a live one and retries missing content with backoff;
//! - `it/supervision.rs`: the actor supervisor's restart budget and escalation;
//! - `it/shards.rs` (+ `it/shard_net.rs`, 20 peers with shard hosts and an embedded chain): a
//!   64 MiB model published, holders of m shards (2m with replication 2) stopped, fetched
//!   bit-identical; a lying holder caught and penalized; repair within 60 s;
//!   `it/shard_resume.rs`: a fetch in a child process killed by SIGKILL resumes and transfers
//!   only the missing shards; `it/shard_rpc.rs`: the shard protocol on RPC (a rate-limited call
//!   waits and retries, a peer without a host says so at once, garbage is refused and penalized).
//!
//! The real-process acceptance test (one `autonet bootstrap` and three `autonet join`) is in
//! `node/tests/it/overlay.rs`, where Cargo provides the path of the built binary.
//!
//! **Owns** the cross-crate tests and their raw attacker peers. **Must not** be a dependency of
//! any other crate (it is test-only).

#![warn(missing_docs, unreachable_pub)]
