//! Repair: holders watch the live replication of the models they hold and restore it.
//!
//! Every interval a host checks each model it holds: for every shard it asks the DHT for
//! providers and probes each (`Has`), because provider records outlive the peers that made them.
//! For a shard below the target, exactly one live holder of the model acts: the one with the
//! highest rendezvous weight for that shard among all live holders, so holders that see the same
//! picture do not repair twice. It rebuilds the model from any `k` shards (its own and fetched
//! ones), re-encodes, checks the missing shard against its leaf, and hands it to new peers that
//! hold nothing of the model (or, when there are none, keeps it itself).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use autonet_models::sharding::{ShardManifest, rebuild, split_and_code};
use autonet_p2p::{Client, PeerId};
use tokio::task::JoinSet;

use super::error::ShardError;
use super::fetch::download_shard;
use super::host::ShardHost;
use super::placement::ranked;
use super::publish::place_shards;
use super::rpc::call;
use super::wire::{self, ShardRequest, ShardResponse};

/// Runs [`check_once`] every `interval` until the host shuts down.
pub async fn run(host: ShardHost, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        match check_once(&host).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(repaired = n, "shards repaired"),
            Err(err) => tracing::debug!(%err, "repair round failed"),
        }
    }
}

/// Live holders of every shard of `manifest`, by index: providers found in the DHT that answer
/// `Has` with yes, plus this node for the indices in `held_here`.
pub async fn live_holders(
    client: &Client,
    manifest: &ShardManifest,
    held_here: &[u16],
) -> Vec<Vec<PeerId>> {
    let model = manifest.id().0;
    let me = client.peer_id();
    let mut tasks = JoinSet::new();
    for index in 0..manifest.leaves.len() {
        let index = u16::try_from(index).unwrap_or(u16::MAX);
        let client = client.clone();
        let holds_here = held_here.contains(&index);
        tasks.spawn(async move {
            let providers = client
                .providers(wire::shard_key(&model, index))
                .await
                .unwrap_or_default();
            let mut live = Vec::new();
            if holds_here {
                live.push(me);
            }
            for peer in providers.into_iter().filter(|p| *p != me) {
                let probe = ShardRequest::Has { model, index };
                if let Ok(ShardResponse::Has(true)) = call(&client, peer, &probe).await {
                    live.push(peer);
                }
            }
            live.sort();
            (index, live)
        });
    }
    let mut by_index = vec![Vec::new(); manifest.leaves.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, live)) = joined {
            by_index[usize::from(index)] = live;
        }
    }
    by_index
}

/// One repair round over every held model; returns the number of shard copies placed.
pub async fn check_once(host: &ShardHost) -> Result<usize, ShardError> {
    let mut repaired = 0;
    for held in host.held() {
        let manifest = Arc::new(held.manifest);
        let model = manifest.id().0;
        let live = live_holders(host.client(), &manifest, &held.indices).await;
        let target = host.config().replication.max(1);
        let everyone: Vec<PeerId> = live
            .iter()
            .flatten()
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mine: Vec<u16> = live
            .iter()
            .enumerate()
            .filter(|(_, l)| l.len() < target)
            .map(|(i, _)| u16::try_from(i).unwrap_or(u16::MAX))
            .filter(|i| ranked(&model, *i, &everyone).first() == Some(&host.peer_id()))
            .collect();
        if mine.is_empty() {
            continue;
        }
        tracing::info!(shards = ?mine, "repairing under-replicated shards");
        let shards = rebuild_missing(host, &manifest, &live, &mine).await?;
        let exclude: HashSet<PeerId> = everyone.iter().copied().collect();
        let need = mine
            .iter()
            .map(|i| target - live[usize::from(*i)].len())
            .max()
            .unwrap_or(1);
        let placed = place_shards(host, manifest.clone(), shards.clone(), need, &exclude)
            .await
            .unwrap_or_default();
        for (index, bytes) in shards {
            let got = placed
                .iter()
                .find(|(i, _)| *i == index)
                .map_or(0, |(_, p)| p.len());
            repaired += got;
            if got == 0 && !host.holds(&model, index) {
                host.hold(manifest.clone(), index, &bytes).await?;
                repaired += 1;
            }
        }
    }
    Ok(repaired)
}

/// Rebuilds shards `missing` from any `k` live shards.
async fn rebuild_missing(
    host: &ShardHost,
    manifest: &Arc<ShardManifest>,
    live: &[Vec<PeerId>],
    missing: &[u16],
) -> Result<Vec<(u16, Vec<u8>)>, ShardError> {
    let model = manifest.id().0;
    let k = usize::from(manifest.k);
    let mut have: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
    for (index, holders) in live.iter().enumerate() {
        if have.len() >= k {
            break;
        }
        let index = u16::try_from(index).unwrap_or(u16::MAX);
        if host.holds(&model, index)
            && let Ok(bytes) = std::fs::read(host.shard_path(&model, index))
        {
            have.insert(index, bytes);
            continue;
        }
        for peer in holders.iter().filter(|p| **p != host.peer_id()) {
            if let Ok(bytes) = download_shard(host.client(), *peer, manifest, index, &|_| {}).await
            {
                have.insert(index, bytes);
                break;
            }
        }
    }
    let shards: Vec<(usize, Vec<u8>)> =
        have.into_iter().map(|(i, b)| (usize::from(i), b)).collect();
    let manifest2 = manifest.clone();
    let all = tokio::task::spawn_blocking(move || -> Result<Vec<Vec<u8>>, ShardError> {
        let bytes = rebuild(&manifest2, shards)?;
        Ok(split_and_code(&bytes, manifest2.params()?)?)
    })
    .await
    .map_err(|e| ShardError::Actor(e.to_string()))??;
    let mut out = Vec::new();
    for index in missing {
        let bytes = all
            .get(usize::from(*index))
            .cloned()
            .ok_or_else(|| ShardError::Placement(format!("no shard {index}")))?;
        autonet_models::sharding::verify_shard(manifest, usize::from(*index), &bytes)?;
        out.push((*index, bytes));
    }
    Ok(out)
}
