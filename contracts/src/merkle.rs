//! Sorted-pair keccak Merkle trees, verifiable on chain with OpenZeppelin `MerkleProof`.
//!
//! Two leaf kinds use it: shard leaves (a shard's BLAKE3 digest, `ModelShardRegistry`) and mint
//! leaves (`keccak256(bytes.concat(keccak256(abi.encode(agent, amount))))`, `ResultsRewards`).
//! The tree itself is the `autonet-merkle` crate, the project's one implementation, which
//! `autonet-models` also uses for shard manifests; it sits below both because `models` and
//! `contracts` must not depend on each other. This module adapts it to alloy's `B256` and adds
//! the leaf encodings that need the ABI. The differential tests in `tests/it` prove its proofs
//! verify on chain, so the manifests' roots do too.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;

/// A Merkle tree over 32-byte leaves.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    inner: autonet_merkle::MerkleTree,
}

/// Hash of a sorted pair, as `MerkleProof` computes it.
pub fn hash_pair(a: B256, b: B256) -> B256 {
    B256::from(autonet_merkle::hash_pair(&a.0, &b.0))
}

/// A shard leaf: the shard's BLAKE3 digest (the same leaf `autonet_models::sharding` puts in its
/// manifests).
pub fn shard_leaf(shard: &[u8]) -> B256 {
    B256::from(*blake3::hash(shard).as_bytes())
}

/// A mint leaf (OpenZeppelin StandardMerkleTree encoding of `(address, uint256)`).
pub fn mint_leaf(agent: Address, amount: U256) -> B256 {
    keccak256(keccak256((agent, amount).abi_encode()))
}

impl MerkleTree {
    /// Builds the tree; `None` for no leaves.
    pub fn new(leaves: Vec<B256>) -> Option<Self> {
        let inner = autonet_merkle::MerkleTree::new(leaves.into_iter().map(|l| l.0).collect())?;
        Some(Self { inner })
    }

    /// The root.
    pub fn root(&self) -> B256 {
        B256::from(self.inner.root())
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Always false: a tree has at least one leaf.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The sibling path for leaf `index`, or `None` when out of range.
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        let path = self.inner.proof(index)?;
        Some(path.into_iter().map(B256::from).collect())
    }
}

/// Verifies like `MerkleProof.verify`.
pub fn verify(proof: &[B256], root: B256, leaf: B256) -> bool {
    let path: Vec<autonet_merkle::Node> = proof.iter().map(|p| p.0).collect();
    autonet_merkle::verify(&path, &root.0, &leaf.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_leaf_of_small_trees_verifies_and_tampering_fails() {
        for n in 1..=17usize {
            let leaves: Vec<B256> = (0..n).map(|i| shard_leaf(&[i as u8; 3])).collect();
            let tree = MerkleTree::new(leaves.clone()).unwrap();
            for (i, leaf) in leaves.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                assert!(verify(&proof, tree.root(), *leaf), "n={n} i={i}");
                assert!(!verify(&proof, tree.root(), B256::repeat_byte(0xee)));
            }
            assert!(tree.proof(n).is_none());
        }
        assert!(MerkleTree::new(vec![]).is_none());
    }

    #[test]
    fn the_shared_keccak_agrees_with_alloys() {
        let (a, b) = (B256::repeat_byte(3), B256::repeat_byte(9));
        assert_eq!(hash_pair(b, a), keccak256([a.0, b.0].concat()));
        assert_eq!(
            B256::from(autonet_merkle::keccak256(b"autonet")),
            keccak256(b"autonet")
        );
    }
}
