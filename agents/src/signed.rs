//! Bytes signed by a peer's libp2p identity key (envelopes, agent cards).
//!
//! The signature covers `domain ‖ 0x00 ‖ body`, so a signature made for one kind of object
//! (a mail envelope) is never valid for another (an agent card). It is checked against the
//! public key inside the signer's PeerId: ed25519 PeerIds are the identity multihash of the
//! protobuf-encoded public key, so no key lookup is needed. PeerIds that hash their key (RSA,
//! large keys) cannot be checked this way and are refused.

use autonet_p2p::{Keypair, PeerId};
use libp2p::identity::PublicKey;
use serde::{Deserialize, Serialize};

/// Multihash code of the identity hash (the digest is the key itself).
const IDENTITY_MULTIHASH: u64 = 0x00;

/// A body and its signature, as carried on the wire (CBOR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// The signed bytes (a CBOR-encoded object).
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    /// The signer's signature over `domain ‖ 0x00 ‖ body`.
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
}

/// Why a signature does not check.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The signer's PeerId does not embed its public key (not an ed25519 identity).
    #[error("peer {0} does not embed its public key (only ed25519 peer ids can sign)")]
    NoKeyInPeerId(String),
    /// The signature is not the signer's over these bytes.
    #[error("bad signature: the body was not signed by {0}")]
    Invalid(String),
    /// Signing failed locally.
    #[error("signing failed: {0}")]
    Signing(String),
}

fn message(domain: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 1 + body.len());
    m.extend_from_slice(domain.as_bytes());
    m.push(0);
    m.extend_from_slice(body);
    m
}

/// The public key embedded in `peer`, if it embeds one.
pub fn public_key_of(peer: &PeerId) -> Result<PublicKey, SignatureError> {
    let hash = peer.as_ref();
    if hash.code() != IDENTITY_MULTIHASH {
        return Err(SignatureError::NoKeyInPeerId(peer.to_string()));
    }
    PublicKey::try_decode_protobuf(hash.digest())
        .map_err(|_| SignatureError::NoKeyInPeerId(peer.to_string()))
}

impl Signed {
    /// Signs `body` for `domain` with `key`.
    pub fn sign(key: &Keypair, domain: &str, body: Vec<u8>) -> Result<Self, SignatureError> {
        let signature = key
            .sign(&message(domain, &body))
            .map_err(|e| SignatureError::Signing(e.to_string()))?;
        Ok(Self { body, signature })
    }

    /// Checks that `signer` signed the body for `domain`.
    pub fn verify(&self, domain: &str, signer: &PeerId) -> Result<(), SignatureError> {
        let key = public_key_of(signer)?;
        if key.verify(&message(domain, &self.body), &self.signature) {
            Ok(())
        } else {
            Err(SignatureError::Invalid(signer.to_string()))
        }
    }
}

/// Encodes `value` as CBOR.
pub(crate) fn to_cbor<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decodes CBOR (the caller bounds the length first).
pub(crate) fn from_cbor<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    ciborium::from_reader(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_signer_and_domain_only() {
        let key = Keypair::generate_ed25519();
        let me = key.public().to_peer_id();
        let signed = Signed::sign(&key, "a", b"body".to_vec()).unwrap();
        assert_eq!(signed.verify("a", &me), Ok(()));
        assert!(matches!(
            signed.verify("b", &me),
            Err(SignatureError::Invalid(_))
        ));
        let other = Keypair::generate_ed25519().public().to_peer_id();
        assert!(matches!(
            signed.verify("a", &other),
            Err(SignatureError::Invalid(_))
        ));
        let mut tampered = signed.clone();
        tampered.body.push(1);
        assert!(tampered.verify("a", &me).is_err());
        // A random PeerId is a SHA-256 multihash: no key inside.
        assert!(matches!(
            signed.verify("a", &PeerId::random()),
            Err(SignatureError::NoKeyInPeerId(_))
        ));
    }
}
