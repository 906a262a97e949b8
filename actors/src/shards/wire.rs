//! The shard protocol's messages, carried as the bodies of RPCs to the shard service
//! ([`super::rpc`]), and the provider-record keys.
//!
//! Holders answer four requests: the manifest of a model they hold, one ≤ 1 MiB chunk of a shard
//! with the shard's Merkle proof, whether they hold a shard (liveness probes of repair), and
//! "hold this shard" (sent by a publisher or repairer, which the receiver answers after it has
//! downloaded the shard from `source`, checked it and started serving it). Messages are CBOR;
//! decoding never panics, and sizes are bounded by the overlay's codec limits.

use autonet_p2p::transfer::MAX_CHUNK_BYTES;
use serde::{Deserialize, Serialize};

use super::ModelId;
use super::error::ShardError;

/// A request to a shard host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardRequest {
    /// The manifest of a model the host holds (or is staging).
    Manifest {
        /// Which model (its BLAKE3 id).
        model: ModelId,
    },
    /// One chunk (≤ [`MAX_CHUNK_BYTES`]) of one shard, with the shard's Merkle proof.
    Chunk {
        /// Which model (its BLAKE3 id).
        model: ModelId,
        /// Which shard: 0-based, data shards before parity shards.
        index: u16,
        /// The chunk's index within the shard.
        chunk: u32,
    },
    /// Whether the host holds a shard (repair's liveness probe).
    Has {
        /// Which model (its BLAKE3 id).
        model: ModelId,
        /// Which shard: 0-based, data shards before parity shards.
        index: u16,
    },
    /// Take shard `index` of the model in `manifest`, downloading it from peer `source`.
    Hold {
        /// The encoded manifest of the model.
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
        /// The shard to take.
        index: u16,
        /// The peer to download it from (`PeerId` bytes).
        #[serde(with = "serde_bytes")]
        source: Vec<u8>,
    },
}

/// A shard host's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShardResponse {
    /// The encoded manifest.
    Manifest(#[serde(with = "serde_bytes")] Vec<u8>),
    /// One chunk of a shard.
    Chunk {
        /// Chunks in the shard.
        total: u32,
        /// The chunk's bytes.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
        /// The shard's Merkle proof (siblings from leaf to root).
        proof: Vec<[u8; 32]>,
    },
    /// Whether the host holds the shard asked about.
    Has(bool),
    /// The host downloaded, checked and now serves the shard it was asked to hold.
    Held,
    /// The host will not hold the shard, and why.
    Refused(String),
    /// The host has no such model, shard or chunk.
    NotFound,
}

/// The name of an answer's kind, for errors and logs (never its bytes).
pub fn kind(response: &ShardResponse) -> &'static str {
    match response {
        ShardResponse::Manifest(_) => "Manifest",
        ShardResponse::Chunk { .. } => "Chunk",
        ShardResponse::Has(_) => "Has",
        ShardResponse::Held => "Held",
        ShardResponse::Refused(_) => "Refused",
        ShardResponse::NotFound => "NotFound",
    }
}

/// Encodes a protocol message.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail for these plain types.
    let _ = ciborium::into_writer(message, &mut out);
    out
}

/// Decodes a protocol message.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ShardError> {
    ciborium::from_reader(bytes).map_err(|e| ShardError::Wire(e.to_string()))
}

/// Number of chunks in a shard of `shard_size` bytes.
pub fn chunk_count(shard_size: u64) -> u32 {
    let n = shard_size.div_ceil(MAX_CHUNK_BYTES as u64).max(1);
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Byte range of chunk `chunk` in a shard of `shard_size` bytes; `None` past the end.
pub fn chunk_range(shard_size: u64, chunk: u32) -> Option<(u64, u64)> {
    if chunk >= chunk_count(shard_size) {
        return None;
    }
    let start = u64::from(chunk) * MAX_CHUNK_BYTES as u64;
    let end = (start + MAX_CHUNK_BYTES as u64).min(shard_size);
    Some((start, end))
}

/// Provider-record key of shard `index` of `model`.
pub fn shard_key(model: &ModelId, index: u16) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"autonet/shard-provider/v1\0");
    h.update(model);
    h.update(&index.to_le_bytes());
    *h.finalize().as_bytes()
}

/// Provider-record key of "holds some shard of `model`" (where fetchers find the manifest).
pub fn model_key(model: &ModelId) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"autonet/model-holders/v1\0");
    h.update(model);
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_an_error() {
        let request = ShardRequest::Chunk {
            model: [7; 32],
            index: 3,
            chunk: 2,
        };
        assert_eq!(
            decode::<ShardRequest>(&encode(&request)).ok(),
            Some(request)
        );
        let response = ShardResponse::Chunk {
            total: 2,
            data: vec![1, 2, 3],
            proof: vec![[9; 32]],
        };
        assert_eq!(
            decode::<ShardResponse>(&encode(&response)).ok(),
            Some(response)
        );
        assert!(decode::<ShardRequest>(&[0xff, 0x00, 0x13]).is_err());
    }

    #[test]
    fn chunks_tile_the_shard() {
        let size = 2 * MAX_CHUNK_BYTES as u64 + 5;
        assert_eq!(chunk_count(size), 3);
        assert_eq!(
            chunk_range(size, 2),
            Some((2 * MAX_CHUNK_BYTES as u64, size))
        );
        assert_eq!(chunk_range(size, 3), None);
        assert_eq!(chunk_count(0), 1);
        assert_ne!(shard_key(&[1; 32], 0), shard_key(&[1; 32], 1));
        assert_ne!(shard_key(&[1; 32], 0), model_key(&[1; 32]));
    }
}
