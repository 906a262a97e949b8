//! Erasure-coded, proof-checked model shards.
//!
//! Bird's-eye view: a published model (any byte string) is split into `k` data shards of equal
//! size (zero-padded past the model's end) and extended with `m` Reed-Solomon parity shards
//! (`reed-solomon-simd`, GF(2^16)), so any `k` of the `k + m` shards rebuild it ([`codec`]). Each
//! shard's BLAKE3 digest is a leaf of the sorted-pair keccak256 Merkle tree that OpenZeppelin's
//! `MerkleProof` verifies on chain ([`merkle`], the tree itself is the shared `autonet-merkle`
//! crate). The [`manifest`] names the model, its version, its exact length and BLAKE3 hash, `k`,
//! `m`, the shard size, the leaves and the root; its content id (BLAKE3 over canonical CBOR) is the
//! model's id on `ModelShardRegistry`.
//! A fetcher checks every shard against its leaf before use ([`codec::verify_shard`]) and the
//! rebuilt bytes against the model hash, so a lying holder is caught and named by shard index.
//!
//! Pure computation: no files, no network, no chain. Shard actors, provider records, fetch and
//! repair build on this in other crates.

pub mod codec;
pub mod error;
pub mod manifest;
pub mod merkle;
pub mod params;

pub use codec::{EncodedModel, encode, rebuild, split_and_code, verify_shard};
pub use error::ShardingError;
pub use manifest::ShardManifest;
pub use params::ShardParams;

#[cfg(test)]
mod tests;
