//! Property and example tests of sharding: any k of k + m rebuild, bad shards are named, the
//! manifest round-trips and every leaf's proof verifies.

use proptest::prelude::*;
use proptest::sample::subsequence;

use super::*;
use crate::substrate::ids::Digest;

/// Pseudo-random bytes without a dependency: a cheap LCG seeded by the test case.
fn model_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

/// (k, m, size, chosen indices, seed): random parameters, a random model size (0 and 1 included,
/// mostly not a multiple of k) and a random k-subset of the k + m shard indices.
fn case() -> impl Strategy<Value = (usize, usize, usize, Vec<usize>, u64)> {
    (
        1usize..=24,
        0usize..=10,
        prop_oneof![Just(0usize), Just(1), 0usize..5000],
        any::<u64>(),
    )
        .prop_flat_map(|(k, m, size, seed)| {
            let chosen = subsequence((0..k + m).collect::<Vec<_>>(), k).prop_shuffle();
            (Just(k), Just(m), Just(size), chosen, Just(seed))
        })
}

proptest! {
    #[test]
    fn any_k_shards_rebuild_the_exact_bytes((k, m, size, chosen, seed) in case()) {
        let bytes = model_bytes(size, seed);
        let params = ShardParams::new(k, m).unwrap();
        let encoded = encode("world", 3, &bytes, params).unwrap();
        prop_assert_eq!(encoded.shards.len(), k + m);
        prop_assert_eq!(encoded.manifest.size, size as u64);
        prop_assert!(encoded.shards.iter().all(|s| s.len() as u64 == encoded.manifest.shard_size));
        let subset: Vec<(usize, Vec<u8>)> =
            chosen.iter().map(|&i| (i, encoded.shards[i].clone())).collect();
        let rebuilt = rebuild(&encoded.manifest, subset).unwrap();
        prop_assert_eq!(rebuilt, bytes);
    }

    #[test]
    fn a_corrupted_shard_is_named_by_index(
        (k, m, size, chosen, seed) in case(),
        pick in any::<prop::sample::Index>(),
        byte in any::<prop::sample::Index>(),
    ) {
        let bytes = model_bytes(size, seed);
        let encoded = encode("world", 1, &bytes, ShardParams::new(k, m).unwrap()).unwrap();
        let bad = chosen[pick.index(chosen.len())];
        let mut subset: Vec<(usize, Vec<u8>)> =
            chosen.iter().map(|&i| (i, encoded.shards[i].clone())).collect();
        for (i, shard) in &mut subset {
            if *i == bad {
                let at = byte.index(shard.len());
                shard[at] ^= 0x5a;
            }
        }
        prop_assert_eq!(
            verify_shard(&encoded.manifest, bad, &subset.iter().find(|(i, _)| *i == bad).unwrap().1),
            Err(ShardingError::ShardMismatch { index: bad })
        );
        prop_assert_eq!(
            rebuild(&encoded.manifest, subset),
            Err(ShardingError::ShardMismatch { index: bad })
        );
    }

    #[test]
    fn every_leaf_proof_verifies_against_the_manifest_root(
        k in 1usize..=40, m in 0usize..=20, size in 0usize..3000, seed in any::<u64>(),
    ) {
        let encoded = encode("w", 0, &model_bytes(size, seed), ShardParams::new(k, m).unwrap()).unwrap();
        let manifest = &encoded.manifest;
        for (i, shard) in encoded.shards.iter().enumerate() {
            let proof = manifest.proof(i).unwrap();
            prop_assert!(merkle::verify(&proof, &manifest.root, &merkle::shard_leaf(shard)));
            prop_assert!(!merkle::verify(&proof, &manifest.root, &Digest([0xee; 32])));
        }
        prop_assert!(manifest.proof(k + m).is_none());
    }

    #[test]
    fn manifest_round_trips_with_a_stable_id(
        k in 1usize..=20, m in 0usize..=8, size in 0usize..2000, version in any::<u64>(),
    ) {
        let manifest = encode("world", version, &model_bytes(size, 7), ShardParams::new(k, m).unwrap())
            .unwrap()
            .manifest;
        let bytes = manifest.to_bytes();
        let decoded = ShardManifest::from_bytes(&bytes).unwrap();
        prop_assert_eq!(decoded.id(), manifest.id());
        prop_assert_eq!(&decoded, &manifest);
    }
}

