//! Starting a local anvil (npm package `@foundry-rs/anvil-linux-amd64`, installed under
//! `contracts/node_modules` by `scripts/build-contracts`) on 127.0.0.1, for tests and benchmarks.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use tokio::process::{Child, Command};

use crate::backend::ChainError;
use crate::embedded::EMBEDDED_CHAIN_ID;

/// A running anvil, killed when dropped.
#[derive(Debug)]
pub struct AnvilProcess {
    /// The process.
    pub child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

/// Where anvil is looked for, in order: `$AUTONET_ANVIL`; the pinned npm package of this
/// checkout (reproducible tests); `anvil` on `PATH` (an installed binary has no checkout). When
/// none exists, the bare name `anvil`, which [`AnvilProcess::spawn`] refuses with a hint.
pub fn default_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("AUTONET_ANVIL") {
        return PathBuf::from(bin);
    }
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR")).join(PINNED);
    if pinned.is_file() {
        return pinned;
    }
    std::env::var_os("PATH")
        .and_then(|path| on_path(&path, "anvil"))
        .unwrap_or_else(|| PathBuf::from("anvil"))
}

/// The npm package's binary, relative to this crate.
const PINNED: &str = "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil";

/// The first executable file `name` in the directories of `path` (a `PATH` value). (Ten
/// lines; the `which` crate would add a dependency for the same loop.)
fn on_path(path: &std::ffi::OsStr, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

impl AnvilProcess {
    /// Starts anvil (hardfork Cancun, chain id 31337) on `port` or a free one, with an optional
    /// state file, and waits until it answers.
    pub async fn spawn(
        bin: &Path,
        state: Option<&Path>,
        port: Option<u16>,
    ) -> Result<Self, ChainError> {
        if !bin.exists() {
            return Err(ChainError::Transport(format!(
                "anvil not found at {}: set AUTONET_ANVIL to its path, put it on PATH \
                 (Foundry's `foundryup`, or `npm install @foundry-rs/anvil-linux-amd64`), or run \
                 scripts/build-contracts in a checkout",
                bin.display()
            )));
        }
        let port = match port {
            Some(p) => p,
            None => std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| ChainError::Transport(format!("no free port: {e}")))?
                .port(),
        };
        let mut cmd = Command::new(bin);
        cmd.args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--hardfork",
            "cancun",
        ])
        .args([
            "--chain-id",
            &EMBEDDED_CHAIN_ID.to_string(),
            "--accounts",
            "1",
            "--silent",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
        if let Some(state) = state {
            cmd.arg("--state")
                .arg(state)
                .args(["--state-interval", "1"]);
        }
        let child = cmd
            .spawn()
            .map_err(|e| ChainError::Transport(format!("cannot start {}: {e}", bin.display())))?;
        let url = format!("http://127.0.0.1:{port}");
        let parsed = url
            .parse()
            .map_err(|e| ChainError::Transport(format!("{e}")))?;
        let provider = ProviderBuilder::new().connect_http(parsed);
        // Generous: loading a state file on a loaded machine can take a while.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while provider.get_chain_id().await.is_err() {
            if tokio::time::Instant::now() > deadline {
                return Err(ChainError::Transport(format!(
                    "anvil did not answer on {url}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self { child, port, url })
    }

    /// Gives each address 1e6 ether (`anvil_setBalance`).
    pub async fn fund(&self, addresses: &[Address]) -> Result<(), ChainError> {
        let parsed = self
            .url
            .parse()
            .map_err(|e| ChainError::Transport(format!("{e}")))?;
        let provider = ProviderBuilder::new().connect_http(parsed);
        let ether = U256::from(1_000_000u64) * U256::from(10u64).pow(U256::from(18u64));
        for a in addresses {
            provider
                .raw_request::<_, serde_json::Value>("anvil_setBalance".into(), (*a, ether))
                .await
                .map_err(|e| ChainError::Transport(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn anvil_is_found_on_path_only_as_an_executable_file() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        assert_eq!(super::on_path(&path, "anvil"), None);
        // Not executable: skipped.
        std::fs::write(a.path().join("anvil"), "").unwrap();
        assert_eq!(super::on_path(&path, "anvil"), None);
        let bin = b.path().join("anvil");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(super::on_path(&path, "anvil"), Some(bin));
    }
}
