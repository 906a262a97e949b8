//! The node's libp2p identity: an ed25519 key in the data dir.
//!
//! The key file holds the libp2p protobuf encoding of the keypair. It is written once, atomically
//! (temporary file, fsync, rename, fsync of the directory) with mode 0600, and never overwritten:
//! a file that cannot be decoded is an error that tells the user what to do, because silently
//! replacing it would change the node's PeerId and lose its on-chain binding.

use std::fs;
use std::path::{Path, PathBuf};

use libp2p_identity::{KeyType, Keypair, PeerId};

/// File name of the node key inside the data dir.
pub const NODE_KEY_FILE: &str = "node_key";

/// Why the node identity could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The data dir did not exist and could not be created (mode 0700).
    #[error("cannot create data dir {path}: {source}")]
    DataDir {
        /// The data dir.
        path: PathBuf,
        /// The I/O error from creating it.
        source: std::io::Error,
    },
    /// The key file exists but could not be read (permissions, I/O error).
    #[error("cannot read node key {path}: {source}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// The I/O error from reading it.
        source: std::io::Error,
    },
    /// The key bytes are not a libp2p protobuf-encoded keypair; the file is left as it is.
    #[error(
        "node key {path} is not a valid libp2p key ({reason}); it was left unchanged. Restore it \
         from a backup, or move it away to create a new identity (the node's PeerId will change)"
    )]
    Corrupt {
        /// The key file (or, for `store_new`, where it would have been written).
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },
    /// The key file decodes, but to a key type other than ed25519.
    #[error("node key {path} is a {found:?} key; autonet node keys are ed25519")]
    WrongType {
        /// The key file.
        path: PathBuf,
        /// The key type found in it.
        found: KeyType,
    },
    /// A new key file could not be written (or already exists, for `store_new`).
    #[error("cannot write node key {path}: {source}")]
    Write {
        /// The key file.
        path: PathBuf,
        /// The I/O error from writing it.
        source: std::io::Error,
    },
}

/// A loaded node identity.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    /// The ed25519 keypair; its public half is the node's PeerId.
    pub keypair: Keypair,
    /// The key file it was read from or written to (`<data-dir>/node_key`).
    pub path: PathBuf,
    /// True when this call created the key.
    pub created: bool,
}

impl NodeIdentity {
    /// The libp2p PeerId derived from the public key.
    pub fn peer_id(&self) -> PeerId {
        self.keypair.public().to_peer_id()
    }

    /// The key as the overlay's keypair type. This module uses libp2p-identity 0.2 and libp2p
    /// 0.57 uses 0.3; both read the same protobuf key encoding.
    pub fn p2p_keypair(&self) -> anyhow::Result<autonet_p2p::Keypair> {
        use anyhow::Context as _;
        self.keypair
            .to_protobuf_encoding()
            .ok()
            .and_then(|bytes| autonet_p2p::Keypair::from_protobuf_encoding(&bytes).ok())
            .context("node key cannot be converted for libp2p")
    }
}

/// Loads the node key from `data_dir`, creating it if there is none.
pub fn load_or_create(data_dir: &Path) -> Result<NodeIdentity, IdentityError> {
    let path = data_dir.join(NODE_KEY_FILE);
    if let Some(keypair) = load(&path)? {
        return Ok(NodeIdentity {
            keypair,
            path,
            created: false,
        });
    }
    create_private_dir(data_dir)?;
    let keypair = Keypair::generate_ed25519();
    let bytes = keypair
        .to_protobuf_encoding()
        .map_err(|e| IdentityError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    write_new_file(&path, &bytes)?;
    Ok(NodeIdentity {
        keypair,
        path,
        created: true,
    })
}

/// Writes a given key (libp2p protobuf encoding) as the node key of `data_dir`; fails if the
/// data dir has one already (`autonet testnet setup` hands dev peers their seeded identities).
pub fn store_new(data_dir: &Path, protobuf: &[u8]) -> Result<NodeIdentity, IdentityError> {
    let path = data_dir.join(NODE_KEY_FILE);
    let keypair =
        Keypair::from_protobuf_encoding(protobuf).map_err(|e| IdentityError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    create_private_dir(data_dir)?;
    write_new_file(&path, protobuf)?;
    Ok(NodeIdentity {
        keypair,
        path,
        created: true,
    })
}

/// Loads the node key at `path`; `Ok(None)` when no file exists.
pub fn load(path: &Path) -> Result<Option<Keypair>, IdentityError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(IdentityError::Read {
                path: path.into(),
                source,
            });
        }
    };
    let keypair = Keypair::from_protobuf_encoding(&bytes).map_err(|e| IdentityError::Corrupt {
        path: path.into(),
        reason: e.to_string(),
    })?;
    if keypair.key_type() != KeyType::Ed25519 {
        return Err(IdentityError::WrongType {
            path: path.into(),
            found: keypair.key_type(),
        });
    }
    Ok(Some(keypair))
}

fn create_private_dir(dir: &Path) -> Result<(), IdentityError> {
    crate::secret_file::create_private_dir(dir).map_err(|source| IdentityError::DataDir {
        path: dir.into(),
        source,
    })
}

/// Writes `bytes` to a new file at `path` atomically; fails if `path` appeared meanwhile.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    crate::secret_file::write_new(path, bytes).map_err(|source| IdentityError::Write {
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(&dir.path().join("nested")).unwrap();
        assert!(a.created);
        let b = load_or_create(&dir.path().join("nested")).unwrap();
        assert!(!b.created);
        assert_eq!(a.peer_id(), b.peer_id());
    }

    #[test]
    fn corrupt_key_is_reported_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NODE_KEY_FILE);
        fs::write(&path, b"\x08\x01garbage").unwrap();
        let err = load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, IdentityError::Corrupt { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"\x08\x01garbage");
    }
}
