//! Who may make a shard host hold what, over real libp2p: a `Hold` forged by an unstaked peer is
//! refused, and tiny look-alike models with self-declared versions 2^64 − 1 and 2^64 − 2 do not
//! make holders garbage-collect the real, registered model — neither when an unstaked peer pushes
//! them (refused) nor when they are registered and pushed by a staked peer (old models go by
//! on-chain registration order, not by declared versions).

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{B256, U256};
use autonet_actors::shards::rpc::call;
use autonet_actors::shards::wire::{ShardRequest, ShardResponse};
use autonet_actors::shards::{ChainRoots, FetchOptions, ModelId, PublishOptions, ShardHost, fetch};
use autonet_contracts::Chain;
use autonet_models::sharding::{ShardParams, encode};
use autonet_p2p::testnet::poll_until;

use crate::shard_net::{ShardNet, model_bytes};

/// `from` stages `shards` of `manifest` and asks `to` to hold shard `index`; the answer.
async fn forge_hold(
    from: &ShardHost,
    to: &ShardHost,
    manifest: &autonet_models::sharding::ShardManifest,
    shards: Vec<(u16, Vec<u8>)>,
    index: u16,
) -> anyhow::Result<ShardResponse> {
    from.stage(Arc::new(manifest.clone()), shards);
    let request = ShardRequest::Hold {
        manifest: manifest.to_bytes(),
        index,
        source: from.peer_id().to_bytes(),
    };
    // The two know each other, but a dial may still fail now and then: ask again until answered.
    let answer = poll_until(Duration::from_secs(60), Duration::from_millis(250), || {
        let request = request.clone();
        async move { call(from.client(), to.peer_id(), &request).await.ok() }
    })
    .await
    .ok_or_else(|| anyhow::anyhow!("{} never answered the Hold", to.peer_id()))?;
    Ok(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_forged_by_an_unstaked_peer_is_refused() -> anyhow::Result<()> {
    let net = ShardNet::start(3, |_, _| {}).await?;
    // A real model, registered on chain by the staked aggregator, that nobody holds yet.
    let encoded = encode(
        "world",
        1,
        &model_bytes(64 * 1024, 7),
        ShardParams::new(2, 1)?,
    )?;
    let manifest = encoded.manifest;
    let id = manifest.id().0;
    net.chain
        .register_model(net.aggregator, &registration_of(&manifest))
        .await?;
    // Peer 1 is bound to no address and staked in no role, and placement never picked it.
    let (attacker, target) = (net.host(1), net.host(2));
    let answer = forge_hold(
        attacker,
        target,
        &manifest,
        vec![(0, encoded.shards[0].clone())],
        0,
    )
    .await?;
    assert!(
        matches!(answer, ShardResponse::Refused(ref why) if why.contains("not staked")),
        "an unstaked peer's Hold was answered {answer:?}"
    );
    assert!(!target.holds(&id, 0), "the target holds the forged shard");
    assert!(target.held().is_empty(), "the target stored something");
    net.stop_all().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_versions_near_u64_max_do_not_evict_the_real_model() -> anyhow::Result<()> {
    let net = ShardNet::start(5, |_, _| {}).await?;
    let model = model_bytes(256 * 1024, 9);
    let mut options = PublishOptions::new("world", 1);
    options.params = ShardParams::new(2, 1)?;
    let published = net.publish(0, model.clone(), &options).await?;
    let id = published.manifest.id().0;
    let holders: Vec<usize> = published
        .holders
        .iter()
        .map(|h| net.index_of(h[0]))
        .collect();
    let attacker = (1..5)
        .find(|i| !holders.contains(i))
        .expect("a peer that holds nothing");
    // Two tiny models that claim the real one's name and the two highest versions there are.
    for version in [u64::MAX, u64::MAX - 1] {
        let fake = encode("world", version, b"tiny", ShardParams::new(1, 0)?)?;
        for holder in &holders {
            let answer = forge_hold(
                net.host(attacker),
                net.host(*holder),
                &fake.manifest,
                vec![(0, fake.shards[0].clone())],
                0,
            )
            .await?;
            eprintln!("holder {holder} answered the v{version} look-alike: {answer:?}");
        }
    }
    for (index, holder) in holders.iter().enumerate() {
        assert!(
            net.host(*holder).holds(&id, index as u16),
            "holder {holder} dropped shard {index} of the real model"
        );
        assert!(
            net.host(*holder)
                .held()
                .iter()
                .all(|h| h.manifest.id().0 == id),
            "holder {holder} keeps a look-alike model"
        );
    }
    assert_rebuildable(&net, id, &model).await?;
    net.stop_all().await;
    Ok(())
}

/// Peer 0 fetches model `id` and gets `model` back, byte for byte.
async fn assert_rebuildable(net: &ShardNet, id: ModelId, model: &[u8]) -> anyhow::Result<()> {
    let fetched = fetch(
        net.host(0).client(),
        &ChainRoots(&*net.chain),
        id,
        FetchOptions::default(),
    )
    .await?;
    assert!(fetched.bytes == model, "the real model is not rebuildable");
    Ok(())
}

async fn register(net: &ShardNet, manifest: &autonet_models::sharding::ShardManifest) {
    net.chain
        .register_model(net.aggregator, &registration_of(manifest))
        .await
        .expect("registered");
}

/// A model published by hand (epoch 0, no project) with its shard leaves.
fn registration_of(
    manifest: &autonet_models::sharding::ShardManifest,
) -> autonet_contracts::ModelRegistration {
    autonet_contracts::ModelRegistration {
        model_id: B256::from(manifest.id().0),
        project_id: U256::ZERO,
        root: B256::from(manifest.root.0),
        k: manifest.k,
        m: manifest.m,
        epoch: 0,
        leaves: manifest.leaves.iter().map(|l| B256::from(l.0)).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collection_follows_registration_order_not_declared_versions() -> anyhow::Result<()>
{
    let net = ShardNet::start(3, |_, _| {}).await?;
    // Two look-alikes registered first, in the real model's project, with the highest versions.
    let tiny = ShardParams::new(1, 0)?;
    let fakes: Vec<_> = [u64::MAX, u64::MAX - 1]
        .into_iter()
        .map(|v| encode("world", v, format!("tiny {v}").as_bytes(), tiny))
        .collect::<Result<_, _>>()?;
    for fake in &fakes {
        register(&net, &fake.manifest).await;
    }
    // The real model is registered last.
    let model = model_bytes(256 * 1024, 11);
    let mut options = PublishOptions::new("world", 1);
    options.params = ShardParams::new(2, 1)?;
    let published = net.publish(0, model.clone(), &options).await?;
    let id = published.manifest.id().0;
    // The staked publisher (peer 0) now hands both look-alikes to every holder of the real one;
    // each holder then holds three models of the project and keeps the two registered last.
    let mut holders: Vec<usize> = published
        .holders
        .iter()
        .map(|h| net.index_of(h[0]))
        .collect();
    holders.dedup();
    for fake in &fakes {
        for holder in &holders {
            let answer = forge_hold(
                net.host(0),
                net.host(*holder),
                &fake.manifest,
                vec![(0, fake.shards[0].clone())],
                0,
            )
            .await?;
            assert_eq!(answer, ShardResponse::Held, "holder {holder}");
        }
    }
    for (index, h) in published.holders.iter().enumerate() {
        let holder = net.host(net.index_of(h[0]));
        assert!(
            holder.holds(&id, index as u16),
            "holder of shard {index} dropped the real model for a higher declared version"
        );
        let kept: Vec<_> = holder.held().iter().map(|m| m.manifest.id().0).collect();
        assert!(
            !kept.contains(&fakes[0].manifest.id().0),
            "the look-alike registered first survived: {kept:?}"
        );
        assert!(kept.contains(&fakes[1].manifest.id().0));
    }
    assert_rebuildable(&net, id, &model).await?;
    net.stop_all().await;
    Ok(())
}
