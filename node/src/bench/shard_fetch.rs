//! Part (b) of `autonet bench shards`: fetching a published model over the overlay from many
//! upload-rate-limited holders against fetching it from one.
//!
//! `tc netem` is not available on the development machine, so the slow uplinks are emulated in
//! the serving path: every holder's shard host paces the chunks it sends to `--upload-rate`
//! bytes per second (`HostConfig::upload_bytes_per_sec`), queueing requests behind each other as
//! a real link would. In-process peers on 127.0.0.1 with TCP + noise + yamux carry the bytes.
//! One network holds `--holders` rate-limited holder peers, a publisher and a fetcher. Model A is
//! placed over all holders (one or two shards each); model B, of the same size, is placed on one
//! holder only. The baseline is the fetch of B (k shards through one uplink), the subject the
//! fetch of A (k shards from k distinct providers in parallel); both are checked bit-identical.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use anyhow::{Context, ensure};
use autonet_actors::roles::peer::bind_peer;
use autonet_actors::shards::publish::{place_shards, shard_peers};
use autonet_actors::shards::{
    ChainAuthority, ChainRoots, FetchOptions, HostConfig, PublishOptions, ShardHost, fetch, publish,
};
use autonet_contracts::deploy::ATN;
use autonet_contracts::{Backend, Chain, Contracts, EmbeddedChain, Role};
use autonet_models::sharding::{ShardParams, encode};
use autonet_p2p::testnet::{Testnet, TestnetOptions, poll_until};

use super::Measurement;

/// Results of the fetch comparison.
#[derive(Debug)]
pub(crate) struct FetchComparison {
    pub one_holder: Measurement,
    pub many_holders: Measurement,
    pub holders_used: usize,
}

fn model(len: usize, seed: u8) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    blake3::Hasher::new()
        .update(&[seed])
        .finalize_xof()
        .fill(&mut bytes);
    bytes
}

/// Runs the comparison: `size` bytes at `params`, `holders` holders at `rate` bytes/s each.
pub(crate) async fn compare(
    size: usize,
    params: ShardParams,
    holders: usize,
    rate: u64,
) -> anyhow::Result<FetchComparison> {
    ensure!(holders >= 1, "--holders must be at least 1");
    let chain = EmbeddedChain::genesis(2, ATN * U256::from(10_000u64)).await?;
    let aggregator = chain.backend().accounts()[1];
    chain
        .stake(aggregator, Role::Aggregator, Role::Aggregator.min_stake())
        .await?;
    // Peers: 0 publisher, 1..=holders holders, last the fetcher (no host: it serves nothing).
    let net = Testnet::start(TestnetOptions::new(holders + 2)).await?;
    // Holders take shards only when a staked peer asks: the publisher's PeerId is bound to the
    // aggregator.
    let signer = chain.backend().signers()[1].clone();
    let relayer = chain.backend().accounts()[0];
    bind_peer(&chain, relayer, &signer, &net.peers[0].keypair).await?;
    let chain = Arc::new(chain);
    let dir = tempfile::tempdir()?;
    let mut hosts = Vec::new();
    for (i, peer) in net.peers.iter().enumerate().take(holders + 1) {
        let mut config = HostConfig::new(dir.path().join(format!("peer-{i}")));
        config.repair_interval = None;
        if i > 0 {
            config.upload_bytes_per_sec = Some(rate);
        }
        let authority = Arc::new(ChainAuthority(chain.clone()));
        hosts.push(ShardHost::start_with(peer.client.clone(), config, authority).await?);
    }
    let fetcher = &net.peers[holders + 1].client;
    let publisher = &hosts[0];
    poll_until(
        Duration::from_secs(120),
        Duration::from_millis(250),
        || async { (shard_peers(publisher, &HashSet::new()).await.len() >= holders).then_some(()) },
    )
    .await
    .context("holders did not become reachable")?;

    let mut options = PublishOptions::new("bench-many", 1);
    options.params = params;
    let many = model(size, 1);
    let published = publish(publisher, &*chain, aggregator, many.clone(), &options).await?;
    let id_many = published.manifest.id().0;

    // Model B goes to one holder.
    let one = model(size, 2);
    let id_one = place_on_one(&chain, aggregator, &hosts, one.clone(), params).await?;

    let roots = ChainRoots(&*chain);
    let start = Instant::now();
    let fetched_one = fetch(fetcher, &roots, id_one, FetchOptions::default()).await?;
    let one_time = start.elapsed();
    ensure!(fetched_one.bytes == one, "model B fetched wrong");
    let start = Instant::now();
    let fetched_many = fetch(fetcher, &roots, id_many, FetchOptions::default()).await?;
    let many_time = start.elapsed();
    ensure!(fetched_many.bytes == many, "model A fetched wrong");
    let holders_used = fetched_many
        .report
        .fetched
        .iter()
        .map(|(_, p)| *p)
        .collect::<HashSet<_>>()
        .len();
    for host in &hosts {
        host.shutdown().await;
    }
    net.stop().await;
    Ok(FetchComparison {
        one_holder: Measurement::new("fetch from 1 holder", one_time, size as u64, "bytes"),
        many_holders: Measurement::new(
            format!("fetch from {holders} holders"),
            many_time,
            size as u64,
            "bytes",
        ),
        holders_used,
    })
}

/// Registers `model` and places every shard on `hosts[1]` alone (all other holders excluded);
/// returns its id.
async fn place_on_one(
    chain: &Contracts<EmbeddedChain>,
    aggregator: alloy::primitives::Address,
    hosts: &[ShardHost],
    model: Vec<u8>,
    params: ShardParams,
) -> anyhow::Result<[u8; 32]> {
    let publisher = &hosts[0];
    let encoded = encode("bench-one", 1, &model, params)?;
    let manifest = Arc::new(encoded.manifest);
    let id_one = manifest.id().0;
    let registration = autonet_contracts::ModelRegistration {
        model_id: id_one.into(),
        project_id: U256::ZERO,
        root: manifest.root.0.into(),
        k: manifest.k,
        m: manifest.m,
        epoch: 0,
        leaves: manifest.leaves.iter().map(|l| l.0.into()).collect(),
    };
    chain.register_model(aggregator, &registration).await?;
    let single = hosts[1].peer_id();
    let exclude: HashSet<_> = hosts.iter().skip(2).map(ShardHost::peer_id).collect();
    let shards = encoded
        .shards
        .into_iter()
        .enumerate()
        .map(|(i, s)| (i as u16, s))
        .collect();
    let placed = place_shards(publisher, manifest.clone(), shards, 1, &exclude).await?;
    ensure!(
        placed.iter().all(|(_, p)| p == &vec![single]),
        "model B was not placed on one holder: {placed:?}"
    );
    Ok(id_one)
}
