//! The shard host: one per node. It answers the shard protocol (the RPC service
//! [`SHARD_SERVICE`]), keeps one supervised
//! [`ShardActor`] per held shard, stages shards it is handing out, limits its upload rate when
//! asked to, and runs the repair loop.
//!
//! A `Hold` request is honoured only when the chain says so ([`super::authority`]): the model is
//! registered on `ModelShardRegistry` with the manifest's root, k and m, and the requester is a
//! staked peer or the peer placement makes responsible for re-placing that shard. The shard is
//! then streamed to disk chunk by chunk (a temporary file, its BLAKE3 checked against the leaf,
//! renamed into place), a few at a time (a semaphore) within the quota counting the downloads in
//! flight. Old models are collected by on-chain registration order.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use autonet_models::sharding::{ShardManifest, verify_shard};
use autonet_p2p::{Client, InboundRpc, PeerAction, PeerId, RpcResponse};
use ractor::{Actor, ActorRef};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::ModelId;
use super::actor::{ShardActor, ShardArgs, ShardMsg, actor_name};
use super::authority::{HoldAuthority, matches_registration};
use super::config::{HostConfig, UploadLimiter};
use super::disk::{HeldModel, ShardDisk, versions_to_drop};
use super::error::ShardError;
use super::fetch::{DownloadError, download_shard_to_file};
use super::placement::ranked;
use super::rpc::{SHARD_BUDGET, SHARD_SERVICE};
use super::wire::{self, ShardRequest, ShardResponse};
use crate::supervisor::{ChildSpec, Supervisor, SupervisorConfig, SupervisorMsg};

/// How long the host waits for a shard actor's answer.
const ACTOR_TIMEOUT: Duration = Duration::from_secs(20);

type Staged = HashMap<(ModelId, u16), (Arc<ShardManifest>, Arc<Vec<u8>>)>;

#[derive(Debug)]
struct Inner {
    client: Client,
    name: String,
    disk: ShardDisk,
    config: HostConfig,
    supervisor: ActorRef<SupervisorMsg>,
    staged: Mutex<Staged>,
    limiter: Option<UploadLimiter>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    bytes_served: AtomicU64,
    /// The chain's word on models and requesters; `None`: hold nothing for others.
    authority: Option<Arc<dyn HoldAuthority>>,
    /// Bounds the `Hold` downloads in flight.
    hold_slots: tokio::sync::Semaphore,
    /// One placement check (DHT lookups and probes for an unstaked requester) at a time.
    placement_checks: tokio::sync::Semaphore,
    /// Bytes and shards of the downloads in flight (counted against the quota).
    taking: Mutex<(u64, HashSet<(ModelId, u16)>)>,
}

/// A download in flight: its bytes count against the quota until it is dropped.
struct Taking {
    inner: Arc<Inner>,
    key: (ModelId, u16),
    bytes: u64,
}

impl Drop for Taking {
    fn drop(&mut self) {
        if let Ok(mut taking) = self.inner.taking.lock() {
            taking.0 = taking.0.saturating_sub(self.bytes);
            taking.1.remove(&self.key);
        }
    }
}

/// A handle on a node's shard host; cheap to clone.
#[derive(Debug, Clone)]
pub struct ShardHost {
    inner: Arc<Inner>,
}

impl ShardHost {
    /// A host without a chain: it serves and repairs what it holds but refuses every `Hold`
    /// request, since it cannot check models or requesters. See [`ShardHost::start_with`].
    pub async fn start(client: Client, config: HostConfig) -> Result<Self, ShardError> {
        Self::start_inner(client, config, None).await
    }

    /// Opens the shard folder, starts an actor for every shard already held, and starts
    /// answering the shard protocol on `client` (and the repair loop if configured); `Hold`
    /// requests are checked against `authority` (normally a
    /// [`ChainAuthority`](super::authority::ChainAuthority)).
    pub async fn start_with(
        client: Client,
        config: HostConfig,
        authority: Arc<dyn HoldAuthority>,
    ) -> Result<Self, ShardError> {
        Self::start_inner(client, config, Some(authority)).await
    }

