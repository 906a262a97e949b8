//! The tables of the config file, each with its defaults and its checks.
//!
//! Every table takes `#[serde(default)]`, so a file names only the keys it changes, and
//! `deny_unknown_fields`, so a misspelt key is an error. Ranges match those of the flags (clap
//! checks flag values; [`Config::resolve`](super::Config::resolve) checks these again for values
//! from the file).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use alloy::primitives::Address;
use autonet_p2p::Multiaddr;
use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::cli::{ColorChoice, LogFormat, LogRotation};
use crate::overlay::{DhtModeArg, InferenceModel};
use crate::peer::RoleArg;

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `info,autonet_p2p=debug`.
    pub level: String,
    /// `auto` (colour only on a terminal), `always` or `never`.
    pub color: ColorChoice,
    /// Also write the log to this file (plain text or JSON as `format` says, never colour
    /// codes, protocol events included); unset: no file.
    pub file: Option<PathBuf>,
    /// `daily`, `hourly` or `never`: when the file is rotated.
    pub rotation: LogRotation,
    /// Rotated files kept (0..=10000; 0 keeps all).
    pub max_files: u32,
}

impl LogConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_files > 10_000 {
            return Err(invalid(
                "log.max_files",
                format!("{} is not in 0..=10000", self.max_files),
            ));
        }
        if let Some(file) = &self.file
            && file.file_name().is_none()
        {
            return Err(invalid(
                "log.file",
                format!("{} does not name a file", file.display()),
            ));
        }
        Ok(())
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
            color: ColorChoice::Auto,
            file: None,
            rotation: LogRotation::Daily,
            max_files: 7,
        }
    }
}

/// The overlay of `bootstrap` and `join`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetConfig {
    /// Multiaddrs to listen on; empty means the command's default (`bootstrap`: TCP and QUIC on
    /// port 4001; every other command: on a free port), which a dump shows filled in.
    pub listen: Vec<Multiaddr>,
    /// Bootstrap peers, each ending in `/p2p/<peer id>` (`join` needs at least one).
    pub bootstrap: Vec<Multiaddr>,
    /// `server` (answer DHT queries, hold records) or `client` (only query).
    pub dht_mode: DhtModeArg,
    /// Connections to keep (8..=1000).
    pub target_peers: u16,
    /// Public addresses to announce besides those the node learns (a port forward's).
    pub external_addrs: Vec<Multiaddr>,
    /// Seconds between one-line summaries in the log (peers, mesh, epoch, phase); 0: none.
    pub summary_secs: u32,
    /// Seconds after start at which a node with no peer warns that it cannot reach its
    /// bootstrap peers (1..=3600).
    pub bootstrap_timeout_secs: u32,
    /// Status endpoint (loopback; port 0 picks a free port).
    pub status: SocketAddr,
    /// Prometheus metrics endpoint; unset serves none. Any address may be given (a scraper on
    /// another host); the node warns when it is not loopback, since the page is unauthenticated.
    pub metrics: Option<SocketAddr>,
    /// Resource limits of the overlay.
    pub limits: LimitsConfig,
    /// NAT traversal: AutoNAT, relay server and reservations, hole punching.
    pub nat: NatConfig,
}

/// Ports the listen defaults use.
const BOOTSTRAP_PORT: u16 = 4001;

impl NetConfig {
    /// The listen addresses `bootstrap` takes by default: TCP and QUIC on port 4001.
    pub fn bootstrap_listen() -> Vec<Multiaddr> {
        tcp_and_quic(BOOTSTRAP_PORT)
    }

    /// The listen addresses every other command takes by default: TCP and QUIC on free ports.
    pub fn join_listen() -> Vec<Multiaddr> {
        tcp_and_quic(0)
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3_600).contains(&self.bootstrap_timeout_secs) {
            return Err(invalid(
                "network.bootstrap_timeout_secs",
                format!("{} is not in 1..=3600", self.bootstrap_timeout_secs),
            ));
        }
        if !(8..=1_000).contains(&self.target_peers) {
            return Err(invalid(
                "network.target_peers",
                format!("{} is not in 8..=1000", self.target_peers),
            ));
        }
        loopback("network.status", self.status)?;
        self.nat.validate().map_err(|e| invalid(e.key, e.reason))?;
        validate_limits(&self.limits)
    }
}

fn tcp_and_quic(port: u16) -> Vec<Multiaddr> {
    // Both strings are well-formed multiaddrs, so nothing is dropped.
    [
        format!("/ip4/0.0.0.0/tcp/{port}"),
        format!("/ip4/0.0.0.0/udp/{port}/quic-v1"),
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}

fn loopback(key: &'static str, addr: SocketAddr) -> Result<(), ConfigError> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("{addr} is not a loopback address; the endpoint serves localhost only"),
        ))
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            bootstrap: Vec::new(),
            dht_mode: DhtModeArg::Server,
            target_peers: autonet_p2p::peer_manager::DEFAULT_TARGET_PEERS,
            external_addrs: Vec::new(),
            summary_secs: 60,
            bootstrap_timeout_secs: 30,
            status: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            metrics: None,
            limits: LimitsConfig::default(),
            nat: NatConfig::default(),
        }
    }
}

/// `[network.nat]`: NAT traversal settings, read straight into the overlay's own type (which
/// validates them, naming the key).
pub type NatConfig = autonet_p2p::NatConfig;

