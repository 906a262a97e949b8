//! Cards verify for their own peer only, and refuse bad lineages and bounds.

use super::*;

const OWNER: &str = "0x00000000000000000000000000000000000000aa";

/// A valid card of `agent` on `key`'s peer.
pub(crate) fn card_for(key: &Keypair, agent: &str, capabilities: &[&str]) -> AgentCard {
    let proof = LineageProof::root(OWNER, "You summarise text.", "0a0b").unwrap();
    AgentCard {
        version: CARD_VERSION,
        peer: key.public().to_peer_id().to_string(),
        agent: agent.into(),
        name: "Summariser".into(),
        capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        lineage: proof.lineage().unwrap().to_string(),
        lineage_proof: proof,
        owner: OWNER.into(),
        protocol: DELEGATION_PROTOCOL,
    }
}

#[test]
fn a_signed_card_verifies_for_its_peer_only() {
    let key = Keypair::generate_ed25519();
    let me = key.public().to_peer_id();
    let card = card_for(&key, "sum", &["summarize"]);
    let signed = card.sign(&key).unwrap();
    assert_eq!(AgentCard::verify(&signed, &me).unwrap(), card);
    let other = Keypair::generate_ed25519();
    let err = AgentCard::verify(&signed, &other.public().to_peer_id()).unwrap_err();
    assert!(matches!(err, CardError::WrongPeer { .. }), "{err}");
    // A card claiming another peer's identity, signed by this one.
    let mut stolen = card_for(&other, "sum", &["summarize"]);
    stolen.peer = me.to_string();
    let forged = Signed::sign(&other, CARD_DOMAIN, to_cbor(&stolen).unwrap()).unwrap();
    let err = AgentCard::verify(&forged, &me).unwrap_err();
    assert!(matches!(err, CardError::Signature(_)), "{err}");
    // Signing a card of another peer is refused.
    assert!(matches!(
        card.sign(&other),
        Err(CardError::WrongPeer { .. })
    ));
    assert_ne!(capability_key("summarize"), capability_key("translate"));
}

#[test]
fn cards_with_bad_lineages_or_fields_are_refused() {
    let key = Keypair::generate_ed25519();
    let me = key.public().to_peer_id();
    let sign = |card: &AgentCard| {
        let body = to_cbor(card).unwrap();
        Signed::sign(&key, CARD_DOMAIN, body).unwrap()
    };
    let mut card = card_for(&key, "sum", &["summarize"]);
    card.lineage = "00".repeat(32);
    let err = AgentCard::verify(&sign(&card), &me).unwrap_err();
    assert!(
        matches!(err, CardError::Lineage(LineageError::Mismatch { .. })),
        "{err}"
    );
    let mut card = card_for(&key, "sum", &["summarize"]);
    card.owner = "0x00000000000000000000000000000000000000bb".into();
    assert!(matches!(
        AgentCard::verify(&sign(&card), &me),
        Err(CardError::Invalid(_))
    ));
    for caps in [vec![], vec!["Upper"], vec!["x"; MAX_CAPABILITIES + 1]] {
        let card = card_for(&key, "sum", &caps);
        assert!(matches!(
            AgentCard::verify(&sign(&card), &me),
            Err(CardError::Invalid(_))
        ));
    }
    let garbage = Signed {
        body: vec![1, 2, 3],
        signature: vec![],
    };
    assert!(matches!(
        AgentCard::verify(&garbage, &me),
        Err(CardError::Malformed(_))
    ));
    let huge = Signed {
        body: vec![0; MAX_CARD_BYTES + 1],
        signature: vec![],
    };
    assert!(matches!(
        AgentCard::verify(&huge, &me),
        Err(CardError::Oversized(_))
    ));
}
