//! Model publishing over the overlay: 20 peers, shards placed on distinct holders, the holders
//! of m shards (or of 2m with replication 2) stopped, and a peer that held nothing fetching the
//! model bit-identical, checked against the root registered on the embedded chain; a lying
//! holder caught and penalized; repair restoring replication after holders leave.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use autonet_actors::shards::repair::live_holders;
use autonet_actors::shards::{ChainRoots, FetchOptions, PublishOptions, fetch};
use autonet_models::sharding::ShardParams;
use autonet_p2p::testnet::poll_until;

use crate::shard_net::{ShardNet, model_bytes};

const MIB: usize = 1 << 20;

/// Stops the holders of shards `0..lost` (data shards, so the fetch has to decode parity) and
/// fetches from a peer that holds nothing.
async fn publish_lose_and_fetch(
    k: usize,
    m: usize,
    replication: usize,
    lost: usize,
) -> anyhow::Result<()> {
    let mut net = ShardNet::start(20, |_, _| {}).await?;
    let model = model_bytes(64 * MIB, 1);
    let mut options = PublishOptions::new("world", 1);
    options.params = ShardParams::new(k, m)?;
    options.replication = replication;
    let started = Instant::now();
    let published = net.publish(0, model.clone(), &options).await?;
    eprintln!("published 64 MiB in {:?}", started.elapsed());
    let id = published.manifest.id().0;
    let all: Vec<_> = published.holders.iter().flatten().copied().collect();
    assert_eq!(all.len(), (k + m) * replication, "{:?}", published.holders);
    assert_eq!(
        all.iter().collect::<HashSet<_>>().len(),
        all.len(),
        "copies on distinct peers"
    );

    let holder_indices: HashSet<usize> = all.iter().map(|p| net.index_of(*p)).collect();
    let mut stopped = HashSet::new();
    for holders in &published.holders[..lost] {
        for holder in holders {
            let i = net.index_of(*holder);
            stopped.insert(i);
            net.stop(i).await;
        }
    }
    assert_eq!(stopped.len(), lost * replication);
    let fetcher = (1..20)
        .find(|i| !holder_indices.contains(i))
        .expect("a peer that holds nothing");
    let started = Instant::now();
    let fetched = fetch(
        &net.peers[fetcher].as_ref().unwrap().client,
        &ChainRoots(&*net.chain),
        id,
        FetchOptions::default(),
    )
    .await?;
    eprintln!(
        "fetched 64 MiB in {:?}: {:?}",
        started.elapsed(),
        fetched.report
    );
    assert!(fetched.bytes == model, "fetched model differs");
    assert_eq!(fetched.report.fetched.len(), k);
    let providers: HashSet<_> = fetched.report.fetched.iter().map(|(_, p)| *p).collect();
    assert_eq!(providers.len(), k, "one shard per provider");
    net.stop_all().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_peers_replication_1_survive_m_lost_holders() -> anyhow::Result<()> {
    publish_lose_and_fetch(10, 4, 1, 4).await
}

/// With replication 2, stopping both holders of m shards (2m holders) still leaves k shards.
/// (6 + 3) × 2 = 18 copies fit on 20 distinct peers, so every stopped holder held one copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_peers_replication_2_survive_2m_lost_holders() -> anyhow::Result<()> {
    publish_lose_and_fetch(6, 3, 2, 3).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_holder_is_caught_penalized_and_avoided() -> anyhow::Result<()> {
    let net = ShardNet::start(8, |_, _| {}).await?;
    let model = model_bytes(4 * MIB + 123, 2);
    let mut options = PublishOptions::new("world", 1);
    options.params = ShardParams::new(4, 2)?;
    let published = net.publish(0, model.clone(), &options).await?;
    let id = published.manifest.id().0;
    // The holders of shards 0 and 1 now serve garbage: their files are overwritten after their
    // actors checked them. The fetcher starts with shards 0..k, so it meets both.
    let liars: Vec<_> = published.holders[..2].iter().map(|h| h[0]).collect();
    for (index, liar) in liars.iter().enumerate() {
        let host = net.host(net.index_of(*liar));
        let path = host.shard_path(&id, index as u16);
        let mut bytes = std::fs::read(&path)?;
        bytes[17] ^= 0xff;
        std::fs::write(&path, bytes)?;
    }
    let holders: HashSet<_> = published.holders.iter().flatten().copied().collect();
    let fetcher = (1..8)
        .map(|i| net.peers[i].as_ref().unwrap())
        .find(|p| !holders.contains(&p.peer_id))
        .expect("a peer that holds nothing");
    let before: Vec<f64> = futures::future::join_all(liars.iter().map(|l| async {
        fetcher
            .client
            .peer_score(*l)
            .await
            .ok()
            .flatten()
            .unwrap_or(0.0)
    }))
    .await;
    let fetched = fetch(
        &fetcher.client,
        &ChainRoots(&*net.chain),
        id,
        FetchOptions::default(),
    )
    .await?;
    assert!(fetched.bytes == model, "fetched model differs");
    let caught: HashSet<_> = fetched.report.corrupt.iter().map(|(_, p)| *p).collect();
    assert_eq!(
        caught,
        liars.iter().copied().collect(),
        "{:?}",
        fetched.report
    );
    assert!(
        fetched
            .report
            .fetched
            .iter()
            .all(|(_, p)| !caught.contains(p))
    );
    for (liar, before) in liars.iter().zip(before) {
        let after = fetcher.client.peer_score(*liar).await?.unwrap_or(0.0);
        assert!(
            after < before && after < 0.0,
            "score of {liar}: {before} -> {after}"
        );
    }
    net.stop_all().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_restores_replication_after_m_holders_leave() -> anyhow::Result<()> {
    let mut net = ShardNet::start(12, |_, c| {
        c.repair_interval = Some(Duration::from_secs(2));
    })
    .await?;
    let model = model_bytes(8 * MIB, 3);
    let mut options = PublishOptions::new("world", 1);
    options.params = ShardParams::new(4, 2)?;
    let published = net.publish(0, model.clone(), &options).await?;
    let manifest = published.manifest.clone();
    let id = manifest.id().0;
    for holders in &published.holders[..2] {
        net.stop(net.index_of(holders[0])).await;
    }
    let left = Instant::now();
    // Observe from the publisher, which held nothing after publishing.
    let observer = net.host(0).clone();
    let healed = poll_until(
        Duration::from_secs(60),
        Duration::from_millis(500),
        || async {
            // Repair may pick the observer itself as a new holder.
            let here: Vec<u16> = (0..6).filter(|i| observer.holds(&id, *i)).collect();
            let live = live_holders(observer.client(), &manifest, &here).await;
            live.iter().all(|l| !l.is_empty()).then_some(live)
        },
    )
    .await;
    let live = healed.expect("every shard back at replication 1 within 60 s");
    eprintln!("repaired in {:?}: {live:?}", left.elapsed());
    let fetched = fetch(
        &net.host(0).client().clone(),
        &ChainRoots(&*net.chain),
        id,
        FetchOptions::default(),
    )
    .await?;
    assert!(fetched.bytes == model);
    net.stop_all().await;
    Ok(())
}
