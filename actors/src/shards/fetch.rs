//! Fetching a model: the manifest from any holder, then any `k` shards in parallel from
//! distinct providers, each checked against its leaf (and its proof against the registered
//! root) before use; then the rebuild and the model-hash check.
//!
//! Verified shards are written to the progress folder and recorded in a redb table before they
//! count, so a fetch that is killed and restarted with the same folder reuses them and transfers
//! only the missing ones. A provider that serves bytes failing their leaf or proof is penalized
//! on the overlay (its peer score falls) and never asked again in this fetch; the shard is taken
//! from another provider or replaced by another index.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use autonet_models::sharding::{ShardManifest, merkle, rebuild};
use autonet_models::substrate::ids::Digest;
use autonet_p2p::records::to_hex;
use autonet_p2p::{Client, PeerId};
use futures::StreamExt;
use tokio::task::JoinSet;

use super::ModelId;
use super::error::ShardError;
use super::progress::Progress;
use super::roots::RootSource;
use super::rpc::{CallError, call};
use super::wire::{self, ShardRequest, ShardResponse};

/// Chunk requests in flight per shard download.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Something that happened during a fetch (progress bars, logs, tests).
#[derive(Debug, Clone)]
pub enum FetchEvent {
    /// The manifest was fetched and checked against the registered root.
    Manifest {
        /// Model length in bytes.
        size: u64,
        /// Data shards.
        k: u16,
        /// Parity shards.
        m: u16,
        /// Bytes per shard.
        shard_size: u64,
    },
    /// A shard was reused from the progress folder of an earlier fetch.
    Resumed {
        /// Which shard: 0-based, data shards before parity shards.
        index: u16,
    },
    /// A chunk of a shard arrived (not yet checked).
    Bytes {
        /// Which shard: 0-based, data shards before parity shards.
        index: u16,
        /// Bytes in this chunk.
        bytes: usize,
    },
    /// A downloaded shard matched its Merkle leaf.
    Verified {
        /// Which shard: 0-based, data shards before parity shards.
        index: u16,
        /// The provider that served it.
        from: PeerId,
    },
    /// A provider served bytes that fail the proof or the leaf; it is penalized and avoided.
    Corrupt {
        /// Which shard: 0-based, data shards before parity shards.
        index: u16,
        /// The provider that lied.
        from: PeerId,
    },
    /// A download failed without proof of lying (timeout, refusal, local error).
    Failed {
        /// Which shard: 0-based, data shards before parity shards.
        index: u16,
        /// The provider asked.
        from: PeerId,
        /// What went wrong.
        reason: String,
    },
}

/// Called for every [`FetchEvent`].
pub type EventSink = Arc<dyn Fn(&FetchEvent) + Send + Sync>;

/// How to fetch.
#[derive(Clone, Default)]
pub struct FetchOptions {
    /// Shards downloaded at once; 0 means `k`.
    pub concurrency: usize,
    /// Folder for verified shards and the progress table; `None` keeps them in memory only.
    pub progress_dir: Option<PathBuf>,
    /// Called for every [`FetchEvent`]; `None` reports nothing.
    pub on_event: Option<EventSink>,
}

impl std::fmt::Debug for FetchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchOptions")
            .field("concurrency", &self.concurrency)
            .field("progress_dir", &self.progress_dir)
            .finish_non_exhaustive()
    }
}

/// What a fetch did.
#[derive(Debug, Clone, Default)]
pub struct FetchReport {
    /// Shards reused from the progress folder.
    pub resumed: Vec<u16>,
    /// Shards downloaded, with their provider.
    pub fetched: Vec<(u16, PeerId)>,
    /// Bad shards received, with the provider that sent them.
    pub corrupt: Vec<(u16, PeerId)>,
    /// Chunk bytes received (including bad shards).
    pub bytes_transferred: u64,
}

/// A fetched model.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The model bytes, checked against the manifest's model hash.
    pub bytes: Vec<u8>,
    /// The manifest they were rebuilt with.
    pub manifest: ShardManifest,
    /// What the fetch did.
    pub report: FetchReport,
}

/// Why one shard download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The provider sent bytes that fail the proof, the leaf or the framing: it lied.
    #[error("bad shard data: {0}")]
    Corrupt(String),
    /// Not held there, unreachable, refused: try elsewhere, no blame.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// This node could not store what it received (disk full, I/O error): nobody's fault there.
    #[error("local: {0}")]
    Local(String),
}

