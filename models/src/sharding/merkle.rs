//! Shard leaves and proofs on the project's one sorted-pair keccak256 Merkle tree.
//!
//! The tree is the `autonet-merkle` crate, shared with `autonet-contracts` (which verifies the same
//! proofs on chain through OpenZeppelin's `MerkleProof`); it sits below both crates because the
//! design forbids `models` and `contracts` to depend on each other. This module only adapts it to
//! the manifest's [`Digest`] type.

use autonet_merkle::{MerkleTree, Node};

use crate::substrate::ids::Digest;

/// A shard's leaf: its BLAKE3 digest.
pub fn shard_leaf(shard: &[u8]) -> Digest {
    Digest(*blake3::hash(shard).as_bytes())
}

/// The tree over `leaves`; `None` when there are none.
pub fn tree_of(leaves: &[Digest]) -> Option<MerkleTree> {
    MerkleTree::new(leaves.iter().map(|d| d.0).collect())
}

/// The root over `leaves`; `None` when there are none.
pub fn root_of(leaves: &[Digest]) -> Option<Digest> {
    tree_of(leaves).map(|t| Digest(t.root()))
}

/// The proof of leaf `index`; `None` when out of range.
pub fn proof_of(leaves: &[Digest], index: usize) -> Option<Vec<Digest>> {
    let proof = tree_of(leaves)?.proof(index)?;
    Some(proof.into_iter().map(Digest).collect())
}

/// Whether `proof` takes `leaf` to `root`, exactly as `MerkleProof.verify` decides on chain.
pub fn verify(proof: &[Digest], root: &Digest, leaf: &Digest) -> bool {
    let path: Vec<Node> = proof.iter().map(|d| d.0).collect();
    autonet_merkle::verify(&path, &root.0, &leaf.0)
}