/// (k, m, size, kept indices, seed): parameters up to the default's scale and beyond, any size
/// (odd ones included, so the even padding is exercised) and a random loss of 0..=m shards.
fn lossy_case() -> impl Strategy<Value = (usize, usize, usize, Vec<usize>, u64)> {
    (1usize..=64, 1usize..=32, 0usize..20_000, any::<u64>())
        .prop_flat_map(|(k, m, size, seed)| (Just(k), Just(m), Just(size), 0..=m, Just(seed)))
        .prop_flat_map(|(k, m, size, lost, seed)| {
            let kept = subsequence((0..k + m).collect::<Vec<_>>(), k + m - lost).prop_shuffle();
            (Just(k), Just(m), Just(size), kept, Just(seed))
        })
}

proptest! {
    #[test]
    fn losing_up_to_m_random_shards_rebuilds_the_exact_bytes(
        (k, m, size, kept, seed) in lossy_case(),
    ) {
        let bytes = model_bytes(size, seed);
        let encoded = encode("world", 2, &bytes, ShardParams::new(k, m).unwrap()).unwrap();
        prop_assert_eq!(encoded.manifest.shard_size % 2, 0);
        let subset: Vec<(usize, Vec<u8>)> =
            kept.iter().map(|&i| (i, encoded.shards[i].clone())).collect();
        prop_assert_eq!(rebuild(&encoded.manifest, subset).unwrap(), bytes);
    }
}

#[test]
fn a_format_1_manifest_is_refused_by_name_not_misdecoded() {
    let encoded = encode("world", 1, b"hello shards", ShardParams::new(3, 2).unwrap()).unwrap();
    let mut old = encoded.manifest.clone();
    old.format = 1;
    let refused = ShardManifest::from_bytes(&old.to_bytes()).unwrap_err();
    assert_eq!(
        refused,
        ShardingError::UnsupportedFormat { found: 1, reads: 2 }
    );
    assert!(refused.to_string().contains("re-publish"), "{refused}");
    let all = encoded.shards.iter().cloned().enumerate().collect();
    assert_eq!(
        rebuild(&old, all),
        Err(ShardingError::UnsupportedFormat { found: 1, reads: 2 })
    );
}

#[test]
fn default_parameters_shard_a_model_not_divisible_by_k() {
    let bytes = model_bytes(1_000_003, 1);
    let encoded = encode("world", 9, &bytes, ShardParams::default()).unwrap();
    assert_eq!((encoded.manifest.k, encoded.manifest.m), (10, 4));
    // ceil(1_000_003 / 10) = 100_001, rounded up to even for the 16-bit code.
    assert_eq!(encoded.manifest.shard_size, 100_002);
    // Lose any 4, here the first four data shards.
    let subset = (4..14).map(|i| (i, encoded.shards[i].clone())).collect();
    assert_eq!(rebuild(&encoded.manifest, subset).unwrap(), bytes);
}

