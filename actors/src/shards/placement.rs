//! Where a model's shards go: rendezvous (highest-random-weight) hashing over distinct peers.
//!
//! Every (model, shard, peer) triple has a pseudo-random weight, BLAKE3 of the three; a shard
//! prefers the peers with the highest weights, so any node computes the same placement from the
//! same candidates, and a peer joining or leaving moves only the shards it wins or held. Copies
//! are spread: a peer never gets two copies of one shard, and each copy goes to the candidate
//! holding the fewest of the model's copies so far (highest weight among those), so when there
//! are at least as many peers as copies every copy lands on a different peer. Pure functions.

use std::collections::HashMap;

use super::ModelId;

/// Something placement can rank: a peer, as the bytes of its id.
pub trait PeerKey: Clone + Eq + std::hash::Hash {
    /// The bytes placement hashes for this peer (a `PeerId`'s encoding).
    fn key_bytes(&self) -> Vec<u8>;
}

impl PeerKey for autonet_p2p::PeerId {
    fn key_bytes(&self) -> Vec<u8> {
        self.to_bytes()
    }
}

impl PeerKey for Vec<u8> {
    fn key_bytes(&self) -> Vec<u8> {
        self.clone()
    }
}

/// The rendezvous weight of `peer` (its id bytes) for shard `index` of `model`.
pub fn weight(model: &ModelId, index: u16, peer: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"autonet/placement/v1\0");
    h.update(model);
    h.update(&index.to_le_bytes());
    h.update(peer);
    *h.finalize().as_bytes()
}

/// Candidates ordered by rendezvous weight for one shard, best first.
pub fn ranked<P: PeerKey>(model: &ModelId, index: u16, candidates: &[P]) -> Vec<P> {
    let mut scored: Vec<([u8; 32], P)> = candidates
        .iter()
        .map(|p| (weight(model, index, &p.key_bytes()), p.clone()))
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    scored.into_iter().map(|(_, p)| p).collect()
}

/// Places `replication` copies of each of `total` shards on `candidates` (peer id bytes).
/// Returns, per shard index, the chosen peers (fewer than `replication` only when there are
/// fewer candidates than that).
pub fn place<P: PeerKey>(
    model: &ModelId,
    total: usize,
    replication: usize,
    candidates: &[P],
) -> Vec<Vec<P>> {
    let indices: Vec<u16> = (0..total)
        .map(|i| u16::try_from(i).unwrap_or(u16::MAX))
        .collect();
    place_indices(model, &indices, replication, candidates)
}

/// [`place`] for some shard indices only (repair re-places the missing ones); the result is in
/// the order of `indices`.
pub fn place_indices<P: PeerKey>(
    model: &ModelId,
    indices: &[u16],
    replication: usize,
    candidates: &[P],
) -> Vec<Vec<P>> {
    let mut load: HashMap<P, usize> = HashMap::new();
    let mut placement = Vec::with_capacity(indices.len());
    for index16 in indices.iter().copied() {
        let order = ranked(model, index16, candidates);
        let mut chosen: Vec<P> = Vec::with_capacity(replication);
        for _ in 0..replication {
            // Least-loaded first; among equals, the rendezvous order decides (stable min).
            let best = order
                .iter()
                .filter(|p| !chosen.contains(p))
                .min_by_key(|p| load.get(*p).copied().unwrap_or(0));
            let Some(best) = best.cloned() else { break };
            *load.entry(best.clone()).or_insert(0) += 1;
            chosen.push(best);
        }
        placement.push(chosen);
    }
    placement
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn peers(n: u8) -> Vec<Vec<u8>> {
        (0..n).map(|i| vec![i; 8]).collect()
    }

    #[test]
    fn copies_land_on_distinct_peers_when_there_are_enough() {
        let model = [3; 32];
        let placement = place(&model, 14, 1, &peers(20));
        let all: Vec<_> = placement.iter().flatten().collect();
        assert_eq!(all.len(), 14);
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 14);
        let placement = place(&model, 9, 2, &peers(20));
        let all: Vec<_> = placement.iter().flatten().collect();
        assert_eq!(all.len(), 18);
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 18);
    }

    #[test]
    fn load_stays_balanced_and_a_shard_never_has_two_copies_on_one_peer() {
        let model = [4; 32];
        let placement = place(&model, 14, 3, &peers(10));
        let mut load: HashMap<Vec<u8>, usize> = HashMap::new();
        for copies in &placement {
            assert_eq!(copies.len(), 3);
            assert_eq!(copies.iter().collect::<HashSet<_>>().len(), 3);
            for p in copies {
                *load.entry(p.clone()).or_default() += 1;
            }
        }
        let (min, max) = (load.values().min(), load.values().max());
        assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1), "{load:?}");
        assert_eq!(place(&model, 2, 3, &peers(2))[0].len(), 2);
    }

    #[test]
    fn placement_is_deterministic_and_order_independent() {
        let model = [5; 32];
        let mut shuffled = peers(12);
        shuffled.reverse();
        assert_eq!(
            place(&model, 6, 1, &peers(12)),
            place(&model, 6, 1, &shuffled)
        );
        assert_ne!(
            place(&model, 6, 1, &peers(12)),
            place(&[6; 32], 6, 1, &peers(12))
        );
    }
}