    async fn start_inner(
        client: Client,
        config: HostConfig,
        authority: Option<Arc<dyn HoldAuthority>>,
    ) -> Result<Self, ShardError> {
        let disk = ShardDisk::open(config.data_dir.join("shards"), config.quota_bytes)?;
        let supervisor_config = SupervisorConfig {
            max_restarts: 20,
            window: Duration::from_secs(60),
            children: Vec::new(),
        };
        let (supervisor, _) = Actor::spawn(None, Supervisor, supervisor_config)
            .await
            .map_err(|e| ShardError::Actor(e.to_string()))?;
        let limiter = config.upload_bytes_per_sec.map(UploadLimiter::new);
        let config_downloads = config.hold_downloads.max(1);
        let host = Self {
            inner: Arc::new(Inner {
                name: client.peer_id().to_string(),
                client,
                disk,
                config,
                supervisor,
                staged: Mutex::new(HashMap::new()),
                limiter,
                tasks: Mutex::new(Vec::new()),
                bytes_served: AtomicU64::new(0),
                authority,
                hold_slots: tokio::sync::Semaphore::new(config_downloads),
                placement_checks: tokio::sync::Semaphore::new(1),
                taking: Mutex::new((0, HashSet::new())),
            }),
        };
        for held in host.inner.disk.held() {
            let manifest = Arc::new(held.manifest);
            for index in held.indices {
                if let Err(err) = host.start_actor(manifest.clone(), index).await {
                    tracing::warn!(index, %err, "cannot serve held shard");
                }
            }
        }
        let (tx, rx) = mpsc::channel(256);
        let client = &host.inner.client;
        client
            .serve_rpc(SHARD_SERVICE, tx, Some(SHARD_BUDGET))
            .await?;
        let serve = tokio::spawn(host.clone().serve(rx));
        host.push_task(serve);
        if let Some(interval) = host.inner.config.repair_interval {
            let repair = tokio::spawn(super::repair::run(host.clone(), interval));
            host.push_task(repair);
        }
        Ok(host)
    }

    fn push_task(&self, task: JoinHandle<()>) {
        if let Ok(mut tasks) = self.inner.tasks.lock() {
            tasks.push(task);
        }
    }

    /// The overlay client this host serves on.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The overlay identity of this host.
    pub fn peer_id(&self) -> PeerId {
        self.inner.client.peer_id()
    }

    /// The settings the host was started with.
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// Shards held on disk.
    pub fn held(&self) -> Vec<HeldModel> {
        self.inner.disk.held()
    }

    /// Whether shard `index` of `model` is held and served.
    pub fn holds(&self, model: &ModelId, index: u16) -> bool {
        self.actor(model, index).is_some()
    }

    /// Path of a held shard file (tests corrupt it to play a lying holder).
    pub fn shard_path(&self, model: &ModelId, index: u16) -> PathBuf {
        self.inner.disk.shard_path(model, index)
    }

    /// Bytes of chunk data this host has answered with.
    pub fn bytes_served(&self) -> u64 {
        self.inner.bytes_served.load(Ordering::Relaxed)
    }

    /// Stops serving: the repair loop and request handling end, shard actors stop (withdrawing
    /// their provider records). Files stay on disk.
    pub async fn shutdown(&self) {
        let tasks: Vec<JoinHandle<()>> = self
            .inner
            .tasks
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for task in tasks {
            task.abort();
        }
        self.inner.supervisor.stop_children(None);
        self.inner.supervisor.stop(None);
    }

    /// Serves shards of `manifest` from memory without announcing them (a publisher or
    /// repairer handing shards to their holders).
    pub fn stage(&self, manifest: Arc<ShardManifest>, shards: Vec<(u16, Vec<u8>)>) {
        let model = manifest.id().0;
        if let Ok(mut staged) = self.inner.staged.lock() {
            for (index, bytes) in shards {
                staged.insert((model, index), (manifest.clone(), Arc::new(bytes)));
            }
        }
    }

