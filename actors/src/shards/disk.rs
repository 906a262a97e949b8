//! Shard files under the data dir, the disk quota and garbage collection of old versions.
//!
//! Layout: `<root>/<model id hex>/manifest.cbor` and `<root>/<model id hex>/<index>.shard`.
//! Files are written to a temporary name, synced and renamed, so a crash leaves either the whole
//! file or none; the manifest is written before the first shard of a model, so every shard file
//! has its manifest. What is on disk is the index of held shards: a restarted host scans it.
//! Shards downloaded from other peers are streamed into `<root>/.incoming/` chunk by chunk and
//! renamed into place only once their BLAKE3 matches the leaf ([`ShardDisk::commit_shard`]);
//! leftovers of a crash there are removed when the folder is opened.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use autonet_contracts::RegisteredModel;
use autonet_models::sharding::{ShardManifest, ShardingError};
use autonet_p2p::records::to_hex;

use super::ModelId;
use super::error::ShardError;

const MANIFEST_FILE: &str = "manifest.cbor";
const SHARD_SUFFIX: &str = ".shard";
/// Folder of shards being downloaded (not yet checked).
const INCOMING: &str = ".incoming";

/// One model's shards held on disk.
#[derive(Debug, Clone)]
pub struct HeldModel {
    /// The model's manifest, as stored next to its shards.
    pub manifest: ShardManifest,
    /// Indices of the shards held, ascending.
    pub indices: Vec<u16>,
}

/// The shard directory of one host.
#[derive(Debug, Clone)]
pub struct ShardDisk {
    root: PathBuf,
    quota: u64,
}

/// Writes `bytes` to `path` atomically and durably (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ShardError> {
    // A temporary file of its own: two shards of one model arriving at once both write the
    // manifest, and a shared `manifest.tmp` let one writer rename the other's file away (the
    // second rename failed, the holder refused its shard and the model could go unbuildable).
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| ShardError::io("create", dir, e))?;
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| ShardError::io("write", file.path(), e))?;
    file.persist(path)
        .map_err(|e| ShardError::io("rename", path, e.error))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

