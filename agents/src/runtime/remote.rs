//! Delegation across peers as the runtime does it (issue 20 items 4–6): the wire protocol of
//! [`crate::delegation`] over the node's [`super::Outbound`] (the [`crate::Mailer`]), and the
//! receiving side's checks.
//!
//! - **Delegator.** A task for a remote agent (`<peer>/<agent>`, or a capability the directory
//!   finds on another peer) leaves as a [`DelegationRequest`] carrying the delegator's lineage
//!   proof, the levels of delegation still allowed and the tokens it may spend. An agent that is
//!   itself doing delegated work sends [`DelegationRequest::onward`]: one level less, at most the
//!   budget it was given, itself appended to the chain, so the limits hold across any number of
//!   peers.
//! - **Delegate.** [`receive`] (the mail service's local delivery) admits a request with
//!   [`admit`] before the agent sees it: a loop, exhausted depth or budget, too many open tasks
//!   of one delegator, or a lineage that does not check is answered at once with a `failed`
//!   result and never wakes the agent. An admitted request is a high-priority `work` message:
//!   it wakes the agent, whose run spends at most the request's budget; the run's end answers
//!   the delegator with `completed` or `failed` ([`answer`]).
//! - **Results** come back as `info`/high messages (they wake an active delegator) and are
//!   announced as `delegate.completed` / `delegate.failed` events on the delegator's node.
//!
//! Message ids derive from the task id, so a request or result delivered twice (the mail is at
//! least once) is kept once.
//!
//! Lineage (reference §9.8, owner-rooted): an agent's key is an address derived from its peer
//! and id, `0x` ‖ hex of the first 20 bytes of
//! `BLAKE3("autonet/agent-key/v1" ‖ peer public key (protobuf) ‖ agent id)` (an address, so the
//! lineage can be registered on chain as `RPB.registerLineage(lineage, parent, agentKey, sig)`
//! unchanged), its charter its system prompt, and its owner the runtime's configured owner
//! address; a child's lineage hangs below its parent's.

use serde_json::json;

use super::Shared;
use crate::addr::AgentAddr;
use crate::delegation::{DelegationLimits, DelegationMessage, DelegationRequest, TaskState, admit};
use crate::events::EventType;
use crate::inbox::{InboxError, Posted};
use crate::lineage::{LineageProof, MAX_LINEAGE_DEPTH};
use crate::message::{InboxMessage, MessageError};

/// The most tokens one delegation hands out (a delegator with no limit still gives a bound).
pub const MAX_DELEGATED_TOKENS: u64 = 1_000_000;

/// The most characters of a run's output a delegator gets back.
pub(crate) const MAX_RESULT_CHARS: usize = 16 * 1024;

/// The event a delegated task's end is announced with.
pub(crate) fn end_event(completed: bool) -> EventType {
    if completed {
        EventType::DelegateCompleted
    } else {
        EventType::DelegateFailed
    }
}

/// The receiving side's limits.
pub(crate) fn limits() -> DelegationLimits {
    DelegationLimits::default()
}

/// An agent's key in its lineage (see the module notes).
pub(crate) fn agent_key(shared: &Shared, agent: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"autonet/agent-key/v1");
    hasher.update(&shared.key.public().encode_protobuf());
    hasher.update(agent.as_bytes());
    format!("0x{}", hex::encode(&hasher.finalize().as_bytes()[..20]))
}

/// The lineage proof of a local agent, from the owner down through its parents.
pub(crate) fn lineage_proof(shared: &Shared, agent: &str) -> Result<LineageProof, String> {
    let mut chain = Vec::new();
    let mut at = Some(agent.to_string());
    while let Some(id) = at {
        if chain.len() >= MAX_LINEAGE_DEPTH {
            return Err(format!(
                "agent {agent} is more than {MAX_LINEAGE_DEPTH} generations deep"
            ));
        }
        let (charter, parent) = shared
            .entry(&id, |e| {
                (e.def.system_prompt.clone(), e.def.parent_id.clone())
            })
            .ok_or_else(|| format!("no agent {id:?} on this node"))?;
        chain.push((id, charter));
        at = parent;
    }
    chain.reverse();
    let mut steps = chain.iter();
    let (root, charter) = steps.next().ok_or("an empty lineage")?;
    let owner = &shared.config.owner;
    let mut proof =
        LineageProof::root(owner, charter, &agent_key(shared, root)).map_err(|e| e.to_string())?;
    for (id, charter) in steps {
        proof = proof
            .child(charter, &agent_key(shared, id))
            .map_err(|e| e.to_string())?;
    }
    Ok(proof)
}

