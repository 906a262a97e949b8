//! Splitting a model into erasure-coded shards and rebuilding it from any `k` checked shards.
//!
//! The code is `reed-solomon-simd` (Leopard-style Reed-Solomon over GF(2^16), O(n log n) with
//! SIMD), manifest format 2. Format 1 used `reed-solomon-erasure` (GF(2^8) Vandermonde): the data
//! shards are the same bytes in both, but parity shards differ, so a format-1 manifest's parity
//! leaves cannot be rebuilt or checked by this code and [`ShardManifest::check`] refuses it.

use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

use super::error::{Result, ShardingError};
use super::manifest::{MANIFEST_FORMAT, MAX_MODEL_BYTES, MAX_MODEL_NAME, ShardManifest};
use super::merkle;
use super::params::ShardParams;
use crate::substrate::ids::Digest;

/// A model split into shards, with the manifest that describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedModel {
    /// The manifest: leaves of `shards` in index order, their root, the model's size and hash.
    pub manifest: ShardManifest,
    /// All `k + m` shards in index order: data shards, then parity shards.
    pub shards: Vec<Vec<u8>>,
}

fn codec_error(e: reed_solomon_simd::Error) -> ShardingError {
    ShardingError::Codec(e.to_string())
}

fn to_usize(size: u64) -> Result<usize> {
    usize::try_from(size).map_err(|_| ShardingError::ModelTooLarge { size })
}

/// The `m` parity shards of `data` (`k` shards of one even size); none when `m = 0` (the library
/// refuses zero recovery shards, and plain splitting needs no coder).
fn parity(params: ShardParams, data: &[Vec<u8>], shard_size: usize) -> Result<Vec<Vec<u8>>> {
    if params.m() == 0 {
        return Ok(Vec::new());
    }
    let mut encoder =
        ReedSolomonEncoder::new(params.k(), params.m(), shard_size).map_err(codec_error)?;
    for shard in data {
        encoder.add_original_shard(shard).map_err(codec_error)?;
    }
    let result = encoder.encode().map_err(codec_error)?;
    Ok(result.recovery_iter().map(<[u8]>::to_vec).collect())
}

/// Fills the missing data slots of `slots` (`k + m`, at least `k` present, `m > 0`) from the
/// present shards.
fn restore_data(
    params: ShardParams,
    shard_size: usize,
    slots: &mut [Option<Vec<u8>>],
) -> Result<()> {
    let mut decoder =
        ReedSolomonDecoder::new(params.k(), params.m(), shard_size).map_err(codec_error)?;
    for (index, slot) in slots.iter().enumerate() {
        match (slot, index.checked_sub(params.k())) {
            (Some(shard), None) => decoder.add_original_shard(index, shard),
            (Some(shard), Some(parity)) => decoder.add_recovery_shard(parity, shard),
            (None, _) => Ok(()),
        }
        .map_err(codec_error)?;
    }
    let restored = decoder.decode().map_err(codec_error)?;
    for (index, shard) in restored.restored_original_iter() {
        if let Some(slot) = slots.get_mut(index) {
            *slot = Some(shard.to_vec());
        }
    }
    Ok(())
}

/// The raw erasure coding, without any hashing: `k` zero-padded data shards of
/// [`ShardParams::shard_size`] bytes followed by `m` Reed-Solomon parity shards.
pub fn split_and_code(bytes: &[u8], params: ShardParams) -> Result<Vec<Vec<u8>>> {
    let shard_size = to_usize(params.shard_size(bytes.len() as u64))?;
    let mut shards: Vec<Vec<u8>> = Vec::with_capacity(params.total());
    for i in 0..params.k() {
        let mut shard = vec![0u8; shard_size];
        let start = i.saturating_mul(shard_size).min(bytes.len());
        let end = start.saturating_add(shard_size).min(bytes.len());
        shard[..end - start].copy_from_slice(&bytes[start..end]);
        shards.push(shard);
    }
    let parity = parity(params, &shards, shard_size)?;
    shards.extend(parity);
    Ok(shards)
}