impl ShardDisk {
    /// Opens (creating) the shard directory with a quota in bytes.
    pub fn open(root: impl Into<PathBuf>, quota: u64) -> Result<Self, ShardError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| ShardError::io("create", &root, e))?;
        // Partial downloads of an earlier run are never resumed from here: drop them.
        let _ = fs::remove_dir_all(root.join(INCOMING));
        Ok(Self { root, quota })
    }

    /// Where shard `index` of `model` is streamed while it downloads (the folder is created).
    pub fn incoming_path(&self, model: &ModelId, index: u16) -> Result<PathBuf, ShardError> {
        let dir = self.root.join(INCOMING);
        fs::create_dir_all(&dir).map_err(|e| ShardError::io("create", &dir, e))?;
        Ok(dir.join(format!("{}-{index}.part", to_hex(model))))
    }

    /// Moves a downloaded shard file, already checked against its leaf and synced, into place
    /// (writing the model's manifest first if it is new).
    pub fn commit_shard(
        &self,
        manifest: &ShardManifest,
        index: u16,
        incoming: &Path,
    ) -> Result<PathBuf, ShardError> {
        let model = manifest.id().0;
        let path = self.shard_path(&model, index);
        let dir = self.model_dir(&model);
        fs::create_dir_all(&dir).map_err(|e| ShardError::io("create", &dir, e))?;
        let manifest_path = dir.join(MANIFEST_FILE);
        if !manifest_path.exists() {
            write_atomic(&manifest_path, &manifest.to_bytes())?;
        }
        fs::rename(incoming, &path).map_err(|e| ShardError::io("rename", &path, e))?;
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(path)
    }

    /// The disk quota in bytes for all held shards.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    fn model_dir(&self, model: &ModelId) -> PathBuf {
        self.root.join(to_hex(model))
    }

    /// Path of shard `index` of `model`.
    pub fn shard_path(&self, model: &ModelId, index: u16) -> PathBuf {
        self.model_dir(model).join(format!("{index}{SHARD_SUFFIX}"))
    }

    /// Bytes used by shard files.
    pub fn used(&self) -> u64 {
        self.held()
            .iter()
            .map(|h| h.manifest.shard_size * h.indices.len() as u64)
            .sum()
    }

    /// Every model with at least one shard file, with its indices (unreadable entries skipped).
    pub fn held(&self) -> Vec<HeldModel> {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let dir = entry.path();
            let Ok(bytes) = fs::read(dir.join(MANIFEST_FILE)) else {
                continue;
            };
            let Ok(manifest) = ShardManifest::from_bytes(&bytes) else {
                tracing::warn!(dir = %dir.display(), "ignoring shard folder with a bad manifest");
                continue;
            };
            let mut indices: Vec<u16> = fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    name.strip_suffix(SHARD_SUFFIX)?.parse().ok()
                })
                .filter(|i| usize::from(*i) < manifest.leaves.len())
                .collect();
            indices.sort_unstable();
            if !indices.is_empty() {
                out.push(HeldModel { manifest, indices });
            }
        }
        out
    }

    /// The manifest of a held model, if any.
    pub fn manifest(&self, model: &ModelId) -> Option<ShardManifest> {
        let bytes = fs::read(self.model_dir(model).join(MANIFEST_FILE)).ok()?;
        ShardManifest::from_bytes(&bytes).ok()
    }

    /// Stores a shard (already checked against its leaf by the caller), refusing it if the quota
    /// would be exceeded.
    pub fn write_shard(
        &self,
        manifest: &ShardManifest,
        index: u16,
        bytes: &[u8],
    ) -> Result<PathBuf, ShardError> {
        let model = manifest.id().0;
        let path = self.shard_path(&model, index);
        if path.exists() {
            return Ok(path);
        }
        let used = self.used();
        let need = bytes.len() as u64;
        if used + need > self.quota {
            return Err(ShardError::QuotaExceeded {
                need,
                free: self.quota.saturating_sub(used),
                quota: self.quota,
            });
        }
        let dir = self.model_dir(&model);
        fs::create_dir_all(&dir).map_err(|e| ShardError::io("create", &dir, e))?;
        let manifest_path = dir.join(MANIFEST_FILE);
        if !manifest_path.exists() {
            write_atomic(&manifest_path, &manifest.to_bytes())?;
        }
        write_atomic(&path, bytes)?;
        Ok(path)
    }

    /// Removes one shard file, and the model's folder when it was the last.
    pub fn remove_shard(&self, model: &ModelId, index: u16) -> Result<(), ShardError> {
        let path = self.shard_path(model, index);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ShardError::io("remove", &path, e)),
        }
        let dir = self.model_dir(model);
        let any_shard = fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(SHARD_SUFFIX));
        if !any_shard {
            let _ = fs::remove_dir_all(&dir);
        }
        Ok(())
    }
}

/// Checks a shard file against the manifest without reading it into memory: exact size, then
/// BLAKE3 streamed from disk equal to the leaf.
pub fn verify_shard_file(
    manifest: &ShardManifest,
    index: u16,
    path: &Path,
) -> Result<(), ShardError> {
    let i = usize::from(index);
    let leaf = manifest
        .leaves
        .get(i)
        .ok_or(ShardingError::ShardIndexOutOfRange {
            index: i,
            total: manifest.leaves.len(),
        })?;
    let file = fs::File::open(path).map_err(|e| ShardError::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| ShardError::io("stat", path, e))?
        .len();
    if len != manifest.shard_size {
        return Err(ShardingError::WrongShardSize {
            index: i,
            got: usize::try_from(len).unwrap_or(usize::MAX),
            expected: manifest.shard_size,
        }
        .into());
    }
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(file)
        .map_err(|e| ShardError::io("read", path, e))?;
    if hasher.finalize().as_bytes() != &leaf.0 {
        return Err(ShardingError::ShardMismatch { index: i }.into());
    }
    Ok(())
}

