//! Shard files under the data dir, the disk quota and garbage collection of old versions.
//!
//! Layout: `<root>/<model id hex>/manifest.cbor` and `<root>/<model id hex>/<index>.shard`.
//! Files are written to a temporary name, synced and renamed, so a crash leaves either the whole
//! file or none; the manifest is written before the first shard of a model, so every shard file
//! has its manifest. What is on disk is the index of held shards: a restarted host scans it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use autonet_models::sharding::ShardManifest;
use autonet_p2p::records::to_hex;

use super::ModelId;
use super::error::ShardError;

const MANIFEST_FILE: &str = "manifest.cbor";
const SHARD_SUFFIX: &str = ".shard";

/// One model's shards held on disk.
#[derive(Debug, Clone)]
pub struct HeldModel {
    pub manifest: ShardManifest,
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
    let tmp = path.with_extension("tmp");
    let mut file = fs::File::create(&tmp).map_err(|e| ShardError::io("create", &tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| ShardError::io("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| ShardError::io("rename", path, e))?;
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
        Ok(Self { root, quota })
    }

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

/// Garbage-collection policy: per model name keep the `keep_versions` newest versions held;
/// returns the ids of the older ones to drop. Pure.
pub fn versions_to_drop(held: &[HeldModel], keep_versions: usize) -> Vec<ModelId> {
    let mut by_name: BTreeMap<&str, Vec<(u64, ModelId)>> = BTreeMap::new();
    for h in held {
        by_name
            .entry(h.manifest.model.as_str())
            .or_default()
            .push((h.manifest.version, h.manifest.id().0));
    }
    let mut drop = Vec::new();
    for versions in by_name.values_mut() {
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
    fn gc_keeps_the_newest_versions_per_name() {
        let params = ShardParams::new(1, 0).unwrap();
        let held: Vec<HeldModel> = [("a", 1), ("a", 3), ("a", 2), ("b", 1)]
            .iter()
            .map(|(name, v)| HeldModel {
                manifest: encode(name, *v, b"x", params).unwrap().manifest,
                indices: vec![0],
            })
            .collect();
        let drop = versions_to_drop(&held, 2);
        assert_eq!(drop, vec![held[0].manifest.id().0]);
        assert_eq!(versions_to_drop(&held, 1).len(), 2);
    }
}