/// Splits `bytes` into `k` zero-padded data shards plus `m` parity shards and builds the manifest
/// (leaves, root, model hash, exact length).
pub fn encode(
    model: &str,
    version: u64,
    bytes: &[u8],
    params: ShardParams,
) -> Result<EncodedModel> {
    if model.len() > MAX_MODEL_NAME {
        return Err(ShardingError::InconsistentManifest(format!(
            "model name is {} bytes, the limit is {MAX_MODEL_NAME}",
            model.len()
        )));
    }
    let size = bytes.len() as u64;
    if size > MAX_MODEL_BYTES {
        return Err(ShardingError::InconsistentManifest(format!(
            "model size {size} bytes, the limit is {MAX_MODEL_BYTES}"
        )));
    }
    let shards = split_and_code(bytes, params)?;
    let shard_size = params.shard_size(size);
    let leaves: Vec<Digest> = shards.iter().map(|s| merkle::shard_leaf(s)).collect();
    let root = merkle::root_of(&leaves).ok_or_else(|| {
        ShardingError::InconsistentManifest("a model always has at least one shard".to_string())
    })?;
    let manifest = ShardManifest {
        format: MANIFEST_FORMAT,
        model: model.to_string(),
        version,
        size,
        model_hash: Digest(*blake3::hash(bytes).as_bytes()),
        k: params.k() as u16,
        m: params.m() as u16,
        shard_size,
        leaves,
        root,
    };
    Ok(EncodedModel { manifest, shards })
}

/// Checks one shard against the manifest: index in range, exact size, BLAKE3 equal to its leaf.
/// Call it on every shard as it arrives; an error names the index so the provider can be penalized.
pub fn verify_shard(manifest: &ShardManifest, index: usize, shard: &[u8]) -> Result<()> {
    let total = manifest.leaves.len();
    let leaf = manifest
        .leaves
        .get(index)
        .ok_or(ShardingError::ShardIndexOutOfRange { index, total })?;
    if shard.len() as u64 != manifest.shard_size {
        return Err(ShardingError::WrongShardSize {
            index,
            got: shard.len(),
            expected: manifest.shard_size,
        });
    }
    if merkle::shard_leaf(shard) != *leaf {
        return Err(ShardingError::ShardMismatch { index });
    }
    Ok(())
}

/// Rebuilds the model from any `k` (or more) shards given as `(index, bytes)`. The manifest is
/// checked first, every shard is checked against its leaf before use (the first bad one is
/// reported by index), and the rebuilt bytes are checked against the model hash.
pub fn rebuild(manifest: &ShardManifest, shards: Vec<(usize, Vec<u8>)>) -> Result<Vec<u8>> {
    manifest.check()?;
    let params = manifest.params()?;
    let size = to_usize(manifest.size)?;
    let mut slots: Vec<Option<Vec<u8>>> = vec![None; params.total()];
    for (index, shard) in shards {
        verify_shard(manifest, index, &shard)?;
        let slot = &mut slots[index];
        if slot.is_some() {
            return Err(ShardingError::DuplicateShard { index });
        }
        *slot = Some(shard);
    }
    let have = slots.iter().filter(|s| s.is_some()).count();
    if have < params.k() {
        return Err(ShardingError::TooFewShards {
            have,
            need: params.k(),
        });
    }
    if slots[..params.k()].iter().any(Option::is_none) {
        // At least k shards are present, so a missing data shard implies m > 0.
        restore_data(params, to_usize(manifest.shard_size)?, &mut slots)?;
    }
    let mut model = Vec::with_capacity(size);
    for slot in &slots[..params.k()] {
        let shard = slot.as_deref().ok_or(ShardingError::TooFewShards {
            have,
            need: params.k(),
        })?;
        let take = shard.len().min(size - model.len());
        model.extend_from_slice(&shard[..take]);
    }
    if model.len() != size || Digest(*blake3::hash(&model).as_bytes()) != manifest.model_hash {
        return Err(ShardingError::ModelHashMismatch);
    }
    Ok(model)
}
