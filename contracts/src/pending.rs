//! Signed transactions not yet known to be mined, kept in the node's state store
//! (`autonet-store`, redb) so a restart can resubmit them.
//!
//! A transaction is written (durably: the store's writes return only after an fsync'd commit)
//! before it is broadcast. Once mined it is only marked as mined, and kept until it is buried
//! under `finality_depth` blocks: a node that restarts from an older state (anvil from its state
//! file after a SIGKILL) or reorgs may forget it, and the chain layer then hands it the same
//! signed bytes again. The same bytes are always resubmitted, so a transaction can never land
//! twice. Rows live in table [`PENDING_TABLE`], keyed `sender ‖ nonce (big endian) ‖ hash` so
//! that every replacement of one nonce sits together; the value is the block it was mined in
//! (8 bytes big endian, 0 while in flight) followed by the EIP-2718 encoded transaction, which is
//! checked against the hash in its key when it is read back.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use alloy::primitives::{Address, B256, Bytes, keccak256};
use autonet_store::{Store, Table};

use crate::backend::ChainError;

/// The store table holding pending transactions.
pub const PENDING_TABLE: Table = Table::new("contracts.pending_tx");

/// One in-flight transaction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingTx {
    /// Sender.
    pub from: Address,
    /// Its nonce.
    pub nonce: u64,
    /// Hash of `raw`.
    pub hash: B256,
    /// EIP-2718 encoded signed transaction.
    pub raw: Bytes,
    /// The block it was seen mined in (it may still be forgotten by the node).
    #[serde(default)]
    pub mined_in: Option<u64>,
}

impl PendingTx {
    fn key(&self) -> Vec<u8> {
        let mut k = nonce_prefix(self.from, self.nonce);
        k.extend_from_slice(self.hash.as_slice());
        k
    }

    fn value(&self) -> Vec<u8> {
        let mut v = self.mined_in.unwrap_or(0).to_be_bytes().to_vec();
        v.extend_from_slice(&self.raw);
        v
    }

    fn decode(key: &[u8], value: &[u8]) -> Result<Self, ChainError> {
        if key.len() != 20 + 8 + 32 || value.len() < 8 {
            return Err(ChainError::Store(format!(
                "pending transaction row with a {}-byte key and a {}-byte value",
                key.len(),
                value.len()
            )));
        }
        let (mined, value) = value.split_at(8);
        let mined = u64::from_be_bytes(mined.try_into().unwrap_or_default());
        let from = Address::from_slice(&key[..20]);
        let mut nonce = [0u8; 8];
        nonce.copy_from_slice(&key[20..28]);
        let hash = B256::from_slice(&key[28..]);
        if keccak256(value) != hash {
            return Err(ChainError::Store(format!(
                "pending transaction {hash} of {from}: stored bytes do not hash to it"
            )));
        }
        Ok(Self {
            from,
            nonce: u64::from_be_bytes(nonce),
            hash,
            raw: Bytes::copy_from_slice(value),
            mined_in: (mined != 0).then_some(mined),
        })
    }
}

fn nonce_prefix(from: Address, nonce: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(60);
    k.extend_from_slice(from.as_slice());
    k.extend_from_slice(&nonce.to_be_bytes());
    k
}

fn store_err(e: autonet_store::StoreError) -> ChainError {
    ChainError::Store(e.to_string())
}

/// The pending-transaction store: an in-memory index, written through to the state store when
/// one is attached.
#[derive(Debug, Default)]
pub struct PendingStore {
    disk: Option<Arc<Store>>,
    txs: Mutex<BTreeMap<B256, PendingTx>>,
}

impl PendingStore {
    /// A store that lives only in memory (read-only commands, benchmarks).
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Uses the node's state store, loading what a previous run left pending.
    pub fn with_store(store: Arc<Store>) -> Result<Self, ChainError> {
        let mut txs = BTreeMap::new();
        for (k, v) in store.scan(PENDING_TABLE).map_err(store_err)? {
            let tx = PendingTx::decode(&k, &v)?;
            txs.insert(tx.hash, tx);
        }
        Ok(Self {
            disk: Some(store),
            txs: Mutex::new(txs),
        })
    }