    /// Drops staged shards of `model`.
    pub fn unstage(&self, model: &ModelId) {
        if let Ok(mut staged) = self.inner.staged.lock() {
            staged.retain(|(m, _), _| m != model);
        }
    }

    /// Checks `bytes` against the manifest, stores them, starts serving them, then applies the
    /// version GC policy.
    pub async fn hold(
        &self,
        manifest: Arc<ShardManifest>,
        index: u16,
        bytes: &[u8],
    ) -> Result<(), ShardError> {
        verify_shard(&manifest, usize::from(index), bytes)?;
        let model = manifest.id().0;
        if self.holds(&model, index) {
            return Ok(());
        }
        self.inner.disk.write_shard(&manifest, index, bytes)?;
        self.start_actor(manifest, index).await?;
        self.collect_garbage().await;
        Ok(())
    }

    /// Stops serving and deletes shard `index` of `model`.
    pub async fn drop_shard(&self, model: &ModelId, index: u16) -> Result<(), ShardError> {
        let name = actor_name(&self.inner.name, model, index);
        let _ = ractor::call!(self.inner.supervisor, SupervisorMsg::StopChild, name);
        self.inner.disk.remove_shard(model, index)
    }

    /// Drops the models registered before the `keep_versions` last ones of their project (on-chain
    /// registration order; a model whose registration cannot be read is left alone).
    async fn collect_garbage(&self) {
        let Some(authority) = &self.inner.authority else {
            return;
        };
        let held = self.inner.disk.held();
        let mut registered = Vec::with_capacity(held.len());
        for h in &held {
            let model = h.manifest.id().0;
            match authority.registration(model).await {
                Ok(r) => registered.push((model, r)),
                Err(err) => {
                    tracing::debug!(%err, "not collecting a model whose registration is unknown")
                }
            }
        }
        for model in versions_to_drop(&registered, self.inner.config.keep_versions) {
            let Some(h) = held.iter().find(|h| h.manifest.id().0 == model) else {
                continue;
            };
            tracing::info!(name = %h.manifest.model, version = h.manifest.version, "dropping a model registered before the newer ones kept");
            for index in &h.indices {
                if let Err(err) = self.drop_shard(&model, *index).await {
                    tracing::warn!(%err, "cannot drop old shard");
                }
            }
        }
    }

