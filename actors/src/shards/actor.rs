//! The shard actor: one supervised actor per held shard.
//!
//! On start it checks its file against the manifest leaf (a shard that no longer matches is
//! deleted and the actor stops normally, so the supervisor does not restart it) and announces
//! provider records for the shard and for the model (where fetchers find the manifest). It
//! serves chunks read from disk, each with the shard's Merkle proof. On stop it withdraws its
//! provider record for the shard.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use autonet_models::sharding::ShardManifest;
use autonet_p2p::Client;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::ModelId;
use super::wire::{self, ShardResponse};

/// How long a provider announcement may take before the actor serves anyway.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a shard actor is started with.
#[derive(Debug, Clone)]
pub struct ShardArgs {
    /// Overlay client the actor announces its provider records with.
    pub client: Client,
    /// Manifest of the model the shard belongs to (for its size and Merkle proof).
    pub manifest: Arc<ShardManifest>,
    /// Index of the held shard (data shards first, then parity).
    pub index: u16,
    /// The shard's file on disk.
    pub path: PathBuf,
}

/// Messages a shard actor answers.
#[derive(Debug)]
pub enum ShardMsg {
    /// One chunk with the proof.
    Chunk(u32, RpcReplyPort<ShardResponse>),
}

/// The actor.
#[derive(Debug, Default)]
pub struct ShardActor;

/// Its state.
#[derive(Debug)]
pub struct ShardState {
    args: ShardArgs,
    model: ModelId,
    proof: Vec<[u8; 32]>,
    /// The file failed its check at start; the actor stops right away.
    corrupt: bool,
}

/// The actor's registered name (unique per host and shard; ractor names are process-wide).
pub fn actor_name(host: &str, model: &ModelId, index: u16) -> String {
    format!(
        "shard/{host}/{}/{index}",
        autonet_p2p::records::to_hex(&model[..8])
    )
}

impl Actor for ShardActor {
    type Msg = ShardMsg;
    type State = ShardState;
    type Arguments = ShardArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<ShardMsg>,
        args: ShardArgs,
    ) -> Result<ShardState, ActorProcessingErr> {
        let model = args.manifest.id().0;
        let index = usize::from(args.index);
        let proof = args
            .manifest
            .proof(index)
            .ok_or("shard index out of range")?
            .into_iter()
            .map(|d| d.0)
            .collect();
        let (path, manifest) = (args.path.clone(), args.manifest.clone());
        let index16 = args.index;
        // Streamed from disk: a shard is never read into memory whole to be checked.
        let check = tokio::task::spawn_blocking(move || {
            super::disk::verify_shard_file(&manifest, index16, &path).map_err(|e| e.to_string())
        })
        .await?;
        let corrupt = match check {
            Ok(()) => false,
            Err(reason) => {
                tracing::warn!(index, %reason, "held shard failed its check; dropping it");
                let _ = std::fs::remove_file(&args.path);
                true
            }
        };
        if !corrupt {
            for key in [wire::shard_key(&model, args.index), wire::model_key(&model)] {
                match tokio::time::timeout(ANNOUNCE_TIMEOUT, args.client.announce(key)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => tracing::debug!(%err, "provider announcement failed"),
                    Err(_) => tracing::debug!("provider announcement timed out"),
                }
            }
        }
        Ok(ShardState {
            args,
            model,
            proof,
            corrupt,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<ShardMsg>,
        state: &mut ShardState,
    ) -> Result<(), ActorProcessingErr> {
        if state.corrupt {
            myself.stop(Some("shard file failed its check".to_string()));
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<ShardMsg>,
        state: &mut ShardState,
    ) -> Result<(), ActorProcessingErr> {
        let key = wire::shard_key(&state.model, state.args.index);
        let _ = state.args.client.stop_providing(key).await;
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<ShardMsg>,
        message: ShardMsg,
        state: &mut ShardState,
    ) -> Result<(), ActorProcessingErr> {
        let ShardMsg::Chunk(chunk, reply) = message;
        let shard_size = state.args.manifest.shard_size;
        let Some((start, end)) = wire::chunk_range(shard_size, chunk) else {
            let _ = reply.send(ShardResponse::NotFound);
            return Ok(());
        };
        let path = state.args.path.clone();
        // An I/O error fails the actor: the supervisor restarts it, and the restart re-checks
        // the file (dropping it if it went bad).
        let data = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            let mut file = std::fs::File::open(&path)?;
            file.seek(SeekFrom::Start(start))?;
            let mut data = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
            file.read_exact(&mut data)?;
            Ok(data)
        })
        .await??;
        let _ = reply.send(ShardResponse::Chunk {
            total: wire::chunk_count(shard_size),
            data,
            proof: state.proof.clone(),
        });
        Ok(())
    }
}
