//! Signed transactions not yet known to be mined, persisted so a restart can resubmit them.
//! The file is rewritten atomically (temp file + rename) on every change; the same signed bytes
//! are resubmitted, so a transaction can never land twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use alloy::primitives::{Address, B256, Bytes};

use crate::backend::ChainError;

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
}

/// The pending-transaction store (in memory, optionally backed by a JSON file).
#[derive(Debug, Default)]
pub struct PendingStore {
    path: Option<PathBuf>,
    txs: Mutex<BTreeMap<B256, PendingTx>>,
}

impl PendingStore {
    /// A store that lives only in memory.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Opens (or creates) a file-backed store.
    pub fn open(path: &Path) -> Result<Self, ChainError> {
        let txs = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice::<Vec<PendingTx>>(&bytes)
                .map_err(|e| ChainError::Store(format!("{}: {e}", path.display())))?
                .into_iter()
                .map(|t| (t.hash, t))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(ChainError::Store(format!("{}: {e}", path.display()))),
        };
        Ok(Self {
            path: Some(path.to_path_buf()),
            txs: Mutex::new(txs),
        })
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

    /// Records a transaction before it is broadcast.
    pub fn insert(&self, tx: PendingTx) -> Result<(), ChainError> {
        self.update(|m| {
            m.insert(tx.hash, tx);
        })
    }

    /// Forgets every transaction of `from` with `nonce` (mined, or replaced and mined).
    pub fn remove_nonce(&self, from: Address, nonce: u64) -> Result<(), ChainError> {
        self.update(|m| m.retain(|_, t| !(t.from == from && t.nonce == nonce)))
    }

    fn update(&self, f: impl FnOnce(&mut BTreeMap<B256, PendingTx>)) -> Result<(), ChainError> {
        let mut m = self
            .txs
            .lock()
            .map_err(|_| ChainError::Store("pending store poisoned".into()))?;
        f(&mut m);
        let Some(path) = &self.path else {
            return Ok(());
        };
        let list: Vec<&PendingTx> = m.values().collect();
        let bytes =
            serde_json::to_vec_pretty(&list).map_err(|e| ChainError::Store(e.to_string()))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| ChainError::Store(format!("{}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_and_forgets_mined_nonces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pending.json");
        let s = PendingStore::open(&path).unwrap();
        let tx = |n: u64| PendingTx {
            from: Address::repeat_byte(1),
            nonce: n,
            hash: B256::from(alloy::primitives::U256::from(n)),
            raw: Bytes::from(vec![n as u8]),
        };
        s.insert(tx(1)).unwrap();
        s.insert(tx(2)).unwrap();
        s.remove_nonce(Address::repeat_byte(1), 1).unwrap();
        let reopened = PendingStore::open(&path).unwrap();
        assert_eq!(reopened.all(), vec![tx(2)]);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(
            PendingStore::open(&path),
            Err(ChainError::Store(_))
        ));
    }
}