    /// Opens (or creates) the state store at `path` and uses it.
    pub fn open(path: &Path) -> Result<Self, ChainError> {
        Self::with_store(Arc::new(Store::open(path).map_err(store_err)?))
    }

    /// Every pending transaction, ordered by (sender, nonce).
    pub fn all(&self) -> Vec<PendingTx> {
        let mut v: Vec<PendingTx> = self
            .txs
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by_key(|t| (t.from, t.nonce));
        v
    }

    /// The transactions not yet seen mined, ordered by (sender, nonce).
    pub fn in_flight(&self) -> Vec<PendingTx> {
        let mut v = self.all();
        v.retain(|t| t.mined_in.is_none());
        v
    }

    /// Records a transaction before it is broadcast; durable when this returns `Ok`.
    pub fn insert(&self, tx: PendingTx) -> Result<(), ChainError> {
        let mut m = self.lock()?;
        if let Some(store) = &self.disk {
            store
                .put(PENDING_TABLE, &tx.key(), &tx.value())
                .map_err(store_err)?;
        }
        m.insert(tx.hash, tx);
        Ok(())
    }

    /// Marks `hash` as mined in `block`, and forgets the other transactions of its nonce
    /// (replacements that can no longer land).
    pub fn mark_mined(&self, hash: B256, block: u64) -> Result<(), ChainError> {
        let mut m = self.lock()?;
        let Some(mut tx) = m.get(&hash).cloned() else {
            return Ok(());
        };
        tx.mined_in = Some(block.max(1));
        let others: Vec<PendingTx> = m
            .values()
            .filter(|t| t.from == tx.from && t.nonce == tx.nonce && t.hash != hash)
            .cloned()
            .collect();
        if let Some(store) = &self.disk {
            store
                .batch(|b| {
                    for t in &others {
                        b.remove(PENDING_TABLE, &t.key())?;
                    }
                    b.put(PENDING_TABLE, &tx.key(), &tx.value())
                })
                .map_err(store_err)?;
        }
        for t in &others {
            m.remove(&t.hash);
        }
        m.insert(hash, tx);
        Ok(())
    }

    /// Forgets every transaction of `from` with `nonce` (dropped, or rejected before it could
    /// reach the node).
    pub fn remove_nonce(&self, from: Address, nonce: u64) -> Result<(), ChainError> {
        self.remove_where(|t| t.from == from && t.nonce == nonce)
    }

    /// Forgets the transactions of `from` mined in block `up_to` or earlier (final).
    pub fn prune_final(&self, from: Address, up_to: u64) -> Result<(), ChainError> {
        self.remove_where(|t| t.from == from && t.mined_in.is_some_and(|b| b <= up_to))
    }

    fn remove_where(&self, pred: impl Fn(&PendingTx) -> bool) -> Result<(), ChainError> {
        let mut m = self.lock()?;
        let gone: Vec<PendingTx> = m.values().filter(|t| pred(t)).cloned().collect();
        if gone.is_empty() {
            return Ok(());
        }
        if let Some(store) = &self.disk {
            store
                .batch(|b| {
                    for t in &gone {
                        b.remove(PENDING_TABLE, &t.key())?;
                    }
                    Ok(())
                })
                .map_err(store_err)?;
        }
        for t in &gone {
            m.remove(&t.hash);
        }
        Ok(())
    }

