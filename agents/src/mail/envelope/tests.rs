//! Every refusal of [`super::open`], on hand-made envelopes.

use serde_json::json;

use super::*;
use crate::message::{MessageKind, Priority};

struct Pair {
    key: Keypair,
    me: PeerId,
    them: PeerId,
}

fn pair() -> Pair {
    let key = Keypair::generate_ed25519();
    Pair {
        me: key.public().to_peer_id(),
        them: Keypair::generate_ed25519().public().to_peer_id(),
        key,
    }
}

fn message(from: &AgentAddr, to: &AgentAddr) -> InboxMessage {
    InboxMessage {
        id: "m1".into(),
        source: from.to_string(),
        target: to.agent.clone(),
        kind: MessageKind::Work,
        priority: Priority::Normal,
        data: json!({"text": "hello"}),
        timestamp_ms: 1,
    }
}

#[test]
fn a_sealed_envelope_opens_at_its_recipient_only() {
    let p = pair();
    let from = AgentAddr::remote(p.me, "alice").unwrap();
    let to = AgentAddr::remote(p.them, "bob").unwrap();
    let m = message(&from, &to);
    let bytes = seal(&p.key, &from, &to, &m).unwrap();
    assert_eq!(open(&bytes, &p.me, &p.them).unwrap(), m);
    // Delivered to a third peer: mis-addressed.
    let third = Keypair::generate_ed25519().public().to_peer_id();
    let err = open(&bytes, &p.me, &third).unwrap_err();
    assert!(matches!(err, EnvelopeError::MisAddressed(_)), "{err}");
    assert_eq!(err.penalty(), Some(PeerAction::Malformed));
    // Relayed by another peer than its sender: wrong sender.
    let err = open(&bytes, &third, &p.them).unwrap_err();
    assert!(matches!(err, EnvelopeError::WrongSender { .. }), "{err}");
    assert_eq!(err.penalty(), Some(PeerAction::Lied));
}

#[test]
fn forged_garbage_oversized_and_mismatched_envelopes_are_refused() {
    let p = pair();
    let from = AgentAddr::remote(p.me, "alice").unwrap();
    let to = AgentAddr::remote(p.them, "bob").unwrap();
    let m = message(&from, &to);
    // Signed by another key than the sender's.
    let forger = Keypair::generate_ed25519();
    let bytes = seal(&forger, &from, &to, &m).unwrap();
    let err = open(&bytes, &p.me, &p.them).unwrap_err();
    assert!(matches!(err, EnvelopeError::Signature(_)), "{err}");
    assert_eq!(err.penalty(), Some(PeerAction::Lied));
    // Garbage, empty and oversized bytes.
    for junk in [vec![], vec![0xff; 10], b"not cbor at all".to_vec()] {
        let err = open(&junk, &p.me, &p.them).unwrap_err();
        assert!(matches!(err, EnvelopeError::Malformed(_)), "{err}");
    }
    let err = open(&vec![0; MAX_ENVELOPE_BYTES + 1], &p.me, &p.them).unwrap_err();
    assert!(matches!(err, EnvelopeError::Oversized(_)), "{err}");
    // A message whose source is not the envelope's sender (an agent posing as another).
    let mut posing = m.clone();
    posing.source = format!("{}/mallory", p.me);
    let bytes = seal(&p.key, &from, &to, &posing).unwrap();
    let err = open(&bytes, &p.me, &p.them).unwrap_err();
    assert!(
        matches!(
            err,
            EnvelopeError::Mismatch {
                field: "source",
                ..
            }
        ),
        "{err}"
    );
    // A message for another agent than the envelope's recipient.
    let mut elsewhere = m.clone();
    elsewhere.target = "carol".into();
    let bytes = seal(&p.key, &from, &to, &elsewhere).unwrap();
    let err = open(&bytes, &p.me, &p.them).unwrap_err();
    assert!(
        matches!(
            err,
            EnvelopeError::Mismatch {
                field: "target",
                ..
            }
        ),
        "{err}"
    );
    // A well-signed body of the wrong version.
    let body = EnvelopeBody {
        version: 9,
        from: from.to_string(),
        to: to.to_string(),
        message: serde_json::to_vec(&m).unwrap(),
    };
    let signed = Signed::sign(&p.key, MAIL_DOMAIN, to_cbor(&body).unwrap()).unwrap();
    let err = open(&to_cbor(&signed).unwrap(), &p.me, &p.them).unwrap_err();
    assert!(matches!(err, EnvelopeError::Version(9)), "{err}");
    // A signed body whose message is not an inbox message.
    let body = EnvelopeBody {
        message: b"{\"id\": 3}".to_vec(),
        version: ENVELOPE_VERSION,
        ..body
    };
    let signed = Signed::sign(&p.key, MAIL_DOMAIN, to_cbor(&body).unwrap()).unwrap();
    let err = open(&to_cbor(&signed).unwrap(), &p.me, &p.them).unwrap_err();
    assert!(matches!(err, EnvelopeError::Message(_)), "{err}");
}
