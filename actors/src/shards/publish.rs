//! Publishing a model: shard it, register its root on `ModelShardRegistry`, and hand each shard
//! to the peers placement picks, which download it from the publisher, check it and serve it.
//!
//! The publisher only stages the shards (serves them from memory without announcing them) while
//! the holders pull them; when every holder has answered, the staged copies are dropped, so the
//! publisher is not a holder unless placement picked it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use alloy::primitives::{Address, B256, U256};
use autonet_contracts::Chain;
use autonet_models::sharding::{ShardManifest, ShardParams, encode};
use autonet_p2p::PeerId;
use tokio::task::JoinSet;

use super::error::ShardError;
use super::host::ShardHost;
use super::placement::{place_indices, ranked};
use super::rpc::call;
use super::wire::{ShardRequest, ShardResponse};

/// What to publish and how widely.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// Model name in the manifest (e.g. `world`).
    pub name: String,
    /// Model version in the manifest (e.g. the epoch that produced it).
    pub version: u64,
    /// Data and parity shard counts.
    pub params: ShardParams,
    /// Holders per shard.
    pub replication: usize,
    /// Project the model belongs to on chain.
    pub project_id: U256,
}

impl PublishOptions {
    /// (k = 10, m = 4), replication 1, project 0.
    pub fn new(name: impl Into<String>, version: u64) -> Self {
        Self {
            name: name.into(),
            version,
            params: ShardParams::default(),
            replication: 1,
            project_id: U256::ZERO,
        }
    }
}

/// A published model and where its shards went.
#[derive(Debug, Clone)]
pub struct Published {
    /// The manifest registered on chain.
    pub manifest: ShardManifest,
    /// Holders of each shard, by index.
    pub holders: Vec<Vec<PeerId>>,
}

/// Shards `bytes`, registers the root with the aggregator key `from`, and places the shards.
pub async fn publish<C: Chain>(
    host: &ShardHost,
    chain: &C,
    from: Address,
    bytes: Vec<u8>,
    options: &PublishOptions,
) -> Result<Published, ShardError> {
    let (name, version, params) = (options.name.clone(), options.version, options.params);
    let encoded = tokio::task::spawn_blocking(move || encode(&name, version, &bytes, params))
        .await
        .map_err(|e| ShardError::Actor(e.to_string()))??;
    let manifest = encoded.manifest;
    // A model published by hand (epoch 0): `from` must be an active aggregator that founded or
    // publishes for the project; a model the network trains is registered by its epoch's
    // aggregator instead.
    let registration = autonet_contracts::ModelRegistration {
        model_id: B256::from(manifest.id().0),
        project_id: options.project_id,
        root: B256::from(manifest.root.0),
        k: manifest.k,
        m: manifest.m,
        epoch: 0,
        leaves: manifest.leaves.iter().map(|l| B256::from(l.0)).collect(),
    };
    chain
        .register_model(from, &registration)
        .await
        .map_err(|e| ShardError::Chain(format!("register model: {e}")))?;
    place_model(host, manifest, encoded.shards, options.replication).await
}

/// Hands the shards of a registered model to the peers placement picks (`replication` copies
/// of each); an error unless every shard found a holder.
pub async fn place_model(
    host: &ShardHost,
    manifest: ShardManifest,
    shards: Vec<Vec<u8>>,
    replication: usize,
) -> Result<Published, ShardError> {
    let shards: Vec<(u16, Vec<u8>)> = shards
        .into_iter()
        .enumerate()
        .map(|(i, s)| (u16::try_from(i).unwrap_or(u16::MAX), s))
        .collect();
    let manifest = Arc::new(manifest);
    let placed = place_shards(host, manifest.clone(), shards, replication, &HashSet::new()).await?;
    let mut holders = vec![Vec::new(); manifest.leaves.len()];
    for (index, peers) in placed {
        holders[usize::from(index)] = peers;
    }
    if let Some(index) = holders.iter().position(Vec::is_empty) {
        return Err(ShardError::Placement(format!("no peer took shard {index}")));
    }
    Ok(Published {
        manifest: Arc::unwrap_or_clone(manifest),
        holders,
    })
}

