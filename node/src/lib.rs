//! The autonet node: the `autonet` binary's command line, configuration and wiring.
//!
//! Bird's-eye view:
//! - [`cli`]: the clap command line (every flag also readable from an `AUTONET_*` variable).
//! - [`config`]: the effective configuration, merged with precedence flag > env > TOML file >
//!   default, and `--dump-config`.
//! - [`identity`]: the node's ed25519 libp2p key in the data dir (`autonet keygen`).
//! - [`logging`]: `tracing` output as text or JSON.
//! - [`bench`]: `autonet bench <name>`, named benchmarks that measure a baseline in the same run
//!   and print the ratio to it.
//! - [`round`]: one protocol round on a chain with every role in this process (the epoch
//!   choreography written once), for `autonet bench epoch|chain` and tests.
//! - [`chain`]: `autonet key …` (encrypted keystores per role), `autonet chain deploy|info`,
//!   `autonet stake|unstake|claim|balance` over JSON-RPC (crate `autonet-contracts`).
//! - [`infer`]: `autonet infer --model jepa`, two-speed inference with the local JEPA pipeline
//!   (slow path: inference peers given by `--peer`); [`jepa`]: the JEPA flags and pipeline shared
//!   with inference peers.
//! - [`model_kind`]: which model a network trains (built and sized in one place).
//! - [`model`]: `autonet model publish|status|rebuild`, erasure-coded shard folders (offline);
//!   [`model_net`]: `autonet model publish|fetch|status` over the overlay and the chain.
//! - [`overlay`]: `autonet bootstrap` and `autonet join` (a long-lived overlay node) with the
//!   localhost status JSON and Prometheus `/metrics` endpoints.
//! - [`conductor`]: what simulate and testnet share: the block pacer and the finish line.
//! - [`dashboard`]: the live web dashboard every node and `simulate --dashboard` serve.
//! - [`simulate`]: `autonet simulate`, the training protocol end to end with staked peers over
//!   libp2p on loopback, the embedded chain and fault injection, ending in a report.
//! - [`peer`]: `autonet join --role R`, a staked protocol peer on an RPC chain (stakes and binds
//!   itself, resumes from its data dir after any restart); [`testnet`]: `autonet testnet
//!   setup|drive`, the Rust half of `scripts/local-testnet` (dev accounts and plan, block clock,
//!   progress, kills, the simulation's report read from chain and peers).
//! - [`substrate`]: `autonet substrate replay|sample` and the substrate side of `autonet infer`.
//! - [`constitution`]: the checks the node's own actions pass against the shipped constitution;
//!   [`integrity`]: the core fingerprints embedded at build time and `autonet integrity`; [`gov`]:
//!   `autonet gov propose|vote|queue|execute|status|delegate` (Governor → Timelock → Registry).
//!
//! Later issues add the chain commands here; the protocol itself lives in the library crates below this one.
//!
//! **Owns** the process: command line, config, logging, endpoints, and the simulation and
//! testnet conductors. Nothing depends on it.

#![warn(missing_docs, unreachable_pub)]

pub mod agent;
pub mod bench;
pub mod chain;
pub mod cli;
pub mod cli_docs;
pub mod conductor;
pub mod config;
pub mod constitution;
pub mod dashboard;
pub mod gov;
pub mod identity;
pub mod infer;
pub mod integrity;
pub mod jepa;
pub mod llm;
pub mod logging;
pub mod model;
pub mod model_kind;
pub mod model_net;
pub mod output;
pub mod overlay;
pub mod peer;
pub mod process;
pub mod progress;
pub mod round;
pub mod secret_file;
pub mod simulate;
pub mod substrate;
pub mod testnet;