/// Downloads shard `index` from `peer` chunk by chunk and checks it: every chunk's proof against
/// the manifest root, the framing, and the whole shard against its leaf.
pub async fn download_shard(
    client: &Client,
    peer: PeerId,
    manifest: &ShardManifest,
    index: u16,
    on_bytes: &(dyn Fn(usize) + Sync),
) -> Result<Vec<u8>, DownloadError> {
    // Grows with the bytes received (each chunk checked against the manifest first), never
    // pre-sized from a length.
    let mut shard = Vec::new();
    stream_shard(client, peer, manifest, index, &mut |data: &[u8]| {
        on_bytes(data.len());
        shard.extend_from_slice(data);
        Ok(())
    })
    .await?;
    Ok(shard)
}

/// Downloads shard `index` from `peer` into the file `path` chunk by chunk (never holding more
/// than the chunks in flight), hashing as it writes; the file is synced and kept only when the
/// whole matches its leaf, else removed.
pub async fn download_shard_to_file(
    client: &Client,
    peer: PeerId,
    manifest: &ShardManifest,
    index: u16,
    path: &std::path::Path,
) -> Result<(), DownloadError> {
    use std::io::Write;
    let local = |what: &str, e: std::io::Error| {
        DownloadError::Local(format!("{what} {}: {e}", path.display()))
    };
    let file = std::fs::File::create(path).map_err(|e| local("create", e))?;
    let mut out = std::io::BufWriter::new(file);
    let result = stream_shard(client, peer, manifest, index, &mut |data: &[u8]| {
        out.write_all(data).map_err(|e| local("write", e))
    })
    .await;
    let result =
        match result.and_then(|()| out.into_inner().map_err(|e| local("write", e.into_error()))) {
            // fsync may take a while: off the async workers.
            Ok(file) => match tokio::task::spawn_blocking(move || file.sync_all()).await {
                Ok(synced) => synced.map_err(|e| local("sync", e)),
                Err(e) => Err(DownloadError::Local(e.to_string())),
            },
            Err(e) => Err(e),
        };
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// The chunk loop of a shard download: requests the manifest's chunk count (a few in flight),
/// checks each answer's framing and proof before handing its bytes to `sink`, hashes them, and
/// checks the whole against the leaf at the end.
async fn stream_shard(
    client: &Client,
    peer: PeerId,
    manifest: &ShardManifest,
    index: u16,
    sink: &mut (dyn FnMut(&[u8]) -> Result<(), DownloadError> + Send),
) -> Result<(), DownloadError> {
    let model = manifest.id().0;
    let leaf = *manifest
        .leaves
        .get(usize::from(index))
        .ok_or_else(|| DownloadError::Unavailable(format!("no shard {index}")))?;
    let chunks = wire::chunk_count(manifest.shard_size);
    let mut hasher = blake3::Hasher::new();
    let mut received = 0u64;
    // Several chunk requests in flight per shard, so a provider's per-request latency (disk read,
    // framing, a paced uplink) overlaps instead of adding up; chunks are consumed in order.
    let mut answers = futures::stream::iter(0..chunks)
        .map(|chunk| {
            let request = ShardRequest::Chunk {
                model,
                index,
                chunk,
            };
            async move { (chunk, call(client, peer, &request).await) }
        })
        .buffered(CHUNKS_IN_FLIGHT);
    while let Some((chunk, answer)) = answers.next().await {
        let answer = answer.map_err(|e| match e {
            CallError::Garbled(reason) => DownloadError::Corrupt(reason),
            other => DownloadError::Unavailable(other.to_string()),
        })?;
        let (total, data, proof) = match answer {
            ShardResponse::Chunk { total, data, proof } => (total, data, proof),
            ShardResponse::NotFound => {
                return Err(DownloadError::Unavailable("shard not held".into()));
            }
            other => {
                return Err(DownloadError::Corrupt(format!(
                    "unexpected {}",
                    wire::kind(&other)
                )));
            }
        };
        let expected = wire::chunk_range(manifest.shard_size, chunk)
            .map(|(s, e)| (e - s) as usize)
            .unwrap_or(0);
        if total != chunks || data.len() != expected {
            return Err(DownloadError::Corrupt(format!(
                "chunk {chunk}: {} bytes of {total} chunks, expected {expected} of {chunks}",
                data.len()
            )));
        }
        let proof: Vec<Digest> = proof.into_iter().map(Digest).collect();
        if !merkle::verify(&proof, &manifest.root, &leaf) {
            return Err(DownloadError::Corrupt(
                "Merkle proof does not reach the root".into(),
            ));
        }
        hasher.update(&data);
        received += data.len() as u64;
        sink(&data)?;
    }
    if received != manifest.shard_size || hasher.finalize().as_bytes() != &leaf.0 {
        return Err(DownloadError::Corrupt(format!(
            "shard {index} does not match its Merkle leaf (BLAKE3 differs)"
        )));
    }
    Ok(())
}

/// Asks holders of `model` for its manifest and keeps the first whose id is `model`.
pub async fn get_manifest(client: &Client, model: ModelId) -> Result<ShardManifest, ShardError> {
    let providers = client.providers(wire::model_key(&model)).await?;
    for peer in providers.into_iter().filter(|p| *p != client.peer_id()) {
        let request = ShardRequest::Manifest { model };
        if let Ok(ShardResponse::Manifest(bytes)) = call(client, peer, &request).await
            && let Ok(manifest) = ShardManifest::from_bytes(&bytes)
            && manifest.id().0 == model
        {
            return Ok(manifest);
        }
    }
    Err(ShardError::ManifestNotFound(to_hex(&model)))
}

/// Fetches model `model`, checking it against the root `roots` gives for it.
pub async fn fetch(
    client: &Client,
    roots: &impl RootSource,
    model: ModelId,
    options: FetchOptions,
) -> Result<Fetched, ShardError> {
    let registered = roots.registered(model).await?;
    let manifest = get_manifest(client, model).await?;
    if manifest.root.0 != registered.root
        || manifest.k != registered.k
        || manifest.m != registered.m
    {
        return Err(ShardError::RootMismatch {
            model: to_hex(&model),
            manifest: manifest.root.to_string(),
            registered: to_hex(&registered.root),
        });
    }
    let emit = |event: FetchEvent| {
        if let Some(sink) = &options.on_event {
            sink(&event);
        }
    };
    emit(FetchEvent::Manifest {
        size: manifest.size,
        k: manifest.k,
        m: manifest.m,
        shard_size: manifest.shard_size,
    });
    let progress = match &options.progress_dir {
        Some(dir) => Some(Arc::new(Progress::open(dir.clone())?)),
        None => None,
    };
    let mut have = match &progress {
        Some(p) => p.load(&manifest)?,
        None => BTreeMap::new(),
    };
    let mut report = FetchReport {
        resumed: have.keys().copied().collect(),
        ..FetchReport::default()
    };
    for index in &report.resumed {
        emit(FetchEvent::Resumed { index: *index });
    }
    let k = usize::from(manifest.k);
    let manifest = Arc::new(manifest);
    if have.len() < k {
        let mut run = Scheduler::new(client, manifest.clone(), &have, &options).await;
        run.drive(&mut have, &mut report, progress.clone(), &emit)
            .await?;
    }
    let shards: Vec<(usize, Vec<u8>)> =
        have.into_iter().map(|(i, b)| (usize::from(i), b)).collect();
    let bytes = rebuild(&manifest, shards)?;
    if let Some(p) = &progress {
        p.clear(&model, manifest.leaves.len());
    }
    Ok(Fetched {
        bytes,
        manifest: Arc::unwrap_or_clone(manifest),
        report,
    })
}

type Download = (u16, PeerId, Result<Vec<u8>, DownloadError>, f64);

/// Picks (shard, provider) pairs: distinct providers, fastest known first.
struct Scheduler {
    client: Client,
    manifest: Arc<ShardManifest>,
    concurrency: usize,
    on_event: Option<EventSink>,
    /// Untried providers per missing shard.
    providers: BTreeMap<u16, Vec<PeerId>>,
    speed: HashMap<PeerId, f64>,
    bad: HashSet<PeerId>,
    busy: HashSet<PeerId>,
    in_flight: HashSet<u16>,
}

impl Scheduler {
    async fn new(
        client: &Client,
        manifest: Arc<ShardManifest>,
        have: &BTreeMap<u16, Vec<u8>>,
        options: &FetchOptions,
    ) -> Self {
        let model = manifest.id().0;
        let mut lookups = JoinSet::new();
        for index in 0..manifest.leaves.len() {
            let index = u16::try_from(index).unwrap_or(u16::MAX);
            if have.contains_key(&index) {
                continue;
            }
            let client = client.clone();
            lookups.spawn(async move {
                let found = client.providers(wire::shard_key(&model, index)).await;
                (index, found.unwrap_or_default())
            });
        }
        let mut providers = BTreeMap::new();
        while let Some(Ok((index, found))) = lookups.join_next().await {
            let mut found: Vec<PeerId> = found
                .into_iter()
                .filter(|p| *p != client.peer_id())
                .collect();
            found.sort();
            providers.insert(index, found);
        }
        let k = usize::from(manifest.k);
        Self {
            client: client.clone(),
            manifest,
            concurrency: if options.concurrency == 0 {
                k
            } else {
                options.concurrency
            },
            on_event: options.on_event.clone(),
            providers,
            speed: HashMap::new(),
            bad: HashSet::new(),
            busy: HashSet::new(),
            in_flight: HashSet::new(),
        }
    }

    /// The next (shard, provider) to try, if any.
    fn next(&mut self, have: &BTreeMap<u16, Vec<u8>>) -> Option<(u16, PeerId)> {
        let known: Vec<f64> = self.speed.values().copied().collect();
        let unknown_speed = if known.is_empty() {
            f64::MAX
        } else {
            known.iter().sum::<f64>() / known.len() as f64
        };
        let mut best: Option<(bool, f64, u16, PeerId)> = None;
        for (index, peers) in &self.providers {
            if have.contains_key(index) || self.in_flight.contains(index) {
                continue;
            }
            for peer in peers.iter().filter(|p| !self.bad.contains(p)) {
                let free = !self.busy.contains(peer);
                let speed = self.speed.get(peer).copied().unwrap_or(unknown_speed);
                let better = match &best {
                    None => true,
                    Some((bf, bs, _, _)) => (free, speed) > (*bf, *bs),
                };
                if better {
                    best = Some((free, speed, *index, *peer));
                }
            }
        }
        let (_, _, index, peer) = best?;
        if let Some(list) = self.providers.get_mut(&index) {
            list.retain(|p| *p != peer);
        }
        Some((index, peer))
    }

    async fn drive(
        &mut self,
        have: &mut BTreeMap<u16, Vec<u8>>,
        report: &mut FetchReport,
        progress: Option<Arc<Progress>>,
        emit: &(dyn Fn(FetchEvent) + Sync),
    ) -> Result<(), ShardError> {
        let k = usize::from(self.manifest.k);
        let model = self.manifest.id().0;
        let mut tasks: JoinSet<Download> = JoinSet::new();
        let mut failures: Vec<String> = Vec::new();
        loop {
            while tasks.len() < self.concurrency && have.len() + tasks.len() < k {
                let Some((index, peer)) = self.next(have) else {
                    break;
                };
                self.in_flight.insert(index);
                self.busy.insert(peer);
                let (client, manifest, sink) = (
                    self.client.clone(),
                    self.manifest.clone(),
                    self.on_event.clone(),
                );
                tasks.spawn(async move {
                    let started = Instant::now();
                    let on_bytes = move |n: usize| {
                        if let Some(sink) = &sink {
                            sink(&FetchEvent::Bytes { index, bytes: n });
                        }
                    };
                    let result = download_shard(&client, peer, &manifest, index, &on_bytes).await;
                    (index, peer, result, started.elapsed().as_secs_f64())
                });
            }
            if have.len() >= k {
                return Ok(());
            }
            let Some(joined) = tasks.join_next().await else {
                return Err(ShardError::NotEnoughShards {
                    model: to_hex(&model),
                    have: have.len(),
                    need: k,
                    detail: if failures.is_empty() {
                        "no providers found".to_string()
                    } else {
                        failures.join("; ")
                    },
                });
            };
            let (index, peer, result, seconds) =
                joined.map_err(|e| ShardError::Actor(e.to_string()))?;
            self.in_flight.remove(&index);
            self.busy.remove(&peer);
            match result {
                Ok(bytes) => {
                    report.bytes_transferred += bytes.len() as u64;
                    self.speed
                        .insert(peer, bytes.len() as f64 / seconds.max(1e-6));
                    if let Some(p) = &progress {
                        let (p, bytes2) = (p.clone(), bytes.clone());
                        let leaf = self.manifest.leaves[usize::from(index)];
                        tokio::task::spawn_blocking(move || p.save(&model, index, &bytes2, &leaf))
                            .await
                            .map_err(|e| ShardError::Actor(e.to_string()))??;
                    }
                    have.insert(index, bytes);
                    report.fetched.push((index, peer));
                    emit(FetchEvent::Verified { index, from: peer });
                }
                Err(DownloadError::Corrupt(reason)) => {
                    tracing::warn!(%peer, index, %reason, "provider served a bad shard; penalizing");
                    report.bytes_transferred += self.manifest.shard_size;
                    report.corrupt.push((index, peer));
                    self.bad.insert(peer);
                    let _ = self
                        .client
                        .penalize(peer, autonet_p2p::PeerAction::Lied)
                        .await;
                    failures.push(format!("shard {index} from {peer}: {reason}"));
                    emit(FetchEvent::Corrupt { index, from: peer });
                }
                Err(DownloadError::Unavailable(reason) | DownloadError::Local(reason)) => {
                    tracing::debug!(%peer, index, %reason, "provider unavailable");
                    failures.push(format!("shard {index} from {peer}: {reason}"));
                    emit(FetchEvent::Failed {
                        index,
                        from: peer,
                        reason,
                    });
                }
            }
        }
    }
}