/// Garbage-collection policy: per on-chain project keep the `keep_versions` models registered
/// last (highest `registeredAt` block, ties by model id); returns the ids of the older ones to
/// drop. Only on-chain facts order models: a manifest's self-declared name and version play no
/// part, so nobody can make a host drop a model by declaring a higher version. Pure.
pub fn versions_to_drop(held: &[(ModelId, RegisteredModel)], keep_versions: usize) -> Vec<ModelId> {
    let mut by_project: BTreeMap<alloy::primitives::U256, Vec<(u64, ModelId)>> = BTreeMap::new();
    for (model, registration) in held {
        by_project
            .entry(registration.project_id)
            .or_default()
            .push((registration.registered_at, *model));
    }
    let mut drop = Vec::new();
    for versions in by_project.values_mut() {
        versions.sort_by_key(|v| std::cmp::Reverse(*v));
        drop.extend(
            versions
                .iter()
                .skip(keep_versions.max(1))
                .map(|(_, id)| *id),
        );
    }
    drop
}

#[cfg(test)]
mod tests {
    use autonet_models::sharding::{ShardParams, encode};

    use super::*;

    #[test]
    fn shards_survive_reopen_and_the_quota_refuses_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let encoded = encode("m", 1, &[7u8; 1000], ShardParams::new(4, 2).unwrap()).unwrap();
        let disk = ShardDisk::open(dir.path(), 600).unwrap();
        for i in 0..2u16 {
            disk.write_shard(&encoded.manifest, i, &encoded.shards[usize::from(i)])
                .unwrap();
        }
        // 2 × 250 bytes held; a third would exceed the 600-byte quota.
        let err = disk
            .write_shard(&encoded.manifest, 2, &encoded.shards[2])
            .unwrap_err();
        assert!(matches!(err, ShardError::QuotaExceeded { .. }), "{err}");
        let reopened = ShardDisk::open(dir.path(), 600).unwrap();
        let held = reopened.held();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].indices, vec![0, 1]);
        assert_eq!(reopened.used(), 500);
        let model = encoded.manifest.id().0;
        for i in 0..2 {
            reopened.remove_shard(&model, i).unwrap();
        }
        assert!(reopened.held().is_empty());
    }

    #[test]
    fn gc_keeps_the_last_registered_per_project_whatever_the_manifests_claim() {
        let params = ShardParams::new(1, 0).unwrap();
        let registration = |project: u64, at: u64| RegisteredModel {
            project_id: alloy::primitives::U256::from(project),
            root: alloy::primitives::B256::ZERO,
            k: 1,
            m: 0,
            registrant: alloy::primitives::Address::ZERO,
            registered_at: at,
        };
        // Manifest versions say the opposite of the registration order: they are ignored.
        let held: Vec<(ModelId, RegisteredModel)> = [
            ("a", u64::MAX, 0, 10),
            ("a", 3, 0, 30),
            ("a", u64::MAX - 1, 0, 20),
            ("b", 1, 1, 5),
        ]
        .iter()
        .map(|(name, v, project, at)| {
            let bytes = format!("{name}/{v}");
            let id = encode(name, *v, bytes.as_bytes(), params)
                .unwrap()
                .manifest
                .id()
                .0;
            (id, registration(*project, *at))
        })
        .collect();
        assert_eq!(versions_to_drop(&held, 2), vec![held[0].0]);
        assert_eq!(versions_to_drop(&held, 1), vec![held[2].0, held[0].0]);
    }

    #[test]
    fn a_shard_file_is_checked_by_streaming_it() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let encoded = encode("m", 1, &bytes, ShardParams::new(2, 1).unwrap()).unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, &encoded.shards[1]).unwrap();
        verify_shard_file(&encoded.manifest, 1, &path).unwrap();
        assert!(verify_shard_file(&encoded.manifest, 0, &path).is_err());
        std::fs::write(&path, &encoded.shards[1][..10]).unwrap();
        assert!(verify_shard_file(&encoded.manifest, 1, &path).is_err());
    }

    /// Two shards of one model arriving at once both write its manifest: every write succeeds
    /// and the file holds one whole version (a shared temporary name made one of them fail).
    #[test]
    fn concurrent_atomic_writes_of_one_file_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.cbor");
        let writers: Vec<_> = (0..16u8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        write_atomic(&path, &[i; 4096]).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|b| *b == bytes[0]));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "temporary files left behind");
    }
}
