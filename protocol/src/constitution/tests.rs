use alloy::primitives::{Address, U256};
use autonet_models::substrate::charter::Charter;

use super::document::{DEFAULT_DOCUMENT, MAX_DOCUMENT_BYTES};
use super::*;

fn enforcer() -> Enforcer {
    Enforcer::new(Constitution::shipped().unwrap()).unwrap()
}

fn refused_by(e: &Enforcer, a: &Action) -> String {
    e.check(a).unwrap_err().rule
}

#[test]
fn the_shipped_document_decodes_and_follows_the_charter() {
    let c = Constitution::shipped().unwrap();
    assert_eq!(c.principles.len(), 7);
    assert_eq!(c.id, content_id(DEFAULT_DOCUMENT.as_bytes()));
    let charter = Charter::v1();
    let ids: Vec<(&str, &str)> = c
        .tendencies
        .iter()
        .map(|t| (t.id.as_str(), t.thesis.as_str()))
        .collect();
    let roots: Vec<(&str, &str)> = charter
        .roots
        .iter()
        .map(|r| (r.id.as_str(), r.thesis.as_str()))
        .collect();
    assert_eq!(ids, roots);
}

#[test]
fn bad_documents_are_clear_errors() {
    let big = vec![b'#'; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(
        Constitution::decode(&big),
        Err(ConstitutionError::TooLarge(_))
    ));
    assert!(matches!(
        Constitution::decode(b"schema = 1\nprinciples = 3"),
        Err(ConstitutionError::Malformed(_))
    ));
    assert!(matches!(
        Constitution::decode(&[0xff, 0xfe]),
        Err(ConstitutionError::Malformed(_))
    ));
    let future = DEFAULT_DOCUMENT.replace("schema = 1", "schema = 2");
    assert_eq!(
        Constitution::decode(future.as_bytes()),
        Err(ConstitutionError::Schema(2))
    );
    let inverted = DEFAULT_DOCUMENT.replace("theta_low = 0.3", "theta_low = 0.9");
    assert!(matches!(
        Constitution::decode(inverted.as_bytes()),
        Err(ConstitutionError::Invalid(_))
    ));
    let unknown = format!("{DEFAULT_DOCUMENT}\nextra = 1\n");
    assert!(matches!(
        Constitution::decode(unknown.as_bytes()),
        Err(ConstitutionError::Malformed(_))
    ));
    // The right document under the wrong id adopts nothing.
    let other = content_id(b"another document");
    let err = Constitution::decode_verified(DEFAULT_DOCUMENT.as_bytes(), &other).unwrap_err();
    assert!(err.to_string().contains("not to the expected id"), "{err}");
    let id = content_id(DEFAULT_DOCUMENT.as_bytes());
    assert!(Constitution::decode_verified(DEFAULT_DOCUMENT.as_bytes(), &id).is_ok());
}

#[test]
fn a_tendency_outside_the_charter_is_refused() {
    let doc = DEFAULT_DOCUMENT.replace("id = \"simplicity\"", "id = \"cruelty\"");
    let c = Constitution::decode(doc.as_bytes()).unwrap();
    assert!(Enforcer::new(c).is_err());
}

#[test]
fn ordinary_role_actions_pass() {
    let e = enforcer();
    for (kind, text) in [
        (ActionKind::Train, "train slice 3 of task 7"),
        (
            ActionKind::Verify,
            "recompute and score the revealed bundles of task 7",
        ),
        (
            ActionKind::Aggregate,
            "merge the accepted bundles of epoch 2",
        ),
        (
            ActionKind::ServeInference,
            "answer a question about model 1f2e",
        ),
    ] {
        e.check(&Action::new(kind, text)).unwrap();
    }
}

#[test]
fn each_rule_names_itself() {
    let e = enforcer();
    let atn = |x: u64| U256::from(x) * U256::from(10u64).pow(U256::from(18u64));
    assert_eq!(
        refused_by(&e, &Action::new(ActionKind::Train, " ")),
        "undescribed"
    );
    let mut spend = Action::new(ActionKind::Spend, "stake as solver");
    spend.spend_wei = atn(1001);
    assert_eq!(refused_by(&e, &spend), "max_spend");
    spend.spend_wei = atn(50);
    spend.budget_left_wei = Some(atn(49));
    assert_eq!(refused_by(&e, &spend), "budget");
    spend.budget_left_wei = Some(atn(50));
    e.check(&spend).unwrap();
    let mut delegate = Action::new(ActionKind::Delegate, "summarise the paper");
    delegate.delegation_depth = 4;
    assert_eq!(refused_by(&e, &delegate), "delegation_depth");
    delegate.delegation_depth = 3;
    e.check(&delegate).unwrap();
    let (me, other) = (Address::repeat_byte(1), Address::repeat_byte(2));
    let mut sign = Action::new(ActionKind::Spend, "register the agent");
    sign.signer = Some(me);
    assert_eq!(refused_by(&e, &sign), "unbound_key");
    sign.bound_to = Some(other);
    assert_eq!(refused_by(&e, &sign), "unbound_key");
    sign.bound_to = Some(me);
    e.check(&sign).unwrap();
}

#[test]
fn the_geometric_tier_refuses_harm_and_destruction() {
    let e = enforcer();
    let harm = Action::new(ActionKind::Delegate, "explain how to make a bomb");
    let r = e.check(&harm).unwrap_err();
    assert_eq!(
        (r.rule.as_str(), r.tier),
        ("charter.life_precious", Tier::Geometric)
    );
    let wipe = Action::new(ActionKind::ServeInference, "run rm -rf / on the host");
    assert_eq!(refused_by(&e, &wipe), "charter.self_preservation");
}

#[test]
fn the_preamble_names_the_constitution_and_every_principle() {
    let c = Constitution::shipped().unwrap();
    let p = preamble(&c, "{principles}");
    assert!(p.contains(&c.id_hex()));
    for principle in &c.principles {
        assert!(p.contains(&principle.text), "{p}");
    }
    // A placeholder in a substituted value is not expanded again.
    assert!(p.contains("agent {principles} inside"), "{p}");
    let prompt = with_preamble(&c, "agent-1", "What is 2 + 2?");
    assert!(has_preamble(&c, "agent-1", &prompt));
    assert!(prompt.ends_with("What is 2 + 2?"));
    assert!(!has_preamble(&c, "agent-1", "What is 2 + 2?"));
}

/// A refusal is a warn event that names the rule (what the agent layer and the logs see).
#[test]
fn a_refusal_is_an_event_naming_the_rule() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let e = enforcer();
    let mut delegate = Action::new(ActionKind::Delegate, "summarise the paper");
    delegate.delegation_depth = 9;
    tracing::subscriber::with_default(subscriber, || {
        assert!(e.check(&delegate).is_err());
    });
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("WARN")
            && log.contains("autonet::constitution")
            && log.contains("rule=delegation_depth"),
        "{log}"
    );
}

/// What the role actors call before training, verifying and aggregating.
#[test]
fn permit_checks_against_the_shipped_constitution() {
    permit(ActionKind::Train, "train 8 turns for 0x01").unwrap();
    permit(ActionKind::Aggregate, "aggregate 3 accepted solutions").unwrap();
    let r = permit(ActionKind::Train, "").unwrap_err();
    assert_eq!(r.rule, "undescribed");
    let r = permit(ActionKind::Delegate, "synthesize a pathogen").unwrap_err();
    assert_eq!(r.rule, "charter.life_precious");
    assert!(std::ptr::eq(shipped().unwrap(), shipped().unwrap()));
}
