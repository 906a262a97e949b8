//! The scenario bodies on the embedded EVM.

use autonet_contracts::{Backend, Contracts, EmbeddedChain};

use crate::helpers::{ACCOUNTS, Cast, atn};
use crate::{differential, scenarios};

pub async fn fixture() -> (Contracts<EmbeddedChain>, Cast) {
    let c = EmbeddedChain::genesis(ACCOUNTS, atn(100_000))
        .await
        .unwrap();
    let cast = Cast::new(&c.backend().accounts());
    (c, cast)
}

#[tokio::test]
async fn lifecycle_on_embedded() {
    let (c, cast) = fixture().await;
    scenarios::lifecycle(&c, &cast).await;
}

#[tokio::test]
async fn expiry_on_embedded() {
    let (c, cast) = fixture().await;
    scenarios::expiry(&c, &cast).await;
}

#[tokio::test]
async fn consensus_differential_on_embedded() {
    let (c, _) = fixture().await;
    differential::consensus_matches(&c, 300, 7).await;
}

#[tokio::test]
async fn shard_proofs_1_to_64_leaves_on_embedded() {
    let (c, cast) = fixture().await;
    differential::shard_proofs_verify(&c, &cast, 64).await;
}

#[tokio::test]
async fn encodings_on_embedded() {
    let (c, _) = fixture().await;
    differential::encodings_match(&c, 3).await;
}

#[tokio::test]
async fn workload_rounds_run_and_record_gas_per_function() {
    use autonet_contracts::{DeployConfig, deploy, embedded::dev_key, workload};
    let chain = EmbeddedChain::new(workload::ACCOUNTS as u32);
    let c = deploy(chain, dev_key(0).address(), &DeployConfig::default())
        .await
        .unwrap();
    let accounts = c.backend().accounts();
    for a in accounts.iter().skip(1) {
        autonet_contracts::Chain::transfer_atn(&c, accounts[0], *a, atn(100_000))
            .await
            .unwrap();
    }
    for round in 1..=2 {
        workload::lifecycle(&c, &accounts, round).await.unwrap();
    }
    let table = c.gas_table();
    for f in [
        "stake",
        "createTask",
        "commitSolution",
        "revealSolution",
        "commitVote",
        "revealVote",
        "finalize",
        "claimMint",
    ] {
        let row = table
            .iter()
            .find(|r| r.function == f)
            .unwrap_or_else(|| panic!("{f} measured"));
        assert!(row.calls >= 2 && row.max < 16_000_000, "{row:?}");
    }
    for r in &table {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.contract, r.function, r.calls, r.min, r.mean, r.max
        );
    }
}