/// `[network.limits]`: the overlay's resource limits, read straight into the overlay's own
/// type; each must be at least 1 ([`validate_limits`]).
pub type LimitsConfig = autonet_p2p::Limits;

/// Checks that every limit is at least 1, naming the key of the first that is not.
pub(super) fn validate_limits(limits: &LimitsConfig) -> Result<(), ConfigError> {
    let values: [(&'static str, u64); 8] = [
        (
            "network.limits.max_established",
            limits.max_established.into(),
        ),
        (
            "network.limits.max_established_per_peer",
            limits.max_established_per_peer.into(),
        ),
        (
            "network.limits.max_pending_incoming",
            limits.max_pending_incoming.into(),
        ),
        ("network.limits.max_records", limits.max_records as u64),
        (
            "network.limits.max_record_bytes",
            limits.max_record_bytes as u64,
        ),
        ("network.limits.request_burst", limits.request_burst.into()),
        (
            "network.limits.requests_per_second",
            limits.requests_per_second.into(),
        ),
        (
            "network.limits.channel_capacity",
            limits.channel_capacity as u64,
        ),
    ];
    match values.iter().find(|(_, v)| *v == 0) {
        Some((key, _)) => Err(invalid(key, "must be at least 1".into())),
        None => Ok(()),
    }
}

/// The JEPA pipeline: served by `join --inference jepa`, used by `autonet infer --model jepa`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InferenceConfig {
    /// The model an inference peer serves (`jepa`); unset: the node serves no inference.
    pub model: Option<InferenceModel>,
    /// `cpu` or `cuda`.
    pub device: String,
    /// Graph set: `tiny`, `default`, or a folder of graphs.
    pub graphs: String,
    /// VL-JEPA training steps before answering (0..=1000000).
    pub train_steps: usize,
    /// Decoder training steps before answering (0..=1000000).
    pub decoder_steps: usize,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        Self {
            model: None,
            device: "cpu".into(),
            graphs: "tiny".into(),
            train_steps: 100,
            decoder_steps: 400,
        }
    }
}

/// Most training steps a setting takes.
const MAX_STEPS: usize = 1_000_000;

impl InferenceConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, v) in [
            ("inference.train_steps", self.train_steps),
            ("inference.decoder_steps", self.decoder_steps),
        ] {
            if v > MAX_STEPS {
                return Err(invalid(key, format!("{v} is not in 0..={MAX_STEPS}")));
            }
        }
        if !matches!(self.device.as_str(), "cpu" | "cuda") {
            return Err(invalid(
                "inference.device",
                format!("unknown device {:?} (cpu or cuda)", self.device),
            ));
        }
        Ok(())
    }
}

/// `[shards]`: the model shards every long-lived node holds and serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShardsConfig {
    /// Most disk the node's shards take, in GiB (1..=1048576).
    pub quota_gib: u64,
}

impl Default for ShardsConfig {
    fn default() -> Self {
        Self { quota_gib: 10 }
    }
}

impl ShardsConfig {
    /// The quota in bytes.
    pub fn quota_bytes(&self) -> u64 {
        self.quota_gib << 30
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=1 << 20).contains(&self.quota_gib) {
            return Err(invalid(
                "shards.quota_gib",
                format!("{} is not in 1..=1048576", self.quota_gib),
            ));
        }
        Ok(())
    }
}

/// The staked protocol role of `join --role`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleConfig {
    /// `proposer`, `solver`, `coordinator` or `aggregator`; unset: join only relays and stores.
    pub role: Option<RoleArg>,
    /// Name in progress lines and reports; unset: the role's name.
    pub name: Option<String>,
    /// The network plan (JSON, as written by `autonet testnet setup`).
    pub plan: Option<PathBuf>,
    /// How often the role looks at the chain head, in milliseconds (1..=60000).
    pub tick_ms: u64,
    /// Run a build whose core fingerprint differs from the one governance published as an
    /// unstaked peer only, instead of refusing to start.
    pub allow_unverified: bool,
}

impl Default for RoleConfig {
    fn default() -> Self {
        Self {
            role: None,
            name: None,
            plan: None,
            tick_ms: 100,
            allow_unverified: false,
        }
    }
}

impl RoleConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=60_000).contains(&self.tick_ms) {
            return Err(invalid(
                "role.tick_ms",
                format!("{} is not in 1..=60000", self.tick_ms),
            ));
        }
        Ok(())
    }
}

/// The EVM chain the network runs on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// JSON-RPC endpoint.
    pub rpc_url: Option<String>,
    /// Refuse an endpoint that reports another chain id (at least 1).
    pub chain_id: Option<u64>,
    /// Governor address, the discovery root of the contract suite (chain commands).
    pub governor: Option<Address>,
    /// File whose first line is the keystore password; unset: `$AUTONET_KEY_PASSWORD`.
    pub password_file: Option<PathBuf>,
}

impl ChainConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        match self.chain_id {
            Some(0) => Err(invalid("chain.chain_id", "must be at least 1".into())),
            // TOML integers are signed 64-bit: a larger id could not be written back.
            Some(id) if i64::try_from(id).is_err() => {
                Err(invalid("chain.chain_id", format!("{id} is above 2^63-1")))
            }
            _ => Ok(()),
        }
    }
}

fn invalid(key: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid { key, message }
}