    /// Imports a pending-transaction list left by an older version (a JSON file), then deletes
    /// the file; returns how many transactions it held. A missing file imports nothing.
    pub fn import_json(&self, path: &Path) -> Result<usize, ChainError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(ChainError::Store(format!("{}: {e}", path.display()))),
        };
        let list: Vec<PendingTx> = serde_json::from_slice(&bytes)
            .map_err(|e| ChainError::Store(format!("{}: {e}", path.display())))?;
        for tx in &list {
            if keccak256(&tx.raw) != tx.hash {
                return Err(ChainError::Store(format!(
                    "{}: transaction {} does not hash to its bytes",
                    path.display(),
                    tx.hash
                )));
            }
        }
        for tx in &list {
            self.insert(tx.clone())?;
        }
        std::fs::remove_file(path)
            .map_err(|e| ChainError::Store(format!("{}: {e}", path.display())))?;
        Ok(list.len())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<B256, PendingTx>>, ChainError> {
        self.txs
            .lock()
            .map_err(|_| ChainError::Store("pending store poisoned".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(n: u8) -> PendingTx {
        let raw = Bytes::from(vec![n; 3]);
        PendingTx {
            from: Address::repeat_byte(1),
            nonce: u64::from(n),
            hash: keccak256(&raw),
            raw,
            mined_in: None,
        }
    }

    #[test]
    fn survives_reopen_and_forgets_mined_nonces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let s = PendingStore::open(&path).unwrap();
        s.insert(tx(1)).unwrap();
        s.insert(tx(2)).unwrap();
        s.insert(tx(3)).unwrap();
        s.remove_nonce(Address::repeat_byte(1), 1).unwrap();
        s.mark_mined(tx(3).hash, 40).unwrap();
        drop(s);
        let reopened = PendingStore::open(&path).unwrap();
        let mined3 = PendingTx {
            mined_in: Some(40),
            ..tx(3)
        };
        assert_eq!(reopened.all(), vec![tx(2), mined3.clone()]);
        assert_eq!(reopened.in_flight(), vec![tx(2)]);
        reopened.prune_final(Address::repeat_byte(1), 39).unwrap();
        assert_eq!(reopened.all().len(), 2, "not final yet");
        reopened.prune_final(Address::repeat_byte(1), 40).unwrap();
        drop(reopened);
        assert_eq!(PendingStore::open(&path).unwrap().all(), vec![tx(2)]);
    }

    #[test]
    fn a_mined_replacement_forgets_its_siblings() {
        let s = PendingStore::in_memory();
        let original = tx(7);
        let raw = Bytes::from(vec![8u8; 5]);
        let bumped = PendingTx {
            hash: keccak256(&raw),
            raw,
            ..original.clone()
        };
        s.insert(original).unwrap();
        s.insert(bumped.clone()).unwrap();
        s.mark_mined(bumped.hash, 9).unwrap();
        assert_eq!(
            s.all(),
            vec![PendingTx {
                mined_in: Some(9),
                ..bumped
            }]
        );
    }

    #[test]
    fn corrupt_row_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let store = Store::open(&path).unwrap();
        store
            .put(
                PENDING_TABLE,
                &tx(1).key(),
                b"\0\0\0\0\0\0\0\0not the signed bytes",
            )
            .unwrap();
        store.put(PENDING_TABLE, b"short key", b"x").unwrap();
        let err = PendingStore::with_store(Arc::new(store)).unwrap_err();
        assert!(matches!(err, ChainError::Store(_)), "{err}");
    }

    #[test]
    fn legacy_json_file_is_imported_once() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("pending.json");
        std::fs::write(&json, serde_json::to_vec(&vec![tx(4), tx(5)]).unwrap()).unwrap();
        let s = PendingStore::open(&dir.path().join("state.redb")).unwrap();
        assert_eq!(s.import_json(&json).unwrap(), 2);
        assert!(!json.exists());
        assert_eq!(s.import_json(&json).unwrap(), 0);
        assert_eq!(s.all(), vec![tx(4), tx(5)]);
        std::fs::write(&json, b"{not json").unwrap();
        assert!(matches!(s.import_json(&json), Err(ChainError::Store(_))));
        assert!(json.exists(), "a file that cannot be read is left alone");
    }
}
