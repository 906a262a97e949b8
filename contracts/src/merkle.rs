//! Sorted-pair keccak Merkle trees, verifiable on chain with OpenZeppelin `MerkleProof`.
//!
//! Two leaf kinds use it: shard leaves (a shard's BLAKE3 digest, `ModelShardRegistry`) and mint
//! leaves (`keccak256(bytes.concat(keccak256(abi.encode(agent, amount))))`, `ResultsRewards`).
//! Layout: leaves in the given order form level 0; each next level hashes adjacent pairs with
//! `keccak256(min(a, b) ‖ max(a, b))`, and an unpaired last node is carried up unchanged.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;

/// A Merkle tree over 32-byte leaves.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    levels: Vec<Vec<B256>>,
}

/// Hash of a sorted pair, as `MerkleProof` computes it.
pub fn hash_pair(a: B256, b: B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// A shard leaf: the shard's BLAKE3 digest.
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
        if leaves.is_empty() {
            return None;
        }
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let prev = levels.last().map(Vec::as_slice).unwrap_or_default();
            let next = prev
                .chunks(2)
                .map(|c| {
                    if c.len() == 2 {
                        hash_pair(c[0], c[1])
                    } else {
                        c[0]
                    }
                })
                .collect();
            levels.push(next);
        }
        Some(Self { levels })
    }

    /// The root.
    pub fn root(&self) -> B256 {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or_default()
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Always false: a tree has at least one leaf.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The sibling path for leaf `index`, or `None` when out of range.
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        if index >= self.len() {
            return None;
        }
        let mut i = index;
        let mut path = Vec::new();
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                path.push(level[sibling]);
            }
            i /= 2;
        }
        Some(path)
    }
}

/// Verifies like `MerkleProof.verify`.
pub fn verify(proof: &[B256], root: B256, leaf: B256) -> bool {
    proof.iter().fold(leaf, |acc, p| hash_pair(acc, *p)) == root
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
}
