//! NAT traversal settings: AutoNAT (is this node reachable?), circuit relay v2 (a public node
//! relays for NATed ones, within limits; a NATed node reserves a slot on its bootstrap relays),
//! and DCUtR (hole punching turns a relayed connection into a direct one).
//!
//! [`NatConfig`] is also the node config file's `[network.nat]` table; [`NatConfig::validate`]
//! names the key of the first bad value.

use std::time::Duration;

use libp2p::{autonat, relay};
use serde::{Deserialize, Serialize};

use crate::P2pError;

/// When a node reserves a slot on its bootstrap relays (listens on `<relay>/p2p-circuit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayUse {
    /// Once AutoNAT finds the node private (not dialable from outside).
    Auto,
    /// Always, whatever AutoNAT says (a node that knows it is behind NAT; tests).
    Always,
    /// Never: the node is reachable only directly.
    Never,
}

/// What AutoNAT has learnt about this node's reachability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reachability {
    /// Not probed yet, or the probes disagree.
    #[default]
    Unknown,
    /// Other peers dialed back one of its addresses.
    Public,
    /// Dial-backs failed: the node is behind NAT or a firewall.
    Private,
}

/// NAT traversal settings (`[network.nat]`); every key optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatConfig {
    /// Relay circuits for other peers (circuit relay v2 server). Useful on public nodes; a
    /// NATed node is asked for reservations only by peers that can reach it, so it costs little
    /// there.
    pub relay_server: bool,
    /// When to reserve a relay slot on the bootstrap peers.
    pub use_relays: RelayUse,
    /// Try hole punching (DCUtR) on relayed connections.
    pub hole_punching: bool,
    /// Reservations the relay server holds at once.
    pub relay_max_reservations: u32,
    /// Reservations one peer may hold on this relay.
    pub relay_max_reservations_per_peer: u32,
    /// Seconds a reservation lasts before the client must renew it.
    pub relay_reservation_secs: u64,
    /// Circuits the relay server carries at once.
    pub relay_max_circuits: u32,
    /// Circuits one peer may have open through this relay.
    pub relay_max_circuits_per_peer: u32,
    /// Seconds a circuit lasts before the relay closes it.
    pub relay_circuit_secs: u64,
    /// Bytes one circuit may carry (each direction) before the relay closes it.
    pub relay_circuit_bytes: u64,
    /// Seconds after start before the first AutoNAT probe (identify must have told the node its
    /// observed addresses first).
    pub autonat_boot_delay_secs: u64,
    /// Seconds between AutoNAT probes while the reachability is unknown or just changed.
    pub autonat_retry_secs: u64,
    /// Seconds between AutoNAT probes once the reachability is settled.
    pub autonat_refresh_secs: u64,
    /// Probe and dial back only global addresses; `false` for private test networks.
    pub autonat_only_global_ips: bool,
}

impl Default for NatConfig {
    fn default() -> Self {
        Self {
            relay_server: true,
            use_relays: RelayUse::Auto,
            hole_punching: true,
            relay_max_reservations: 128,
            relay_max_reservations_per_peer: 4,
            relay_reservation_secs: 3600,
            relay_max_circuits: 64,
            relay_max_circuits_per_peer: 8,
            // libp2p's defaults (2 minutes, 128 KiB) suit a hole-punch handshake only; a peer
            // that cannot punch through trains over its circuit, so it gets longer and larger.
            relay_circuit_secs: 1800,
            relay_circuit_bytes: 256 * 1024 * 1024,
            autonat_boot_delay_secs: 15,
            autonat_retry_secs: 90,
            autonat_refresh_secs: 900,
            autonat_only_global_ips: true,
        }
    }
}

/// Longest period any NAT setting may name (one week): longer values are typos, and
/// libp2p adds these durations to `Instant`s.
const MAX_SECS: u64 = 7 * 24 * 3600;

impl NatConfig {
    /// Checks every value, naming the key (`network.nat.<key>`) of the first bad one.
    pub fn validate(&self) -> Result<(), NatConfigError> {
        let at_least_one: [(&str, u64); 5] = [
            (
                "network.nat.relay_max_reservations",
                self.relay_max_reservations.into(),
            ),
            (
                "network.nat.relay_max_reservations_per_peer",
                self.relay_max_reservations_per_peer.into(),
            ),
            (
                "network.nat.relay_max_circuits",
                self.relay_max_circuits.into(),
            ),
            (
                "network.nat.relay_max_circuits_per_peer",
                self.relay_max_circuits_per_peer.into(),
            ),
            ("network.nat.relay_circuit_bytes", self.relay_circuit_bytes),
        ];
        if let Some((key, _)) = at_least_one.iter().find(|(_, v)| *v == 0) {
            return Err(bad(key, "must be at least 1"));
        }
        let secs: [(&str, u64); 5] = [
            (
                "network.nat.relay_reservation_secs",
                self.relay_reservation_secs,
            ),
            ("network.nat.relay_circuit_secs", self.relay_circuit_secs),
            (
                "network.nat.autonat_boot_delay_secs",
                self.autonat_boot_delay_secs,
            ),
            ("network.nat.autonat_retry_secs", self.autonat_retry_secs),
            (
                "network.nat.autonat_refresh_secs",
                self.autonat_refresh_secs,
            ),
        ];
        for (key, value) in secs {
            if value == 0 || value > MAX_SECS {
                return Err(bad(
                    key,
                    &format!("{value} is not in 1..={MAX_SECS} seconds"),
                ));
            }
        }
        if self.relay_max_reservations_per_peer > self.relay_max_reservations {
            return Err(bad(
                "network.nat.relay_max_reservations_per_peer",
                "exceeds relay_max_reservations",
            ));
        }
        if self.relay_max_circuits_per_peer > self.relay_max_circuits {
            return Err(bad(
                "network.nat.relay_max_circuits_per_peer",
                "exceeds relay_max_circuits",
            ));
        }
        if self.autonat_retry_secs > self.autonat_refresh_secs {
            return Err(bad(
                "network.nat.autonat_retry_secs",
                "exceeds autonat_refresh_secs",
            ));
        }
        Ok(())
    }

