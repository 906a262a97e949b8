//! A shard host's settings, and the upload pacing one of them turns on.

use std::path::PathBuf;
use std::time::Duration;

/// A host's settings.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Shard files go under `<data_dir>/shards`.
    pub data_dir: PathBuf,
    /// Most bytes of shards this host stores.
    pub quota_bytes: u64,
    /// Versions kept per model name; older ones are dropped when a newer one arrives.
    pub keep_versions: usize,
    /// Target number of live holders per shard (repair restores it).
    pub replication: usize,
    /// How often held models' replication is checked; `None` disables repair.
    pub repair_interval: Option<Duration>,
    /// Upload rate limit in bytes per second (emulates a slow uplink); `None` for none.
    pub upload_bytes_per_sec: Option<u64>,
    /// Shards downloaded at once for `Hold` requests; further requests wait their turn.
    pub hold_downloads: usize,
}

impl HostConfig {
    /// Defaults: 10 GiB quota, 2 versions kept, replication 1, repair every 30 s, no rate limit,
    /// 4 shard downloads at once.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            quota_bytes: 10 << 30,
            keep_versions: 2,
            replication: 1,
            repair_interval: Some(Duration::from_secs(30)),
            upload_bytes_per_sec: None,
            hold_downloads: 4,
        }
    }
}

/// Paces outgoing bytes as a link of a given rate would.
#[derive(Debug)]
pub(super) struct UploadLimiter {
    bytes_per_sec: u64,
    next_free: tokio::sync::Mutex<tokio::time::Instant>,
}

impl UploadLimiter {
    /// A link of `bytes_per_sec`.
    pub(super) fn new(bytes_per_sec: u64) -> Self {
        Self {
            bytes_per_sec,
            next_free: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits until `bytes` would have left a link of this rate, queued behind earlier sends.
    pub(super) async fn pass(&self, bytes: usize) {
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec.max(1) as f64);
        let done_at = {
            let mut next = self.next_free.lock().await;
            let start = (*next).max(tokio::time::Instant::now());
            *next = start + cost;
            *next
        };
        tokio::time::sleep_until(done_at).await;
    }
}
