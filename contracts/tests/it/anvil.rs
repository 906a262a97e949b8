//! The scenario bodies on anvil (npm `@foundry-rs/anvil-linux-amd64`, installed by
//! `scripts/build-contracts`), started here on 127.0.0.1 with a free port.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::Provider;
use autonet_contracts::embedded::{EMBEDDED_CHAIN_ID, dev_key};
use autonet_contracts::pending::PendingStore;
use autonet_contracts::{Backend, Chain, Contracts, DeployConfig, RpcChain, RpcConfig, deploy};
use tokio::process::{Child, Command};

use crate::helpers::{ACCOUNTS, Cast, atn};
use crate::{differential, scenarios};

/// Path of the anvil binary from the pinned npm package.
pub fn anvil_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// A running anvil; killed on drop.
pub struct Anvil {
    pub child: Child,
    pub port: u16,
    pub url: String,
}

impl Anvil {
    /// Starts anvil (Cancun, chain id 31337) on a free port, optionally with a state file, and
    /// waits until it answers.
    pub async fn start(state: Option<&Path>, port: Option<u16>) -> Anvil {
        let bin = anvil_bin();
        assert!(
            bin.exists(),
            "anvil not installed at {}: run scripts/build-contracts",
            bin.display()
        );
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
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
        let child = cmd.spawn().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let provider = alloy::providers::ProviderBuilder::new().connect_http(url.parse().unwrap());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while provider.get_chain_id().await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "anvil did not start on {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Anvil { child, port, url }
    }

    /// Connects an `RpcChain` with the dev keys, funding them with ether first.
    pub async fn chain(&self, pending: PendingStore) -> RpcChain {
        let keys: Vec<_> = (0..ACCOUNTS).map(dev_key).collect();
        let provider =
            alloy::providers::ProviderBuilder::new().connect_http(self.url.parse().unwrap());
        for k in &keys {
            let ether = U256::from(1_000_000u64) * U256::from(10u64).pow(U256::from(18u64));
            let _: serde_json::Value = provider
                .raw_request("anvil_setBalance".into(), (k.address(), ether))
                .await
                .unwrap();
        }
        let cfg = RpcConfig {
            expected_chain_id: Some(EMBEDDED_CHAIN_ID),
            ..Default::default()
        };
        RpcChain::connect(&self.url, keys, pending, cfg)
            .await
            .unwrap()
    }
}

/// Anvil with the suite deployed by dev account 0 and every other dev account holding ATN.
pub async fn fixture() -> (Anvil, Contracts<RpcChain>, Cast) {
    let anvil = Anvil::start(None, None).await;
    let chain = anvil.chain(PendingStore::in_memory()).await;
    let accounts = chain.accounts();
    let c = deploy(chain, accounts[0], &DeployConfig::default())
        .await
        .unwrap();
    for a in accounts.iter().skip(1) {
        c.transfer_atn(accounts[0], *a, atn(100_000)).await.unwrap();
    }
    let cast = Cast::new(&accounts);
    (anvil, c, cast)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_anvil() {
    let (_anvil, c, cast) = fixture().await;
    scenarios::lifecycle(&c, &cast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_on_anvil() {
    let (_anvil, c, cast) = fixture().await;
    scenarios::expiry(&c, &cast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differentials_on_anvil() {
    let (_anvil, c, cast) = fixture().await;
    differential::consensus_matches(&c, 60, 11).await;
    differential::encodings_match(&c, 5).await;
    differential::shard_proofs_verify(&c, &cast, 64).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_chain_id_is_a_clear_error() {
    let anvil = Anvil::start(None, None).await;
    let cfg = RpcConfig {
        expected_chain_id: Some(1),
        ..Default::default()
    };
    let err = RpcChain::connect(&anvil.url, vec![dev_key(0)], PendingStore::in_memory(), cfg)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            autonet_contracts::ChainError::WrongChain {
                expected: 1,
                actual: 31337
            }
        ),
        "{err}"
    );
}