    async fn start_actor(
        &self,
        manifest: Arc<ShardManifest>,
        index: u16,
    ) -> Result<(), ShardError> {
        let model = manifest.id().0;
        let name = actor_name(&self.inner.name, &model, index);
        let args = ShardArgs {
            client: self.inner.client.clone(),
            path: self.inner.disk.shard_path(&model, index),
            manifest,
            index,
        };
        let spawn_name = name.clone();
        let spec = ChildSpec {
            name: name.clone(),
            start: Arc::new(move |sup| {
                let (name, args) = (spawn_name.clone(), args.clone());
                Box::pin(async move {
                    Actor::spawn_linked(Some(name), ShardActor, args, sup)
                        .await
                        .map(|(actor, _)| actor.get_cell())
                })
            }),
        };
        match ractor::call!(self.inner.supervisor, SupervisorMsg::StartChild, spec) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(reason)) if reason.contains("already running") => Ok(()),
            Ok(Err(reason)) => Err(ShardError::Actor(reason)),
            Err(err) => Err(ShardError::Actor(err.to_string())),
        }
    }

    fn actor(&self, model: &ModelId, index: u16) -> Option<ActorRef<ShardMsg>> {
        ActorRef::<ShardMsg>::where_is(actor_name(&self.inner.name, model, index))
    }

    async fn serve(self, mut requests: mpsc::Receiver<InboundRpc>) {
        while let Some(rpc) = requests.recv().await {
            tokio::spawn(self.clone().serve_one(rpc));
        }
    }

    /// Answers one request: a chunk after the upload pacing lets it out; something that is not a
    /// shard message with a refusal and a penalty (an honest peer never sends one).
    async fn serve_one(self, rpc: InboundRpc) {
        let client = &self.inner.client;
        let request = match wire::decode::<ShardRequest>(&rpc.body) {
            Ok(request) => request,
            Err(err) => {
                let reason = err.to_string();
                tracing::info!(peer = %rpc.peer, %reason, "bad shard request");
                // Answer first: the strike may ban the peer and close the connection.
                let _ = client
                    .answer_rpc(rpc.id, RpcResponse::Error { reason })
                    .await;
                let _ = client.penalize(rpc.peer, PeerAction::Malformed).await;
                return;
            }
        };
        let answer = self.answer(rpc.peer, request).await;
        if let ShardResponse::Chunk { data, .. } = &answer {
            if let Some(limiter) = &self.inner.limiter {
                limiter.pass(data.len()).await;
            }
            let served = &self.inner.bytes_served;
            served.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        let body = wire::encode(&answer);
        let _ = client.answer_rpc(rpc.id, RpcResponse::Ok { body }).await;
    }

    fn staged(
        &self,
        model: &ModelId,
        index: Option<u16>,
    ) -> Option<(Arc<ShardManifest>, Arc<Vec<u8>>)> {
        let staged = self.inner.staged.lock().ok()?;
        match index {
            Some(i) => staged.get(&(*model, i)).cloned(),
            None => staged
                .iter()
                .find(|((m, _), _)| m == model)
                .map(|(_, v)| v.clone()),
        }
    }

    async fn answer(&self, peer: PeerId, request: ShardRequest) -> ShardResponse {
        match request {
            ShardRequest::Manifest { model } => match self.inner.disk.manifest(&model) {
                Some(m) => ShardResponse::Manifest(m.to_bytes()),
                None => match self.staged(&model, None) {
                    Some((m, _)) => ShardResponse::Manifest(m.to_bytes()),
                    None => ShardResponse::NotFound,
                },
            },
            ShardRequest::Has { model, index } => ShardResponse::Has(self.holds(&model, index)),
            ShardRequest::Chunk {
                model,
                index,
                chunk,
            } => self.answer_chunk(model, index, chunk).await,
            ShardRequest::Hold {
                manifest,
                index,
                source,
            } => match self.take(peer, &manifest, index, &source).await {
                Ok(()) => ShardResponse::Held,
                Err(err) => {
                    tracing::info!(%peer, index, %err, "refusing to hold shard");
                    ShardResponse::Refused(err.to_string())
                }
            },
        }
    }

    async fn answer_chunk(&self, model: ModelId, index: u16, chunk: u32) -> ShardResponse {
        if let Some(actor) = self.actor(&model, index) {
            return match actor
                .call(|reply| ShardMsg::Chunk(chunk, reply), Some(ACTOR_TIMEOUT))
                .await
            {
                Ok(ractor::rpc::CallResult::Success(answer)) => answer,
                _ => ShardResponse::NotFound,
            };
        }
        let Some((manifest, bytes)) = self.staged(&model, Some(index)) else {
            return ShardResponse::NotFound;
        };
        let Some((start, end)) = wire::chunk_range(manifest.shard_size, chunk) else {
            return ShardResponse::NotFound;
        };
        let range = usize::try_from(start).unwrap_or(usize::MAX)..usize::try_from(end).unwrap_or(0);
        ShardResponse::Chunk {
            total: wire::chunk_count(manifest.shard_size),
            data: bytes.get(range).map(<[u8]>::to_vec).unwrap_or_default(),
            proof: manifest
                .proof(usize::from(index))
                .unwrap_or_default()
                .into_iter()
                .map(|d| d.0)
                .collect(),
        }
    }

    /// Handles a `Hold` request from `peer`: check the model and the requester against the chain,
    /// then stream the shard from `source` to disk, check it and hold it.
    async fn take(
        &self,
        peer: PeerId,
        manifest: &[u8],
        index: u16,
        source: &[u8],
    ) -> Result<(), ShardError> {
        let manifest = Arc::new(ShardManifest::from_bytes(manifest)?);
        let source = PeerId::from_bytes(source).map_err(|e| ShardError::Wire(e.to_string()))?;
        let model = manifest.id().0;
        if usize::from(index) >= manifest.leaves.len() {
            return Err(ShardError::Wire(format!(
                "no shard {index} in the manifest"
            )));
        }
        if self.holds(&model, index) {
            return Ok(());
        }
        let Some(authority) = self.inner.authority.clone() else {
            return Err(ShardError::Refused(
                "this host has no chain to check models against".into(),
            ));
        };
        let registered = authority.registration(model).await?;
        if !matches_registration(&manifest, &registered) {
            return Err(ShardError::RootMismatch {
                model: autonet_p2p::records::to_hex(&model),
                manifest: manifest.root.to_string(),
                registered: registered.root.to_string(),
            });
        }
        if !authority.is_staked(peer).await && !self.placed_by(peer, source, &manifest, index).await
        {
            return Err(ShardError::Refused(format!(
                "{peer} is not staked, and placement does not make it the placer of shard {index}"
            )));
        }
        let _slot = self
            .inner
            .hold_slots
            .acquire()
            .await
            .map_err(|e| ShardError::Actor(e.to_string()))?;
        if self.holds(&model, index) {
            return Ok(());
        }
        let _taking = self.reserve(model, index, manifest.shard_size)?;
        let incoming = self.inner.disk.incoming_path(&model, index)?;
        match download_shard_to_file(&self.inner.client, source, &manifest, index, &incoming).await
        {
            Ok(()) => {}
            Err(DownloadError::Corrupt(reason)) => {
                let _ = self
                    .inner
                    .client
                    .penalize(source, autonet_p2p::PeerAction::Lied)
                    .await;
                return Err(ShardError::Placement(format!(
                    "download from {source}: bad shard data: {reason}"
                )));
            }
            Err(err) => {
                return Err(ShardError::Placement(format!(
                    "download from {source}: {err}"
                )));
            }
        }
        self.inner.disk.commit_shard(&manifest, index, &incoming)?;
        self.start_actor(manifest, index).await?;
        self.collect_garbage().await;
        Ok(())
    }

    /// Counts a download of `bytes` against the quota (with those in flight), or refuses it.
    fn reserve(&self, model: ModelId, index: u16, bytes: u64) -> Result<Taking, ShardError> {
        let mut taking = self
            .inner
            .taking
            .lock()
            .map_err(|e| ShardError::Actor(e.to_string()))?;
        if taking.1.contains(&(model, index)) {
            return Err(ShardError::Refused(format!(
                "shard {index} is already being downloaded"
            )));
        }
        let quota = self.inner.config.quota_bytes;
        let committed = self.inner.disk.used().saturating_add(taking.0);
        let free = quota.saturating_sub(committed);
        if bytes > free {
            return Err(ShardError::QuotaExceeded {
                need: bytes,
                free,
                quota,
            });
        }
        taking.0 += bytes;
        taking.1.insert((model, index));
        Ok(Taking {
            inner: self.inner.clone(),
            key: (model, index),
            bytes,
        })
    }

    /// Whether placement makes `peer` the one to re-place shard `index`: it hands out its own
    /// copy (`source` is itself), is a live holder of the model and ranks first for that shard
    /// among all live holders (the repair rule). The check costs DHT lookups and probes, so only
    /// one runs at a time; requests meanwhile are refused (a repairer then keeps the shard).
    async fn placed_by(
        &self,
        peer: PeerId,
        source: PeerId,
        manifest: &ShardManifest,
        index: u16,
    ) -> bool {
        if peer != source {
            return false;
        }
        let Ok(_check) = self.inner.placement_checks.try_acquire() else {
            tracing::debug!(%peer, "placement check busy; refusing");
            return false;
        };
        let model = manifest.id().0;
        let here: Vec<u16> = (0..manifest.leaves.len())
            .filter_map(|i| u16::try_from(i).ok())
            .filter(|i| self.holds(&model, *i))
            .collect();
        let live = super::repair::live_holders(&self.inner.client, manifest, &here).await;
        let everyone: Vec<PeerId> = live
            .iter()
            .flatten()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        everyone.contains(&peer) && ranked(&model, index, &everyone).first() == Some(&peer)
    }
}
