use proptest::prelude::*;

use super::*;

fn leaf(i: usize) -> Node {
    keccak256(&i.to_le_bytes())
}

/// The hand-written tree this crate used before `rs_merkle`, kept as the reference the contracts'
/// on-chain tests were written against: level by level, adjacent pairs hashed sorted, an unpaired
/// last node carried up unchanged, a proof listing the siblings that exist.
mod reference {
    use super::super::{Node, hash_pair};

    pub(super) fn levels(leaves: Vec<Node>) -> Vec<Vec<Node>> {
        let mut levels = vec![leaves];
        while let Some(prev) = levels.last().filter(|l| l.len() > 1) {
            let next = prev
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => hash_pair(a, b),
                    [carried] => *carried,
                    _ => [0; 32],
                })
                .collect();
            levels.push(next);
        }
        levels
    }

    pub(super) fn root(levels: &[Vec<Node>]) -> Node {
        levels[levels.len() - 1][0]
    }

    pub(super) fn proof(levels: &[Vec<Node>], index: usize) -> Vec<Node> {
        let mut i = index;
        let mut path = Vec::new();
        for level in &levels[..levels.len() - 1] {
            if let Some(sibling) = level.get(i ^ 1) {
                path.push(*sibling);
            }
            i /= 2;
        }
        path
    }
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

#[test]
fn rs_merkle_roots_and_proofs_equal_the_reference_tree_for_1_to_64_leaves() {
    for n in 1..=64usize {
        let leaves: Vec<Node> = (0..n).map(leaf).collect();
        let levels = reference::levels(leaves.clone());
        let tree = MerkleTree::new(leaves.clone()).unwrap();
        assert_eq!(tree.root(), reference::root(&levels), "root, n={n}");
        assert_eq!(tree.leaves(), leaves.as_slice());
        for (i, l) in leaves.iter().enumerate() {
            let proof = tree.proof(i).unwrap();
            assert_eq!(proof, reference::proof(&levels, i), "proof, n={n} i={i}");
            assert!(verify(&proof, &tree.root(), l));
        }
    }
}

proptest! {
    #[test]
    fn every_leaf_verifies_and_tampering_fails(n in 1usize..70, salt in any::<u64>()) {
        let leaves: Vec<Node> = (0..n).map(|i| leaf(i ^ salt as usize)).collect();
        let tree = MerkleTree::new(leaves.clone()).unwrap();
        let levels = reference::levels(leaves.clone());
        prop_assert_eq!(tree.root(), reference::root(&levels));
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
