//! Delegation messages round-trip through inbox messages; admission refuses loops, exhausted
//! depth and budget, too many children and bad lineages.

use autonet_p2p::PeerId;
use serde_json::json;

use super::*;
use crate::addr::AgentAddr;

const OWNER: &str = "0x00000000000000000000000000000000000000aa";

fn addr(agent: &str) -> AgentAddr {
    AgentAddr::remote(PeerId::random(), agent).unwrap()
}

fn proof(key: &str) -> LineageProof {
    LineageProof::root(OWNER, "charter", key).unwrap()
}

fn request(from: &AgentAddr) -> DelegationRequest {
    DelegationRequest::new(
        "t1",
        from,
        json!({"text": "sum this"}),
        3,
        1000,
        proof("01"),
    )
    .unwrap()
}

#[test]
fn delegation_messages_ride_inbox_messages() {
    let (a, b) = (addr("a"), addr("b"));
    let req = DelegationMessage::Request(request(&a));
    let inbox = req.to_inbox("a", "b", 5);
    inbox.check().unwrap();
    assert_eq!(
        (inbox.id.as_str(), inbox.kind),
        ("dlg-t1-req", MessageKind::Work)
    );
    assert_eq!(DelegationMessage::from_inbox(&inbox), Some(Ok(req)));
    let result = DelegationMessage::Result {
        task_id: "t1".into(),
        state: TaskState::Completed,
        output: json!("done"),
        tokens_used: 12,
    };
    let inbox = result.to_inbox(&b.to_string(), "a", 6);
    assert_eq!(
        (inbox.kind, inbox.priority),
        (MessageKind::Info, Priority::High)
    );
    assert_eq!(DelegationMessage::from_inbox(&inbox), Some(Ok(result)));
    let mut plain = inbox.clone();
    plain.data = json!({"text": "hi"});
    assert_eq!(DelegationMessage::from_inbox(&plain), None);
    plain.data = json!({"delegation": {"type": "request", "task_id": 3}});
    assert!(matches!(
        DelegationMessage::from_inbox(&plain),
        Some(Err(Refusal::Malformed(_)))
    ));
}

#[test]
fn admission_refuses_loops_exhaustion_and_crowds() {
    let (a, b, c) = (addr("a"), addr("b"), addr("c"));
    let limits = DelegationLimits::default();
    let req = request(&a);
    assert_eq!(admit(&req, &b, 0, &limits), Ok(()));
    // b delegates on to c, c back to a: a is in the chain.
    let onward = req.onward(&b, "t2", json!(1), 500, proof("02")).unwrap();
    assert_eq!((onward.depth_left, onward.chain.len()), (2, 2));
    assert_eq!(admit(&onward, &c, 0, &limits), Ok(()));
    let back = onward.onward(&c, "t3", json!(1), 100, proof("03")).unwrap();
    assert!(matches!(
        admit(&back, &a, 0, &limits),
        Err(Refusal::Loop(_))
    ));
    assert!(matches!(
        admit(&back, &b, 0, &limits),
        Err(Refusal::Loop(_))
    ));
    // Depth: t3 has 1 level left; one more onward has none.
    let last = back.onward(&a, "t4", json!(1), 10, proof("04")).unwrap();
    assert_eq!(
        admit(&last, &addr("d"), 0, &limits),
        Err(Refusal::DepthExhausted)
    );
    assert_eq!(
        last.onward(&addr("d"), "t5", json!(1), 1, proof("05"))
            .unwrap_err(),
        Refusal::DepthExhausted
    );
    // Budget: zero is refused; more than held cannot be given.
    let mut broke = req.clone();
    broke.budget_tokens = 0;
    assert_eq!(admit(&broke, &b, 0, &limits), Err(Refusal::BudgetExhausted));
    assert!(matches!(
        req.onward(&b, "t2", json!(1), 1001, proof("02")),
        Err(Refusal::OverBudget { .. })
    ));
    // Children at the limit; too deep a request.
    assert!(matches!(
        admit(&req, &b, 20, &limits),
        Err(Refusal::TooManyChildren { limit: 20, .. })
    ));
    let mut deep = req.clone();
    deep.depth_left = 7;
    assert!(matches!(
        admit(&deep, &b, 0, &limits),
        Err(Refusal::TooDeep { .. })
    ));
    // A forged lineage, a broken chain, a bad task id.
    let mut forged = req.clone();
    forged.lineage = "00".repeat(32);
    assert!(matches!(
        admit(&forged, &b, 0, &limits),
        Err(Refusal::Lineage(_))
    ));
    let mut broken = req.clone();
    broken.chain = vec![c.to_string()];
    assert!(matches!(
        admit(&broken, &b, 0, &limits),
        Err(Refusal::Malformed(_))
    ));
    let mut bad_id = req.clone();
    bad_id.task_id = "x/y".into();
    assert!(matches!(
        admit(&bad_id, &b, 0, &limits),
        Err(Refusal::Malformed(_))
    ));
}
