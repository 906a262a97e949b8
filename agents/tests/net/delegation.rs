//! Delegation across peers: the delegator finds an agent by capability through the DHT,
//! delegates to it, and gets status and result back in its inbox; loops and exhausted depth or
//! budget are refused by the receiving side and come back as failed results.

use std::time::Duration;

use autonet_agents::card::{AgentCard, CARD_VERSION, DELEGATION_PROTOCOL};
use autonet_agents::delegation::{DelegationLimits, admit};
use autonet_agents::{AgentAddr, DelegationMessage, DelegationRequest, LineageProof, TaskState};
use autonet_p2p::Keypair;
use autonet_p2p::testnet::poll_until;
use serde_json::json;

use crate::node::{DEADLINE, Node};

const OWNER: &str = "0x00000000000000000000000000000000000000aa";

fn card(node: &Node, agent: &str) -> AgentCard {
    let proof = LineageProof::root(OWNER, "You summarise text.", "0a0b").unwrap();
    AgentCard {
        version: CARD_VERSION,
        peer: node.peer.peer_id.to_string(),
        agent: agent.into(),
        name: "Summariser".into(),
        capabilities: vec!["summarize".into()],
        lineage: proof.lineage().unwrap().to_string(),
        lineage_proof: proof,
        owner: OWNER.into(),
        protocol: DELEGATION_PROTOCOL,
    }
}

/// The delegate's side, as the runtime will do it: admit each request, then answer with
/// working + completed, or a failed result carrying the refusal.
async fn serve_requests(b: &Node, me: &AgentAddr, requests: usize) {
    let pending = b.wait_inbox(me.agent.as_str(), requests).await;
    for (seq, message) in pending {
        let Some(Ok(DelegationMessage::Request(req))) = DelegationMessage::from_inbox(&message)
        else {
            panic!("not a delegation request: {message:?}");
        };
        let to: AgentAddr = req.delegator.parse().unwrap();
        let replies = match admit(&req, me, 0, &DelegationLimits::default()) {
            Ok(()) => {
                let state = TaskState::Submitted.advance(TaskState::Working).unwrap();
                let done = state.advance(TaskState::Completed).unwrap();
                let text = req.input["text"].as_str().unwrap_or_default();
                vec![
                    DelegationMessage::Status {
                        task_id: req.task_id.clone(),
                        state,
                        note: None,
                        seq: 0,
                    },
                    DelegationMessage::Result {
                        task_id: req.task_id.clone(),
                        state: done,
                        output: json!({ "summary": text.split(' ').next() }),
                        tokens_used: 7,
                    },
                ]
            }
            Err(refusal) => vec![DelegationMessage::Result {
                task_id: req.task_id.clone(),
                state: TaskState::Failed,
                output: json!({ "refused": refusal.to_string() }),
                tokens_used: 0,
            }],
        };
        for reply in replies {
            let m = reply.to_inbox(&me.agent, &to.agent, 2);
            b.mailer.send(&to, m).await.unwrap();
        }
        b.inbox.ack(&me.agent, &[seq]).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_found_by_capability_takes_a_delegation_and_refuses_bad_ones() -> anyhow::Result<()>
{
    let (d0, da, db) = (
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    );
    let boot = Node::start(Keypair::generate_ed25519(), vec![], d0.path()).await?;
    let a = Node::start(
        Keypair::generate_ed25519(),
        boot.peer.addrs.clone(),
        da.path(),
    )
    .await?;
    let b = Node::start(
        Keypair::generate_ed25519(),
        boot.peer.addrs.clone(),
        db.path(),
    )
    .await?;
    b.directory.publish(card(&b, "sum")).await?;
    let found = poll_until(DEADLINE, Duration::from_millis(200), || async {
        let cards = a.directory.find("summarize").await.ok()?;
        (!cards.is_empty()).then_some(cards)
    })
    .await
    .expect("the card is found through the DHT");
    let delegate = found[0].address()?;
    assert_eq!(delegate, b.addr("sum"));

    let boss = a.addr("boss");
    let lineage = LineageProof::root(OWNER, "You run things.", "0c0d")?;
    let text = json!({ "text": "agents delegate work" });
    let good = DelegationRequest::new("t1", &boss, text.clone(), 2, 100, lineage.clone())?;
    let mut looped = DelegationRequest::new("t2", &boss, text.clone(), 2, 100, lineage.clone())?;
    looped.chain.insert(0, delegate.to_string());
    let shallow = DelegationRequest::new("t3", &boss, text.clone(), 0, 100, lineage.clone())?;
    let broke = DelegationRequest::new("t4", &boss, text, 2, 0, lineage)?;
    for req in [good, looped, shallow, broke] {
        let m = DelegationMessage::Request(req).to_inbox("boss", "sum", 1);
        a.mailer.send(&delegate, m).await?;
    }
    serve_requests(&b, &delegate, 4).await;

    // Working + completed for t1, one failed result for each bad request.
    let got = a.wait_inbox("boss", 5).await;
    let mut results = std::collections::BTreeMap::new();
    for (_, m) in &got {
        assert_eq!(m.source, delegate.to_string());
        if let Some(Ok(DelegationMessage::Result {
            task_id,
            state,
            output,
            ..
        })) = DelegationMessage::from_inbox(m)
        {
            results.insert(task_id, (state, output));
        }
    }
    assert_eq!(
        results["t1"],
        (TaskState::Completed, json!({ "summary": "agents" }))
    );
    let reason = |t: &str| {
        assert_eq!(results[t].0, TaskState::Failed);
        results[t].1["refused"].as_str().unwrap().to_string()
    };
    assert!(reason("t2").contains("loop"), "{}", reason("t2"));
    assert!(reason("t3").contains("depth exhausted"), "{}", reason("t3"));
    assert!(
        reason("t4").contains("budget exhausted"),
        "{}",
        reason("t4")
    );
    for n in [boot, a, b] {
        n.stop().await;
    }
    Ok(())
}
