//! The one sorted-pair keccak256 Merkle tree of autonet, verifiable on chain with OpenZeppelin's
//! `MerkleProof.verify`.
//!
//! Why a crate of its own: `models` builds shard manifests whose root is this tree's root, and
//! `contracts` verifies shard and mint proofs against the same tree on chain. The design forbids
//! dependencies sideways between `models`, `p2p` and `contracts` (each must build and test alone),
//! so the tree lives here, below both, and both use it; there is exactly one implementation.
//! It works on plain `[u8; 32]` nodes, so neither alloy's types nor the models' types leak into
//! the other.
//!
//! The tree is `rs_merkle`'s, with [`SortedKeccak`] as its hasher. `rs_merkle` hashes
//! `concat(left, right)`; our hasher sorts the pair first, which turns it into the
//! `keccak256(min(a, b) ‖ max(a, b))` that `MerkleProof` folds with. Its odd-node rule is the
//! one the contracts' tests were built against: an unpaired last node is carried up unchanged
//! (`concat_and_hash(left, None) = left`), and a proof lists only the siblings that exist, so a
//! carried node adds no proof element. `tests.rs` checks roots and every proof against the
//! previous hand-written tree for 1..=64 leaves, and `autonet-contracts`' `tests/it` checks the
//! proofs on a real EVM. This crate keeps the index-free fold [`verify`] of its own because that
//! is what the chain runs; `rs_merkle`'s verifier needs leaf indices and the tree size.
//!
//! **Owns** the one Merkle tree. **Must not depend on** any other autonet crate.

#![warn(missing_docs, unreachable_pub)]

use rs_merkle::Hasher;
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

/// `rs_merkle` hasher for OpenZeppelin's tree: keccak256 over the bytewise-sorted pair.
#[derive(Debug, Clone, Copy)]
pub struct SortedKeccak;

impl Hasher for SortedKeccak {
    type Hash = Node;

    fn hash(data: &[u8]) -> Node {
        keccak256(data)
    }

    fn concat_and_hash(left: &Node, right: Option<&Node>) -> Node {
        match right {
            Some(right) => hash_pair(left, right),
            // An unpaired last node moves up as it is; OpenZeppelin proofs simply skip it.
            None => *left,
        }
    }
}

/// A Merkle tree over 32-byte leaves; it always has at least one leaf.
#[derive(Clone)]
pub struct MerkleTree {
    /// The leaves in order; the tree is a function of them (equality and `Debug` use them).
    leaves: Vec<Node>,
    tree: rs_merkle::MerkleTree<SortedKeccak>,
    root: Node,
}

impl std::fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree")
            .field("leaves", &self.leaves.len())
            .field("root", &self.root)
            .finish()
    }
}

impl PartialEq for MerkleTree {
    fn eq(&self, other: &Self) -> bool {
        self.leaves == other.leaves
    }
}

impl Eq for MerkleTree {}

impl MerkleTree {
    /// Builds the tree; `None` for no leaves (an empty tree has no root `MerkleProof` accepts).
    pub fn new(leaves: Vec<Node>) -> Option<Self> {
        let tree = rs_merkle::MerkleTree::<SortedKeccak>::from_leaves(&leaves);
        // `rs_merkle` has a root exactly when there is a leaf.
        let root = tree.root()?;
        Some(Self { leaves, tree, root })
    }

    /// The root (a lone leaf is its own root).
    pub fn root(&self) -> Node {
        self.root
    }

    /// The leaves, in order.
    pub fn leaves(&self) -> &[Node] {
        &self.leaves
    }

    /// Number of leaves (at least 1).
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Always false: a tree has at least one leaf.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The sibling path for leaf `index` (bottom up), or `None` when out of range.
    pub fn proof(&self, index: usize) -> Option<Vec<Node>> {
        if index >= self.len() {
            return None;
        }
        Some(self.tree.proof(&[index]).proof_hashes().to_vec())
    }
}

/// Verifies like `MerkleProof.verify(proof, root, leaf)`.
pub fn verify(proof: &[Node], root: &Node, leaf: &Node) -> bool {
    proof
        .iter()
        .fold(*leaf, |acc, sibling| hash_pair(&acc, sibling))
        == *root
}

#[cfg(test)]
mod tests;
