//! The one sorted-pair keccak256 Merkle tree of autonet, verifiable on chain with OpenZeppelin's
//! `MerkleProof.verify`.
//!
//! Why a crate of its own: `models` builds shard manifests whose root is this tree's root, and
//! `contracts` verifies shard and mint proofs against the same tree on chain. The design forbids
//! dependencies sideways between `models`, `p2p` and `contracts` (each must build and test alone),
//! so the tree lives here, below both, and both use it; there is exactly one implementation.
//! It depends on nothing but a keccak256 implementation and works on plain `[u8; 32]` nodes, so
//! neither alloy's types nor the models' types leak into the other.
//!
//! Layout: leaves in the given order form level 0; each next level hashes adjacent pairs with
//! `keccak256(min(a, b) ‖ max(a, b))` (bytewise order), and an unpaired last node is carried up
//! unchanged. A proof is the list of siblings met on the way up (carried nodes add none), which is
//! exactly what `MerkleProof.verify(proof, root, leaf)` folds over.
//!
//! **Owns** the one Merkle tree. **Must not depend on** any other autonet crate.

use sha3::{Digest as _, Keccak256};

/// A tree node or leaf: 32 bytes.
pub type Node = [u8; 32];

/// keccak256 of `data` (the Ethereum hash, not SHA3-256).
pub fn keccak256(data: &[u8]) -> Node {
    Keccak256::digest(data).into()
}

/// Hash of a sorted pair, as `MerkleProof` computes it.
pub fn hash_pair(a: &Node, b: &Node) -> Node {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut hasher = Keccak256::new();
    hasher.update(lo);
    hasher.update(hi);
    hasher.finalize().into()
}

/// A Merkle tree over 32-byte leaves; it always has at least one leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    /// `levels[0]` are the leaves, the last level holds the root alone.
    levels: Vec<Vec<Node>>,
}

impl MerkleTree {
    /// Builds the tree; `None` for no leaves (an empty tree has no root `MerkleProof` accepts).
    pub fn new(leaves: Vec<Node>) -> Option<Self> {
        if leaves.is_empty() {
            return None;
        }
        let mut levels = vec![leaves];
        loop {
            let prev = match levels.last() {
                Some(level) if level.len() > 1 => level,
                _ => break,
            };
            let next = prev
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => hash_pair(a, b),
                    [carried] => *carried,
                    _ => unreachable_node(),
                })
                .collect();
            levels.push(next);
        }
        Some(Self { levels })
    }

    /// The root (a lone leaf is its own root).
    pub fn root(&self) -> Node {
        self.levels
            .last()
            .and_then(|level| level.first())
            .copied()
            .unwrap_or_default()
    }

    /// The leaves, in order.
    pub fn leaves(&self) -> &[Node] {
        self.levels.first().map(Vec::as_slice).unwrap_or_default()
    }

    /// Number of leaves (at least 1).
    pub fn len(&self) -> usize {
        self.leaves().len()
    }

    /// Always false: a tree has at least one leaf.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The sibling path for leaf `index`, or `None` when out of range.
    pub fn proof(&self, index: usize) -> Option<Vec<Node>> {
        if index >= self.len() {
            return None;
        }
        let mut i = index;
        let mut path = Vec::new();
        for level in &self.levels[..self.levels.len() - 1] {
            if let Some(sibling) = level.get(i ^ 1) {
                path.push(*sibling);
            }
            i /= 2;
        }
        Some(path)
    }
}

/// `chunks(2)` never yields an empty or longer slice; this keeps the match total without a panic.
fn unreachable_node() -> Node {
    [0; 32]
}

/// Verifies like `MerkleProof.verify(proof, root, leaf)`.
pub fn verify(proof: &[Node], root: &Node, leaf: &Node) -> bool {
    proof
        .iter()
        .fold(*leaf, |acc, sibling| hash_pair(&acc, sibling))
        == *root
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn leaf(i: usize) -> Node {
        keccak256(&i.to_le_bytes())
    }

    #[test]
    fn keccak256_matches_the_ethereum_test_vector() {
        // keccak256("") as every Ethereum client knows it.
        let empty = keccak256(b"");
        assert_eq!(
            empty[..4],
            [0xc5, 0xd2, 0x46, 0x01],
            "keccak256 of the empty string"
        );
    }

    #[test]
    fn empty_tree_is_refused_and_one_leaf_is_its_own_root() {
        assert!(MerkleTree::new(vec![]).is_none());
        let tree = MerkleTree::new(vec![leaf(7)]).unwrap();
        assert_eq!(tree.root(), leaf(7));
        assert_eq!(tree.proof(0).unwrap(), Vec::<Node>::new());
        assert!(tree.proof(1).is_none());
    }

    #[test]
    fn two_leaves_hash_in_sorted_order() {
        let (a, b) = (leaf(1), leaf(2));
        let ab = MerkleTree::new(vec![a, b]).unwrap().root();
        let ba = MerkleTree::new(vec![b, a]).unwrap().root();
        assert_eq!(ab, ba);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        assert_eq!(ab, keccak256(&[lo, hi].concat()));
    }

    proptest! {
        #[test]
        fn every_leaf_verifies_and_tampering_fails(n in 1usize..70, salt in any::<u64>()) {
            let leaves: Vec<Node> = (0..n).map(|i| leaf(i ^ salt as usize)).collect();
            let tree = MerkleTree::new(leaves.clone()).unwrap();
            for (i, l) in leaves.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                prop_assert!(verify(&proof, &tree.root(), l));
                let mut bad = *l;
                bad[0] ^= 1;
                prop_assert!(!verify(&proof, &tree.root(), &bad));
            }
            prop_assert!(tree.proof(n).is_none());
        }
    }
}
