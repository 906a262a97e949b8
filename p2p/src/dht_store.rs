//! The Kademlia record store: in memory for lookups, written through to redb so records survive a
//! restart.
//!
//! Limits (record count, value size, provided keys) are enforced by the in-memory
//! [`MemoryStore`] this wraps; a record is written to disk only after memory accepted it. Expiry
//! instants are stored as Unix milliseconds and turned back into [`Instant`]s on load; records
//! that expired while the node was down are dropped. Provider records are not persisted: they are
//! short-lived announcements that providers republish.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use autonet_store::{Store, Table};
use libp2p::PeerId;
use libp2p::kad::store::{self, MemoryStore, MemoryStoreConfig, RecordStore};
use libp2p::kad::{ProviderRecord, Record, RecordKey};
use serde::{Deserialize, Serialize};

use crate::P2pError;

/// The redb table holding DHT records (key: record key, value: [`StoredRecord`] CBOR).
pub(crate) const DHT_RECORDS: Table = Table::new("p2p.dht_records");

#[derive(Serialize, Deserialize)]
struct StoredRecord {
    #[serde(with = "serde_bytes")]
    value: Vec<u8>,
    #[serde(with = "serde_bytes")]
    publisher: Vec<u8>,
    expires_unix_ms: Option<u64>,
}

/// A [`RecordStore`] with limits, persisted to redb.
pub struct DhtStore {
    memory: MemoryStore,
    disk: Option<Arc<Store>>,
}

impl std::fmt::Debug for DhtStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DhtStore")
            .field("records", &self.len())
            .field("persistent", &self.disk.is_some())
            .finish()
    }
}

impl DhtStore {
    /// An in-memory store with the given limits.
    pub fn in_memory(local: PeerId, max_records: usize, max_value_bytes: usize) -> Self {
        let config = MemoryStoreConfig {
            max_records,
            max_value_bytes,
            ..MemoryStoreConfig::default()
        };
        Self {
            memory: MemoryStore::with_config(local, config),
            disk: None,
        }
    }

    /// Opens (or creates) the redb file at `path` and loads the records that have not expired.
    pub fn open(
        path: &Path,
        local: PeerId,
        max_records: usize,
        max_value_bytes: usize,
    ) -> Result<Self, P2pError> {
        let disk = Arc::new(Store::open(path)?);
        let mut this = Self::in_memory(local, max_records, max_value_bytes);
        for (key, bytes) in disk.scan(DHT_RECORDS)? {
            let stored: StoredRecord = match ciborium::from_reader(bytes.as_slice()) {
                Ok(s) => s,
                Err(err) => {
                    tracing::warn!(%err, "dropping unreadable DHT record from the store");
                    disk.remove(DHT_RECORDS, &key)?;
                    continue;
                }
            };
            let expires = match stored.expires_unix_ms {
                None => None,
                Some(ms) => match instant_from_unix_ms(ms) {
                    Some(i) => Some(i),
                    None => {
                        disk.remove(DHT_RECORDS, &key)?;
                        continue;
                    }
                },
            };
            let record = Record {
                key: RecordKey::new(&key),
                value: stored.value,
                publisher: PeerId::from_bytes(&stored.publisher).ok(),
                expires,
            };
            if this.memory.put(record).is_err() {
                tracing::warn!("DHT store limit reached while loading; record skipped");
            }
        }
        this.disk = Some(disk);
        Ok(this)
    }

    /// Number of value records held.
    pub fn len(&self) -> usize {
        self.memory.records().count()
    }

    /// True when no value record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn persist(&self, record: &Record) {
        let Some(disk) = &self.disk else { return };
        let stored = StoredRecord {
            value: record.value.clone(),
            publisher: record.publisher.map(|p| p.to_bytes()).unwrap_or_default(),
            expires_unix_ms: record.expires.map(unix_ms_from_instant),
        };
        let mut bytes = Vec::new();
        if let Err(err) = ciborium::into_writer(&stored, &mut bytes) {
            tracing::error!(%err, "cannot encode DHT record");
            return;
        }
        if let Err(err) = disk.put(DHT_RECORDS, record.key.as_ref(), &bytes) {
            tracing::error!(%err, "cannot persist DHT record");
        }
    }
}

fn unix_ms_from_instant(at: Instant) -> u64 {
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let left = at.saturating_duration_since(Instant::now());
    u64::try_from((now_unix + left).as_millis()).unwrap_or(u64::MAX)
}

fn instant_from_unix_ms(ms: u64) -> Option<Instant> {
    let now_unix = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let left = Duration::from_millis(ms).checked_sub(now_unix)?;
    Instant::now().checked_add(left)
}

impl RecordStore for DhtStore {
    type RecordsIter<'a> = <MemoryStore as RecordStore>::RecordsIter<'a>;
    type ProvidedIter<'a> = <MemoryStore as RecordStore>::ProvidedIter<'a>;

    fn get(&self, k: &RecordKey) -> Option<Cow<'_, Record>> {
        self.memory.get(k)
    }

    fn put(&mut self, r: Record) -> store::Result<()> {
        self.memory.put(r.clone())?;
        self.persist(&r);
        Ok(())
    }

    fn remove(&mut self, k: &RecordKey) {
        self.memory.remove(k);
        if let Some(disk) = &self.disk
            && let Err(err) = disk.remove(DHT_RECORDS, k.as_ref())
        {
            tracing::error!(%err, "cannot remove DHT record from the store");
        }
    }

    fn records(&self) -> Self::RecordsIter<'_> {
        self.memory.records()
    }

    fn add_provider(&mut self, record: ProviderRecord) -> store::Result<()> {
        self.memory.add_provider(record)
    }

    fn providers(&self, key: &RecordKey) -> Vec<ProviderRecord> {
        self.memory.providers(key)
    }

    fn provided(&self) -> Self::ProvidedIter<'_> {
        self.memory.provided()
    }

    fn remove_provider(&mut self, k: &RecordKey, p: &PeerId) {
        self.memory.remove_provider(k, p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopen_and_limits_hold() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dht.redb");
        let me = PeerId::random();
        {
            let mut s = DhtStore::open(&path, me, 2, 8).unwrap();
            let mut r = Record::new(RecordKey::new(&b"k1"), b"v1".to_vec());
            r.expires = Some(Instant::now() + Duration::from_secs(600));
            s.put(r).unwrap();
            s.put(Record::new(RecordKey::new(&b"k2"), b"v2".to_vec()))
                .unwrap();
            assert!(
                s.put(Record::new(RecordKey::new(&b"k3"), b"v3".to_vec()))
                    .is_err()
            );
            assert!(
                s.put(Record::new(RecordKey::new(&b"k1"), vec![0; 9]))
                    .is_err()
            );
        }
        let s = DhtStore::open(&path, me, 2, 8).unwrap();
        assert_eq!(s.len(), 2);
        let r = s.get(&RecordKey::new(&b"k1")).unwrap();
        assert_eq!(r.value, b"v1");
        assert!(r.expires.is_some());
    }
}