/// The full address of local agent `agent`.
fn address(shared: &Shared, agent: &str) -> Result<AgentAddr, String> {
    let me = shared
        .self_address
        .as_deref()
        .ok_or("this node has no peer address: it cannot delegate to other peers")?;
    format!("{me}/{agent}")
        .parse()
        .map_err(|e: crate::addr::AddrError| e.to_string())
}

/// The request `from` sends for `task` to a remote agent: the first of a chain, or onward from
/// the request `from` is working on.
pub(crate) fn request(
    shared: &Shared,
    from: &str,
    task_id: &str,
    task: &str,
    depth: u32,
    incoming: Option<&DelegationRequest>,
) -> Result<DelegationRequest, String> {
    let me = address(shared, from)?;
    let proof = lineage_proof(shared, from)?;
    let held = shared
        .ledger
        .lock()
        .map(|l| l.tokens_left(from))
        .unwrap_or(0)
        .min(MAX_DELEGATED_TOKENS);
    let input = json!({ "text": task });
    match incoming {
        Some(req) => req.onward(&me, task_id, input, held.min(req.budget_tokens), proof),
        None => {
            let depth_left = limits().max_depth.saturating_sub(depth.saturating_sub(1));
            DelegationRequest::new(task_id, &me, input, depth_left, held, proof)
        }
    }
    .map_err(|e| e.to_string())
}

/// Sends a request for `task` from local agent `from` to the remote agent at `to`.
pub(crate) fn send_request(
    shared: &Shared,
    to: &str,
    req: &DelegationRequest,
) -> Result<(), String> {
    let outbound = shared
        .outbound
        .as_ref()
        .ok_or_else(|| format!("cannot reach {to}: this node delivers to no other peer"))?;
    let target: AgentAddr = to
        .parse()
        .map_err(|e: crate::addr::AddrError| e.to_string())?;
    let from = req.delegator.rsplit('/').next().unwrap_or_default();
    let message = DelegationMessage::Request(req.clone()).to_inbox(
        from,
        &target.agent,
        crate::events::now_ms(),
    );
    outbound.send(to, message)
}

/// The delegation depth a run doing `req` works at (the local depth the guard checks).
pub(crate) fn depth_of(req: &DelegationRequest) -> u32 {
    limits().max_depth.saturating_sub(req.depth_left) + 1
}

/// Delivers a message that came from another peer: delegation requests are admitted or
/// answered with a refusal, results announced; everything kept is posted (and wakes its agent
/// under the wake rules).
pub(crate) fn receive(shared: &Shared, message: &InboxMessage) -> Result<Posted, InboxError> {
    let known = shared.entry(&message.target, |_| ()).is_some();
    if !known {
        return Err(InboxError::Message(MessageError::BadName {
            field: "target",
            value: format!("{} (no such agent on this node)", message.target),
        }));
    }
    match DelegationMessage::from_inbox(message) {
        None => {}
        Some(Err(refusal)) => {
            return Err(InboxError::Message(MessageError::BadName {
                field: "data",
                value: refusal.to_string(),
            }));
        }
        Some(Ok(DelegationMessage::Request(req))) => {
            let me = address(shared, &message.target).map_err(|e| {
                InboxError::Message(MessageError::BadName {
                    field: "target",
                    value: e,
                })
            })?;
            let open = open_tasks(shared, &message.target, &req.delegator);
            if let Err(refusal) = admit(&req, &me, open, &limits()) {
                let posted = shared.inbox.post(message)?;
                if let Posted::New(seq) = posted {
                    shared.inbox.ack(&message.target, &[seq])?;
                }
                shared.bus.publish(
                    EventType::DelegateRefused,
                    &message.target,
                    json!({"task_id": req.task_id, "delegator": req.delegator, "reason": refusal.to_string()}),
                );
                let output = json!({"refused": refusal.to_string()});
                reply(shared, &message.target, &req, TaskState::Failed, output, 0);
                return Ok(posted);
            }
            shared.bus.publish(
                EventType::DelegateRunning,
                &message.target,
                json!({"task_id": req.task_id, "delegator": req.delegator, "state": "submitted"}),
            );
        }
        Some(Ok(DelegationMessage::Result { task_id, state, .. })) => {
            shared.bus.publish(
                end_event(state == TaskState::Completed),
                &message.target,
                json!({"task_id": task_id, "state": state, "from": message.source}),
            );
        }
        Some(Ok(DelegationMessage::Status { .. })) => {}
    }
    let posted = shared.inbox.post(message)?;
    if posted != Posted::Duplicate {
        shared.bus.publish(
            EventType::MessagePosted,
            &message.target,
            json!({"id": message.id, "source": message.source, "kind": message.kind, "priority": message.priority, "remote": true}),
        );
        super::actor::wake(shared, &message.target);
    }
    Ok(posted)
}