#[test]
fn too_few_shards_wrong_sizes_and_bad_indices_are_refused() {
    let encoded = encode(
        "world",
        1,
        &model_bytes(999, 2),
        ShardParams::new(4, 2).unwrap(),
    )
    .unwrap();
    let some = |idx: &[usize]| -> Vec<(usize, Vec<u8>)> {
        idx.iter()
            .map(|&i| (i, encoded.shards[i].clone()))
            .collect()
    };
    let manifest = &encoded.manifest;
    assert_eq!(
        rebuild(manifest, some(&[0, 5, 2])),
        Err(ShardingError::TooFewShards { have: 3, need: 4 })
    );
    let mut short = some(&[0, 1, 2, 3]);
    short[1].1.pop();
    assert_eq!(
        rebuild(manifest, short),
        Err(ShardingError::WrongShardSize {
            index: 1,
            got: 249,
            expected: 250
        })
    );
    let mut out_of_range = some(&[0, 1, 2]);
    out_of_range.push((6, encoded.shards[3].clone()));
    assert_eq!(
        rebuild(manifest, out_of_range),
        Err(ShardingError::ShardIndexOutOfRange { index: 6, total: 6 })
    );
    assert_eq!(
        rebuild(manifest, some(&[0, 1, 1, 2])),
        Err(ShardingError::DuplicateShard { index: 1 })
    );
}

#[test]
fn a_tampered_manifest_is_refused() {
    let manifest = encode("world", 1, b"hello shards", ShardParams::new(3, 2).unwrap())
        .unwrap()
        .manifest;
    let mut wrong_root = manifest.clone();
    wrong_root.root = Digest([1; 32]);
    assert!(matches!(
        ShardManifest::from_bytes(&wrong_root.to_bytes()),
        Err(ShardingError::InconsistentManifest(_))
    ));
    let mut wrong_size = manifest.clone();
    wrong_size.size += 100;
    assert!(matches!(
        wrong_size.check(),
        Err(ShardingError::InconsistentManifest(_))
    ));
    let mut wrong_leaves = manifest.clone();
    wrong_leaves.leaves.pop();
    assert!(wrong_leaves.check().is_err());
    assert!(matches!(
        ShardManifest::from_bytes(b"\xff\x00garbage"),
        Err(ShardingError::ManifestEncoding(_))
    ));
    // Same shards, a different claimed model hash: the rebuild catches it.
    let encoded = encode("world", 1, b"hello shards", ShardParams::new(3, 2).unwrap()).unwrap();
    let mut lying = encoded.manifest.clone();
    lying.model_hash = Digest([2; 32]);
    let all = encoded.shards.iter().cloned().enumerate().collect();
    assert_eq!(rebuild(&lying, all), Err(ShardingError::ModelHashMismatch));
}

#[test]
fn a_manifest_declaring_more_than_the_model_cap_is_refused() {
    let manifest = encode("world", 1, b"hello shards", ShardParams::new(3, 2).unwrap())
        .unwrap()
        .manifest;
    // Consistent in every derived field except the size cap: 4 GiB + 3 bytes in 3 data shards.
    let mut huge = manifest.clone();
    huge.size = manifest::MAX_MODEL_BYTES + 3;
    huge.shard_size = huge.params().unwrap().shard_size(huge.size);
    assert!(matches!(
        ShardManifest::from_bytes(&huge.to_bytes()),
        Err(ShardingError::InconsistentManifest(ref why)) if why.contains("limit")
    ));
    // Shard size × count inconsistent with the size: refused as well.
    let mut wide = manifest;
    wide.shard_size *= 1000;
    assert!(ShardManifest::from_bytes(&wide.to_bytes()).is_err());
}

#[test]
fn the_manifest_id_is_the_model_hash() {
    let params = ShardParams::new(2, 1).unwrap();
    let base = encode("world", 1, b"abc", params).unwrap().manifest;
    assert_eq!(base.id().0, *blake3::hash(b"abc").as_bytes());
    // The id names the bytes, whatever the manifest calls them: a name or a version is no
    // second identity (the registry keeps one registration per id).
    let renamed = encode("other", 7, b"abc", params).unwrap().manifest;
    assert_eq!(base.id(), renamed.id());
    let other = encode("world", 1, b"abd", params).unwrap().manifest;
    assert_ne!(base.id(), other.id());
}
