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