    /// The relay server's limits. The per-peer and per-IP rate limiters stay at libp2p's
    /// defaults (they only slow down a peer re-reserving in a loop).
    pub(crate) fn relay_config(&self) -> relay::Config {
        relay::Config {
            max_reservations: as_usize(self.relay_max_reservations),
            max_reservations_per_peer: as_usize(self.relay_max_reservations_per_peer),
            reservation_duration: Duration::from_secs(self.relay_reservation_secs),
            max_circuits: as_usize(self.relay_max_circuits),
            max_circuits_per_peer: as_usize(self.relay_max_circuits_per_peer),
            max_circuit_duration: Duration::from_secs(self.relay_circuit_secs),
            max_circuit_bytes: self.relay_circuit_bytes,
            ..relay::Config::default()
        }
    }

    /// AutoNAT. Version 1, not 2: v1 reports one reachability status (public, private,
    /// unknown), which is what decides relay reservations; v2 only confirms addresses one by
    /// one.
    pub(crate) fn autonat_config(&self) -> autonat::v1::Config {
        autonat::v1::Config {
            boot_delay: Duration::from_secs(self.autonat_boot_delay_secs),
            retry_interval: Duration::from_secs(self.autonat_retry_secs),
            refresh_interval: Duration::from_secs(self.autonat_refresh_secs),
            only_global_ips: self.autonat_only_global_ips,
            // A single public probe server (one bootstrap node) must be asked again on retry.
            throttle_server_period: Duration::from_secs(self.autonat_retry_secs.min(90)),
            ..autonat::v1::Config::default()
        }
    }
}

fn as_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn bad(key: &'static str, reason: &str) -> NatConfigError {
    NatConfigError {
        key,
        reason: reason.to_string(),
    }
}

/// A bad `[network.nat]` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct NatConfigError {
    /// The dotted config key at fault (`network.nat.relay_circuit_secs`).
    pub key: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}

impl From<NatConfigError> for P2pError {
    fn from(err: NatConfigError) -> Self {
        P2pError::Config(err.to_string())
    }
}

impl From<&autonat::v1::NatStatus> for Reachability {
    fn from(status: &autonat::v1::NatStatus) -> Self {
        match status {
            autonat::v1::NatStatus::Public(_) => Reachability::Public,
            autonat::v1::NatStatus::Private => Reachability::Private,
            autonat::v1::NatStatus::Unknown => Reachability::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        NatConfig::default().validate().expect("valid defaults");
    }

    #[test]
    fn a_bad_value_names_its_key() {
        type Spoil = fn(&mut NatConfig);
        let cases: [(Spoil, &str); 5] = [
            (
                |c| c.relay_max_circuits = 0,
                "network.nat.relay_max_circuits",
            ),
            (
                |c| c.relay_circuit_secs = 0,
                "network.nat.relay_circuit_secs",
            ),
            (
                |c| c.autonat_refresh_secs = MAX_SECS + 1,
                "network.nat.autonat_refresh_secs",
            ),
            (
                |c| c.relay_max_reservations_per_peer = 1000,
                "network.nat.relay_max_reservations_per_peer",
            ),
            (
                |c| c.autonat_retry_secs = 1000,
                "network.nat.autonat_retry_secs",
            ),
        ];
        for (spoil, key) in cases {
            let mut config = NatConfig::default();
            spoil(&mut config);
            let err = config.validate().expect_err(key).to_string();
            assert!(err.contains(key), "{err} should name {key}");
        }
    }

    #[test]
    fn the_table_reads_from_toml_and_rejects_unknown_keys() {
        let config: NatConfig =
            toml::from_str("use_relays = \"always\"\nrelay_circuit_secs = 60").expect("parses");
        assert_eq!(config.use_relays, RelayUse::Always);
        assert_eq!(config.relay_circuit_secs, 60);
        assert!(toml::from_str::<NatConfig>("relay_circut_secs = 60").is_err());
    }
}
