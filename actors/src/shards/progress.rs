//! Resume state of a shard fetch: verified shards written to the progress folder and recorded in
//! a redb table before they count, so a fetch that is killed and restarted with the same folder
//! reuses them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use autonet_models::sharding::{ShardManifest, verify_shard};
use autonet_models::substrate::ids::Digest;
use autonet_p2p::records::to_hex;
use autonet_store::{Store, Table};

use super::ModelId;
use super::disk::write_atomic;
use super::error::ShardError;

/// Verified shards of interrupted fetches: key = model id ‖ index (big-endian u16), value = leaf.
const PROGRESS: Table = Table::new("shard_fetch_progress");

/// Resume state of one fetch.
pub(super) struct Progress {
    dir: PathBuf,
    store: Store,
}

fn progress_key(model: &ModelId, index: u16) -> Vec<u8> {
    let mut key = model.to_vec();
    key.extend_from_slice(&index.to_be_bytes());
    key
}

impl Progress {
    pub(super) fn open(dir: PathBuf) -> Result<Self, ShardError> {
        std::fs::create_dir_all(&dir).map_err(|e| ShardError::io("create", &dir, e))?;
        let store = Store::open(dir.join("fetch.redb"))?;
        Ok(Self { dir, store })
    }

    fn shard_path(&self, model: &ModelId, index: u16) -> PathBuf {
        self.dir.join(to_hex(model)).join(format!("{index}.shard"))
    }

    /// Verified shards from an earlier run that still match their leaves.
    pub(super) fn load(
        &self,
        manifest: &ShardManifest,
    ) -> Result<BTreeMap<u16, Vec<u8>>, ShardError> {
        let model = manifest.id().0;
        let mut have = BTreeMap::new();
        for entry in self.store.scan_prefix(PROGRESS, &model)? {
            let Some(index) = entry
                .0
                .get(32..34)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
            else {
                continue;
            };
            let Ok(bytes) = std::fs::read(self.shard_path(&model, index)) else {
                continue;
            };
            if verify_shard(manifest, usize::from(index), &bytes).is_ok() {
                have.insert(index, bytes);
            }
        }
        Ok(have)
    }

    pub(super) fn save(
        &self,
        model: &ModelId,
        index: u16,
        bytes: &[u8],
        leaf: &Digest,
    ) -> Result<(), ShardError> {
        let path = self.shard_path(model, index);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ShardError::io("create", dir, e))?;
        }
        write_atomic(&path, bytes)?;
        self.store
            .put(PROGRESS, &progress_key(model, index), &leaf.0)?;
        Ok(())
    }

    /// Forgets a finished fetch.
    pub(super) fn clear(&self, model: &ModelId, total: usize) {
        for index in 0..total {
            let index = u16::try_from(index).unwrap_or(u16::MAX);
            let _ = self.store.remove(PROGRESS, &progress_key(model, index));
        }
        let _ = std::fs::remove_dir_all(self.dir.join(to_hex(model)));
    }
}
