//! The shard manifest: everything a fetcher needs to find, check and rebuild a model, addressed by
//! the model's id (BLAKE3 of the model's bytes): the id a mint root names, `ModelShardRegistry`
//! registers and `autonet model fetch` takes. One registration per id on chain makes the id name
//! one manifest: a fetcher takes a manifest only if its root, k and m are the registered ones.

use serde::{Deserialize, Serialize};

use super::error::{Result, ShardingError};
use super::merkle;
use super::params::ShardParams;
use crate::substrate::ids::{self, Digest};

/// Current manifest format; decoders refuse any other. Format 2: `reed-solomon-simd` parity
/// (GF(2^16)) and even shard sizes. Format 1 (`reed-solomon-erasure`, GF(2^8)) had other parity
/// bytes for the same data, so reading it with this code would misdecode; it is refused by name.
pub const MANIFEST_FORMAT: u16 = 2;
/// Longest model name accepted, in bytes.
pub const MAX_MODEL_NAME: usize = 256;
/// Largest model a manifest may declare (4 GiB): a manifest over it is refused on decode and
/// never produced by [`super::encode`], so no buffer, quota check or download is ever sized from a
/// larger self-declared length.
pub const MAX_MODEL_BYTES: u64 = 4 << 30;
/// Largest encoded manifest accepted (256 leaves of ~34 bytes plus small fields fit easily).
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

/// A published model's manifest. Field order is the canonical CBOR order; do not reorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardManifest {
    /// Wire format version, [`MANIFEST_FORMAT`].
    pub format: u16,
    /// Model name (e.g. `world`), at most [`MAX_MODEL_NAME`] bytes.
    pub model: String,
    /// Model version (e.g. the epoch that produced it).
    pub version: u64,
    /// Exact length of the model in bytes; the last data shard is zero-padded beyond it.
    pub size: u64,
    /// BLAKE3 of the model bytes, checked after every rebuild.
    pub model_hash: Digest,
    /// Data shards.
    pub k: u16,
    /// Parity shards.
    pub m: u16,
    /// Length of every shard, `ceil(size / k)` rounded up to even, at least 2
    /// ([`ShardParams::shard_size`]).
    pub shard_size: u64,
    /// BLAKE3 of each shard, data shards first, then parity: the Merkle leaves.
    pub leaves: Vec<Digest>,
    /// Root of the sorted-pair keccak256 tree over `leaves` (a keccak digest, not BLAKE3; stored
    /// in the same 32-byte type), the value registered on chain.
    pub root: Digest,
}

impl ShardManifest {
    /// The model's id: BLAKE3 of its bytes ([`Self::model_hash`]), what the registry calls
    /// `modelId`, what a mint root names and what peers ask providers for.
    pub fn id(&self) -> Digest {
        self.model_hash
    }

    /// The erasure-coding parameters (validated).
    pub fn params(&self) -> Result<ShardParams> {
        ShardParams::new(usize::from(self.k), usize::from(self.m))
    }

    /// Canonical CBOR bytes, as stored on disk and sent over the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        ids::encode(self)
    }

    /// Decodes canonical CBOR and checks the manifest is self-consistent ([`Self::check`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let manifest: Self = ids::decode_canonical("shard manifest", bytes, MAX_MANIFEST_BYTES)?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Checks every derived field against the others: format, parameters, name length, shard size,
    /// leaf count and the Merkle root. A manifest that passes can be trusted as far as its id is.
    pub fn check(&self) -> Result<()> {
        let bad = |what: String| Err(ShardingError::InconsistentManifest(what));
        if self.format != MANIFEST_FORMAT {
            return Err(ShardingError::UnsupportedFormat {
                found: self.format,
                reads: MANIFEST_FORMAT,
            });
        }
        let params = self.params()?;
        if self.model.len() > MAX_MODEL_NAME {
            return bad(format!(
                "model name is {} bytes, the limit is {MAX_MODEL_NAME}",
                self.model.len()
            ));
        }
        if self.size > MAX_MODEL_BYTES {
            return bad(format!(
                "model size {} bytes, the limit is {MAX_MODEL_BYTES}",
                self.size
            ));
        }
        let expected = params.shard_size(self.size);
        if self.shard_size != expected {
            return bad(format!(
                "shard size {} for {} bytes in {} data shards (expected {expected})",
                self.shard_size, self.size, self.k
            ));
        }
        if self.leaves.len() != params.total() {
            return bad(format!(
                "{} leaves for k + m = {}",
                self.leaves.len(),
                params.total()
            ));
        }
        if merkle::root_of(&self.leaves) != Some(self.root) {
            return bad("root is not the Merkle root of the leaves".to_string());
        }
        Ok(())
    }

    /// The Merkle proof of shard `index` (the siblings `MerkleProof.verify` folds over), or `None`
    /// when out of range.
    pub fn proof(&self, index: usize) -> Option<Vec<Digest>> {
        merkle::proof_of(&self.leaves, index)
    }
}
