//! The scenario bodies on anvil (npm `@foundry-rs/anvil-linux-amd64`, installed by
//! `scripts/build-contracts`), started here on 127.0.0.1 with a free port.

use std::path::Path;

use autonet_contracts::anvil::default_binary;
use autonet_contracts::embedded::{EMBEDDED_CHAIN_ID, dev_key};
use autonet_contracts::pending::PendingStore;
use autonet_contracts::{Backend, Chain, Contracts, DeployConfig, RpcChain, RpcConfig, deploy};

use crate::helpers::{ACCOUNTS, Cast, atn};
use crate::{differential, scenarios};

/// The library's anvil process (`autonet_contracts::anvil`), used under the tests' short name.
pub use autonet_contracts::anvil::AnvilProcess as Anvil;

/// Test conveniences on top of the library's anvil process: panics instead of errors.
pub trait AnvilExt: Sized {
    /// Starts anvil (Cancun, chain id 31337) on `port` or a free one, optionally with a state
    /// file, and waits until it answers.
    fn start(state: Option<&Path>, port: Option<u16>) -> impl Future<Output = Self>;
    /// Connects an `RpcChain` with the dev keys, funding them with ether first.
    fn chain(&self, pending: PendingStore) -> impl Future<Output = RpcChain>;
}

impl AnvilExt for Anvil {
    async fn start(state: Option<&Path>, port: Option<u16>) -> Anvil {
        Anvil::spawn(&default_binary(), state, port).await.unwrap()
    }

    async fn chain(&self, pending: PendingStore) -> RpcChain {
        let keys: Vec<_> = (0..ACCOUNTS).map(dev_key).collect();
        let addresses: Vec<_> = keys.iter().map(|k| k.address()).collect();
        self.fund(&addresses).await.unwrap();
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