/// Peers (other than this one and `exclude`) that answer the shard protocol.
pub async fn shard_peers(host: &ShardHost, exclude: &HashSet<PeerId>) -> Vec<PeerId> {
    let me = host.peer_id();
    let known = host.client().known_peers().await.unwrap_or_default();
    let mut probes = JoinSet::new();
    for peer in known
        .into_iter()
        .filter(|p| *p != me && !exclude.contains(p))
    {
        let client = host.client().clone();
        probes.spawn(async move {
            let probe = ShardRequest::Has {
                model: [0; 32],
                index: 0,
            };
            // Any shard answer: the peer runs a host (one that runs none answers Unavailable).
            call(&client, peer, &probe).await.ok().map(|_| peer)
        });
    }
    let mut peers = Vec::new();
    while let Some(joined) = probes.join_next().await {
        if let Ok(Some(peer)) = joined {
            peers.push(peer);
        }
    }
    peers.sort();
    peers
}

/// Rounds of asking: a peer that failed to take a shard (busy, timed out, restarting) is asked
/// again in the next round, after the other candidates.
const PLACE_ROUNDS: u32 = 3;

/// Hands `replication` copies of each shard to peers that answer the shard protocol (not in
/// `exclude`), placed by rendezvous hashing; a peer that refuses or fails is replaced by the
/// next one in rendezvous order, and asked again in a later round when no one else took it.
/// Returns the holders obtained per index.
pub async fn place_shards(
    host: &ShardHost,
    manifest: Arc<ShardManifest>,
    shards: Vec<(u16, Vec<u8>)>,
    replication: usize,
    exclude: &HashSet<PeerId>,
) -> Result<Vec<(u16, Vec<PeerId>)>, ShardError> {
    let model = manifest.id().0;
    let candidates = shard_peers(host, exclude).await;
    if candidates.is_empty() {
        return Err(ShardError::Placement(
            "no peer answers the shard protocol".into(),
        ));
    }
    let indices: Vec<u16> = shards.iter().map(|(i, _)| *i).collect();
    let plan = place_indices(&model, &indices, replication, &candidates);
    host.stage(manifest.clone(), shards);
    // (index, peer) pairs being asked or already holding, shared so that two copies of a shard
    // never go to one peer; a failed ask releases its pair for a later round.
    let claimed: Arc<Mutex<HashSet<(u16, PeerId)>>> = Arc::new(Mutex::new(HashSet::new()));
    let manifest_bytes = Arc::new(manifest.to_bytes());
    let mut tasks = JoinSet::new();
    for (index, first_choices) in indices.iter().copied().zip(plan) {
        let fallback = ranked(&model, index, &candidates);
        for first in first_choices {
            let order: Vec<PeerId> = std::iter::once(first)
                .chain(fallback.iter().copied().filter(|p| *p != first))
                .collect();
            let asker = Asker {
                client: host.client().clone(),
                claimed: claimed.clone(),
                manifest: manifest_bytes.clone(),
                source: host.peer_id().to_bytes(),
            };
            tasks.spawn(async move { (index, asker.place(index, order).await) });
        }
    }
    let mut holders: Vec<(u16, Vec<PeerId>)> = indices.iter().map(|i| (*i, Vec::new())).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, Some(peer))) = joined
            && let Some((_, list)) = holders.iter_mut().find(|(i, _)| *i == index)
        {
            list.push(peer);
        }
    }
    host.unstage(&model);
    Ok(holders)
}

/// Asks peers to hold one copy of a shard.
struct Asker {
    client: autonet_p2p::Client,
    claimed: Arc<Mutex<HashSet<(u16, PeerId)>>>,
    manifest: Arc<Vec<u8>>,
    source: Vec<u8>,
}

impl Asker {
    /// Walks `order` for up to [`PLACE_ROUNDS`] rounds; the first peer that holds the shard.
    async fn place(&self, index: u16, order: Vec<PeerId>) -> Option<PeerId> {
        for round in 0..PLACE_ROUNDS {
            if round > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(500 << round)).await;
            }
            for peer in &order {
                let fresh = self
                    .claimed
                    .lock()
                    .map(|mut c| c.insert((index, *peer)))
                    .unwrap_or(false);
                if !fresh {
                    continue;
                }
                if self.ask(*peer, index).await {
                    return Some(*peer);
                }
                if let Ok(mut c) = self.claimed.lock() {
                    c.remove(&(index, *peer));
                }
            }
        }
        None
    }

    async fn ask(&self, peer: PeerId, index: u16) -> bool {
        let request = ShardRequest::Hold {
            manifest: self.manifest.to_vec(),
            index,
            source: self.source.clone(),
        };
        match call(&self.client, peer, &request).await {
            Ok(ShardResponse::Held) => return true,
            Ok(other) => tracing::info!(%peer, index, ?other, "peer did not take shard"),
            Err(err) => tracing::info!(%peer, index, %err, "hold request failed"),
        }
        false
    }
}