/// Delegation requests of `delegator` waiting in `agent`'s inbox.
fn open_tasks(shared: &Shared, agent: &str, delegator: &str) -> u32 {
    let pending = shared.inbox.pending(agent).unwrap_or_default();
    pending
        .iter()
        .filter(|(_, m)| {
            matches!(DelegationMessage::from_inbox(m),
                Some(Ok(DelegationMessage::Request(r))) if r.delegator == delegator)
        })
        .count() as u32
}

/// Sends the delegator of `req` its task's end.
pub(crate) fn reply(
    shared: &Shared,
    agent: &str,
    req: &DelegationRequest,
    state: TaskState,
    output: serde_json::Value,
    tokens_used: u64,
) {
    let Ok(to) = req.delegator.parse::<AgentAddr>() else {
        return;
    };
    let result = DelegationMessage::Result {
        task_id: req.task_id.clone(),
        state,
        output,
        tokens_used,
    };
    let message = result.to_inbox(agent, &to.agent, crate::events::now_ms());
    let sent = match &shared.outbound {
        Some(outbound) => outbound.send(&req.delegator, message),
        None => Err("this node delivers to no other peer".into()),
    };
    if let Err(e) = sent {
        tracing::warn!(%agent, delegator = %req.delegator, error = %e, "cannot answer the delegator");
    }
}

/// The delegation request among the messages a run read, if it is doing delegated work.
pub(crate) fn incoming(read: &[InboxMessage]) -> Option<DelegationRequest> {
    read.iter()
        .find_map(|m| match DelegationMessage::from_inbox(m) {
            Some(Ok(DelegationMessage::Request(r))) => Some(r),
            _ => None,
        })
}

/// Answers every remote delegator whose request a run read.
pub(crate) fn answer(shared: &Shared, agent: &str, outcome: &super::Outcome) {
    for m in &outcome.read {
        let Some(Ok(DelegationMessage::Request(req))) = DelegationMessage::from_inbox(m) else {
            continue;
        };
        let state = if outcome.status == super::RunStatus::Completed {
            TaskState::Completed
        } else {
            TaskState::Failed
        };
        let text: String = outcome.output.chars().take(MAX_RESULT_CHARS).collect();
        shared.bus.publish(
            end_event(state == TaskState::Completed),
            agent,
            json!({"task_id": req.task_id, "reply_to": req.delegator}),
        );
        reply(
            shared,
            agent,
            &req,
            state,
            json!({"text": text, "agent": agent}),
            outcome.tokens,
        );
    }
}

/// The card of local agent `agent` (None: it offers no capability). Errors: no peer address,
/// or a lineage that cannot be built.
pub(crate) fn card(shared: &Shared, agent: &str) -> Result<Option<crate::card::AgentCard>, String> {
    let Some((name, capabilities)) =
        shared.entry(agent, |e| (e.def.name.clone(), e.def.capabilities.clone()))
    else {
        return Err(format!("no agent {agent:?} on this node"));
    };
    if capabilities.is_empty() {
        return Ok(None);
    }
    let me = address(shared, agent)?;
    let proof = lineage_proof(shared, agent)?;
    let peer = me.peer.map(|p| p.to_string()).unwrap_or_default();
    Ok(Some(crate::card::AgentCard {
        version: crate::card::CARD_VERSION,
        peer,
        agent: agent.to_string(),
        name: name.chars().take(crate::card::MAX_LABEL_CHARS).collect(),
        capabilities,
        lineage: proof.lineage().map_err(|e| e.to_string())?.to_string(),
        owner: proof.owner.clone(),
        lineage_proof: proof,
        protocol: crate::card::DELEGATION_PROTOCOL,
    }))
}
