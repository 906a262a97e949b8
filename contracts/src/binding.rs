//! PeerId ↔ address bindings, verified off chain.
//!
//! `RPB` stores every agent's claim of a PeerId with the PeerId key's Ed25519 signature over the
//! binding digest, but cannot check that signature (the EVM has no Ed25519). So any address may
//! claim any PeerId, and a reader trusts a claim only when its signature verifies under the
//! public key the PeerId itself embeds (an Ed25519 PeerId is the identity multihash of its
//! protobuf-encoded public key). Among the verified claims, all made by the key's owner, the
//! newest wins (ties: the higher address), so the owner can bind or re-bind its PeerId whatever
//! squatters claimed before or after it.

use alloy::primitives::{Address, B256, Bytes};
use libp2p_identity::PublicKey;

/// Claims of one PeerId read at most (pages of [`CLAIM_PAGE`]). Each claim costs its author a
/// registration transaction from a distinct address (several new storage slots); a PeerId
/// buried under more claims than this should be rotated by its owner.
pub const MAX_CLAIMS_READ: u64 = 1024;
/// Claims read per call.
pub const CLAIM_PAGE: u64 = 128;

/// One agent's claim of a PeerId as the chain stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerClaim {
    /// The address that made the claim (signed the registration transaction).
    pub agent: Address,
    /// The PeerId key's signature over `digest` (unchecked on chain).
    pub peer_signature: Bytes,
    /// The binding digest both keys signed.
    pub digest: B256,
    /// Block of the claim; among verified claims the newest wins.
    pub registered_at: u64,
}

/// The public key an Ed25519 (or any inlined-key) PeerId embeds: its bytes are the identity
/// multihash (code 0, one-byte length) of the protobuf-encoded key. `None` for hashed PeerIds
/// (RSA) and malformed bytes.
pub fn embedded_key(peer_id: &[u8]) -> Option<PublicKey> {
    let (&code, rest) = peer_id.split_first()?;
    let (&len, key) = rest.split_first()?;
    if code != 0 || usize::from(len) != key.len() || len >= 0x80 {
        return None;
    }
    let public = PublicKey::try_decode_protobuf(key).ok()?;
    (public.to_peer_id().to_bytes() == peer_id).then_some(public)
}

/// True when `claim`'s signature is `peer_id`'s key's signature over the claim's digest.
pub fn claim_verifies(peer_id: &[u8], claim: &PeerClaim) -> bool {
    embedded_key(peer_id)
        .is_some_and(|key| key.verify(claim.digest.as_slice(), &claim.peer_signature))
}

/// The address `peer_id` is bound to: the newest claim whose signature verifies (ties: the
/// higher address); `None` when no claim verifies.
pub fn verified_owner(peer_id: &[u8], claims: &[PeerClaim]) -> Option<Address> {
    let key = embedded_key(peer_id)?;
    claims
        .iter()
        .filter(|c| key.verify(c.digest.as_slice(), &c.peer_signature))
        .max_by_key(|c| (c.registered_at, c.agent))
        .map(|c| c.agent)
}

#[cfg(test)]
mod tests {
    use libp2p_identity::Keypair;

    use super::*;

    fn claim(agent: u8, key: &Keypair, digest: B256, at: u64) -> PeerClaim {
        PeerClaim {
            agent: Address::repeat_byte(agent),
            peer_signature: Bytes::from(key.sign(digest.as_slice()).unwrap()),
            digest,
            registered_at: at,
        }
    }

    #[test]
    fn only_claims_signed_by_the_peer_key_count_and_the_newest_wins() {
        let owner = Keypair::generate_ed25519();
        let squatter = Keypair::generate_ed25519();
        let peer = owner.public().to_peer_id().to_bytes();
        assert!(embedded_key(&peer).is_some());
        let d = |b: u8| B256::repeat_byte(b);
        let forged = claim(9, &squatter, d(9), 50);
        let mut replayed = claim(8, &owner, d(1), 60);
        replayed.digest = d(8); // the owner's signature over another digest
        assert_eq!(
            verified_owner(&peer, &[forged.clone(), replayed.clone()]),
            None
        );
        let first = claim(1, &owner, d(1), 10);
        let second = claim(2, &owner, d(2), 20);
        assert_eq!(
            verified_owner(
                &peer,
                &[second.clone(), forged.clone(), first.clone(), replayed]
            ),
            Some(Address::repeat_byte(2))
        );
        assert_eq!(
            verified_owner(&peer, &[first, forged]),
            Some(Address::repeat_byte(1))
        );
        // Not an inlined key: nothing verifies.
        assert_eq!(embedded_key(&[0x12, 0x20, 1, 2]), None);
        assert_eq!(embedded_key(&[]), None);
        assert_eq!(verified_owner(b"junk", &[second]), None);
    }
}
