//! Delegation (issue 20 item 5; reference §9.5) as the runtime does it: a task handed from one
//! agent (or the owner) to another, found by id or by capability, on this node or (with a
//! [`super::RemoteFinder`]) on another peer. The task travels as an inbox trigger carrying
//! `task_id`, `reply_to` and `depth`; the delegate's run answers the delegator's inbox with the
//! result (`state` completed or failed, [`super::handle`]'s `answer_delegators`), A2A style.
//!
//! Limits hold before anything is sent: the constitution's `delegation_depth` rule (through the
//! guard), no delegating to oneself, and the delegator's own budget (a delegator with nothing
//! left cannot hand out work).

use serde_json::json;

use super::Shared;
use crate::events::EventType;
use crate::message::{MessageKind, Priority};

/// How deep `agent` already is: its ancestors plus the depth of delegated work it is doing.
fn depth_of(shared: &Shared, agent: &str) -> u32 {
    let mut depth = 0;
    let mut at = shared.entry(agent, |e| e.def.parent_id.clone()).flatten();
    while let Some(id) = at {
        depth += 1;
        if depth > 64 {
            break;
        }
        at = shared.entry(&id, |e| e.def.parent_id.clone()).flatten();
    }
    depth
}

/// Where a task for `target` goes: a local agent id, a local agent offering that capability,
/// a remote address (`peer/agent`), or a remote agent the directory finds by capability.
async fn resolve(shared: &Shared, from: Option<&str>, target: &str) -> Result<String, String> {
    if target.contains('/') {
        return Ok(target.to_string());
    }
    if let Ok(agents) = shared.agents.lock() {
        if agents.contains_key(target) {
            return Ok(target.to_string());
        }
        if let Some(e) = agents.values().find(|e| {
            Some(e.def.id.as_str()) != from && e.def.capabilities.iter().any(|c| c == target)
        }) {
            return Ok(e.def.id.clone());
        }
    }
    match &shared.directory {
        Some(dir) => dir
            .find(target)
            .await
            .ok_or_else(|| format!("no agent here or on the network offers {target:?}")),
        None => Err(format!("no agent on this node is {target:?} or offers it")),
    }
}

/// Hands `task` to `target`; returns the task id. `from` is the delegating agent (None: the
/// owner, who gets no answer in an inbox).
pub(crate) async fn delegate(
    shared: &Shared,
    from: Option<&str>,
    target: &str,
    task: &str,
    incoming_depth: u32,
    incoming: Option<&crate::delegation::DelegationRequest>,
) -> Result<String, String> {
    let to = resolve(shared, from, target).await?;
    if Some(to.as_str()) == from {
        return Err("an agent cannot delegate to itself".into());
    }
    let depth = from
        .map(|f| depth_of(shared, f))
        .unwrap_or(0)
        .max(incoming_depth)
        + 1;
    let source = from.unwrap_or("user");
    if let Some(guard) = &shared.guard {
        guard
            .check(source, "delegate", &format!("depth {depth}: {task}"))
            .map_err(|r| {
                shared.bus.publish(
                    EventType::DelegateRefused,
                    source,
                    json!({"target": to, "rule": r.rule, "reason": r.reason}),
                );
                format!("refused by rule {}: {}", r.rule, r.reason)
            })?;
    }
    if let Some(f) = from {
        let left = shared.ledger.lock().map(|l| l.tokens_left(f)).unwrap_or(0);
        if left == 0 {
            shared.bus.publish(
                EventType::DelegateRefused,
                f,
                json!({"target": to, "reason": "budget exhausted"}),
            );
            return Err(format!("agent {f} has no budget left to delegate with"));
        }
    }
    let task_id = super::deliver::message_id(shared, source, &to);
    if to.contains('/') {
        // Another peer's agent: the delegation protocol, with lineage, depth and budget.
        let from = from.ok_or(
            "delegating to another peer needs a delegating agent (the result returns to its inbox)",
        )?;
        let req = super::remote::request(shared, from, &task_id, task, depth, incoming)?;
        super::remote::send_request(shared, &to, &req)?;
        shared.bus.publish(
            EventType::DelegateSpawned,
            from,
            json!({"task_id": task_id, "target": to, "depth": depth, "depth_left": req.depth_left, "budget_tokens": req.budget_tokens, "state": "submitted"}),
        );
        return Ok(task_id);
    }
    let mut data = json!({"text": task, "task_id": task_id, "depth": depth});
    if let Some(f) = from {
        data["reply_to"] = json!(match &shared.self_address {
            Some(me) if to.contains('/') => format!("{me}/{f}"),
            _ => f.to_string(),
        });
    }
    super::deliver::send(
        shared,
        source,
        &to,
        MessageKind::Trigger,
        Priority::High,
        data,
    )?;
    shared.bus.publish(
        EventType::DelegateSpawned,
        source,
        json!({"task_id": task_id, "target": to, "depth": depth, "state": "submitted"}),
    );
    Ok(task_id)
}
