//! Property tests of every decoder that reads what another peer sends an agent node: mail
//! envelopes, inbox messages, agent cards, delegation messages and signed traces. Inputs are
//! arbitrary bytes and valid encodings with random bytes flipped, cut or appended (proptest's
//! random generation with shrinking, not coverage-guided fuzzing). Properties: no decoder
//! panics; whatever a decoder accepts is well-formed (it re-checks, re-encodes and decodes to the
//! same value); a flipped byte inside a signed encoding never yields a different accepted value.

use autonet_agents::card::{AgentCard, CARD_VERSION, DELEGATION_PROTOCOL};
use autonet_agents::mail::envelope::{open, seal};
use autonet_agents::signed::Signed;
use autonet_agents::trace::{SignedTrace, TRACE_VERSION, Trace, TraceOutcome, message_turn};
use autonet_agents::{
    AgentAddr, DelegationMessage, InboxMessage, LineageProof, MessageKind, Priority,
};
use autonet_p2p::Keypair;
use proptest::prelude::*;
use serde_json::json;

/// Changes to a valid encoding: bytes overwritten at (index mod length), then an optional cut
/// and an optional tail.
#[derive(Debug, Clone)]
struct Mutation {
    flips: Vec<(usize, u8)>,
    cut: Option<usize>,
    tail: Vec<u8>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        prop::option::of(any::<usize>()),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(flips, cut, tail)| Mutation { flips, cut, tail })
}

impl Mutation {
    fn apply(&self, valid: &[u8]) -> Vec<u8> {
        let mut bytes = valid.to_vec();
        for (at, value) in &self.flips {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = *value;
            }
        }
        if let Some(cut) = self.cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        bytes.extend_from_slice(&self.tail);
        bytes
    }
}

fn message(text: &str) -> InboxMessage {
    InboxMessage {
        id: "m-1".into(),
        source: "alice".into(),
        target: "bob".into(),
        kind: MessageKind::Work,
        priority: Priority::High,
        data: json!({ "text": text }),
        timestamp_ms: 7,
    }
}

struct Keys {
    sender: Keypair,
    receiver: Keypair,
    from: AgentAddr,
    to: AgentAddr,
    envelope: Vec<u8>,
}

fn keys() -> Keys {
    let sender = Keypair::generate_ed25519();
    let receiver = Keypair::generate_ed25519();
    let from = AgentAddr::remote(sender.public().to_peer_id(), "alice").unwrap();
    let to = AgentAddr::remote(receiver.public().to_peer_id(), "bob").unwrap();
    // As the mailer seals it: the source is the sender's full address.
    let mut sent = message("hello");
    sent.source = from.to_string();
    let envelope = seal(&sender, &from, &to, &sent).unwrap();
    Keys {
        sender,
        receiver,
        from,
        to,
        envelope,
    }
}

fn card(key: &Keypair) -> Signed {
    let owner = "0x00000000000000000000000000000000000000aa";
    let proof = LineageProof::root(owner, "You summarise text.", "0a0b").unwrap();
    AgentCard {
        version: CARD_VERSION,
        peer: key.public().to_peer_id().to_string(),
        agent: "sum".into(),
        name: "Summariser".into(),
        capabilities: vec!["summarize".into()],
        lineage: proof.lineage().unwrap().to_string(),
        lineage_proof: proof,
        owner: owner.into(),
        protocol: DELEGATION_PROTOCOL,
    }
    .sign(key)
    .unwrap()
}

fn trace() -> SignedTrace {
    Trace {
        version: TRACE_VERSION,
        agent: "sum".into(),
        execution: "e1".into(),
        peer: String::new(),
        started_ms: 1,
        turns: vec![
            message_turn("user", "Summarise this."),
            message_turn("assistant", "Done."),
        ],
        outcome: TraceOutcome::Completed,
        tokens: 12,
    }
    .sign(&libp2p_identity::Keypair::generate_ed25519())
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Envelopes: arbitrary bytes never open; a mutated envelope opens only as the original
    /// message (the signature covers everything the receiver reads).
    #[test]
    fn envelopes(junk in prop::collection::vec(any::<u8>(), 0..512), m in mutation()) {
        let k = keys();
        let (me, sender) = (k.receiver.public().to_peer_id(), k.sender.public().to_peer_id());
        prop_assert!(open(&junk, &sender, &me).is_err());
        let original = open(&k.envelope, &sender, &me).unwrap();
        prop_assert_eq!(original.source.as_str(), k.from.to_string());
        prop_assert_eq!(original.target.as_str(), k.to.agent.as_str());
        if let Ok(opened) = open(&m.apply(&k.envelope), &sender, &me) {
            prop_assert_eq!(opened, original);
        }
    }

    /// Inbox messages (JSON): no panic; an accepted message is well-formed and round-trips.
    #[test]
    fn inbox_messages(junk in prop::collection::vec(any::<u8>(), 0..512), m in mutation()) {
        let valid = serde_json::to_vec(&message("hello")).unwrap();
        for bytes in [junk, m.apply(&valid)] {
            if let Ok(decoded) = InboxMessage::decode(&bytes) {
                prop_assert!(decoded.check().is_ok());
                let again = InboxMessage::decode(&serde_json::to_vec(&decoded).unwrap()).unwrap();
                prop_assert_eq!(again, decoded);
            }
        }
    }

    /// Agent cards: a mutated signed card verifies only as the original card, and only from its
    /// own peer.
    #[test]
    fn cards(body in prop::collection::vec(any::<u8>(), 0..512), m in mutation(), sig in m_sig()) {
        let key = Keypair::generate_ed25519();
        let peer = key.public().to_peer_id();
        let junk = Signed { body, signature: sig };
        prop_assert!(AgentCard::verify(&junk, &peer).is_err());
        let signed = card(&key);
        let original = AgentCard::verify(&signed, &peer).unwrap();
        let other = Keypair::generate_ed25519().public().to_peer_id();
        prop_assert!(AgentCard::verify(&signed, &other).is_err());
        let mutated = Signed { body: m.apply(&signed.body), signature: signed.signature.clone() };
        if let Ok(card) = AgentCard::verify(&mutated, &peer) {
            prop_assert_eq!(card, original);
        }
    }

    /// Delegation messages inside inbox messages: malformed ones are an error, never a panic.
    #[test]
    fn delegation_messages(m in mutation()) {
        let valid = json!({"type": "result", "task_id": "t1", "state": "completed",
            "output": {"text": "ok"}, "tokens_used": 3}).to_string();
        let mutated = m.apply(valid.as_bytes());
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&mutated) {
            let mut carrier = message("x");
            carrier.data = json!({ "delegation": value });
            if let Some(Ok(decoded)) = DelegationMessage::from_inbox(&carrier) {
                let again = decoded.to_inbox("a", "b", 1);
                let back = DelegationMessage::from_inbox(&again).unwrap().unwrap();
                prop_assert_eq!(back, decoded);
            }
        }
    }

    /// Signed traces (gossip): a mutated trace decodes only as the original.
    #[test]
    fn traces(junk in prop::collection::vec(any::<u8>(), 0..512), m in mutation()) {
        prop_assert!(SignedTrace::decode(&junk).is_err());
        let signed = trace();
        let bytes = signed.encode();
        prop_assert_eq!(SignedTrace::decode(&bytes).unwrap(), signed.clone());
        if let Ok(decoded) = SignedTrace::decode(&m.apply(&bytes)) {
            prop_assert_eq!(decoded.trace, signed.trace);
        }
    }
}

fn m_sig() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..80)
}
