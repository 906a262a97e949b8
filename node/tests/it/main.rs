//! Integration tests of the `autonet` binary: the real executable, run as a user would.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers fail loudly.

mod agent_mcp;
mod agent_net;
mod cdp;
mod chain;
mod cli;
mod config;
mod dashboard;
mod gov;
mod infer;
mod infer_peer;
mod keygen;
mod llm;
mod model;
mod model_shards;
mod overlay;
mod schema;
mod secrets;
mod simulate;
mod store;
mod substrate;
mod testnet;

use std::path::Path;
use std::process::{Command, Output};

/// Test suites only: keystores written at scrypt n = 2^10 instead of the standard 2^18, so the
/// many keys the tests create and load cost milliseconds (the keys are throwaway).
pub const INSECURE_KDF: (&str, &str) = ("AUTONET_INSECURE_KEYSTORE_SCRYPT_LOG_N", "10");

/// A command for the built `autonet` binary with a clean `AUTONET_*` environment (plus
/// [`INSECURE_KDF`]), its data dir `data_dir`. The data dir is given as `AUTONET_DATA_DIR`, not
/// as `--data-dir`: commands that keep nothing there (`simulate`, `bench`, ...) refuse the typed
/// flag and tolerate the variable, as an operator's environment would set it.
pub fn autonet(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_autonet"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AUTONET_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("HOME", data_dir)
        .env(INSECURE_KDF.0, INSECURE_KDF.1)
        .env_remove("XDG_DATA_HOME")
        // The node honours RUST_LOG; a developer's own setting must not change what tests see.
        .env_remove("RUST_LOG")
        .env("AUTONET_DATA_DIR", data_dir);
    cmd
}

/// The contract suite behind `governor` on the chain at `url`, signed by the deployer key
/// `autonet key create --role deployer` wrote into `data` (password `password`).
pub async fn deployer_suite(
    data: &Path,
    password: &str,
    url: &str,
    governor: &str,
) -> autonet_contracts::Contracts<autonet_contracts::RpcChain> {
    use autonet_contracts::{RpcChain, RpcConfig, discover, pending::PendingStore};
    let key = alloy::signers::local::PrivateKeySigner::decrypt_keystore(
        data.join("keys/deployer.json"),
        password,
    )
    .unwrap();
    let chain = RpcChain::connect(
        url,
        vec![key],
        PendingStore::in_memory(),
        RpcConfig::default(),
    )
    .await
    .unwrap();
    discover(chain, governor.parse().unwrap()).await.unwrap()
}

/// Runs and returns the output, with both streams in the panic message on failure.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("autonet runs");
    assert!(
        out.status.success(),
        "autonet failed: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// Runs a command that must fail at run time (exit status 1) and checks that its stderr says
/// `expected`; returns stderr.
pub fn run_fails(cmd: &mut Command, expected: &str) -> String {
    fails_with(cmd, 1, expected)
}

/// Runs a command that clap must refuse (a usage error: exit status 2) and checks that its
/// stderr says `expected`; returns stderr.
pub fn run_usage_error(cmd: &mut Command, expected: &str) -> String {
    fails_with(cmd, 2, expected)
}

fn fails_with(cmd: &mut Command, code: i32, expected: &str) -> String {
    let out = cmd.output().expect("autonet runs");
    let err = stderr(&out);
    assert!(
        out.status.code() == Some(code) && err.contains(expected),
        "expected exit status {code} and a message saying {expected:?}, got {}: {}\n{err}",
        out.status,
        stdout(&out)
    );
    err
}

/// The model id of every epoch in a `--json` report (of `simulate` or `scripts/local-testnet`).
pub fn model_ids(report: &serde_json::Value) -> Vec<String> {
    report["epochs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["model_id"].as_str().unwrap().to_string())
        .collect()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
