//! Messages from agents: to a local agent's inbox (and wake it), or to another peer's agent
//! through the [`super::Outbound`] (an address `<peer-id>/<agent-id>`).

use serde_json::json;

use super::Shared;
use crate::events::EventType;
use crate::message::{InboxMessage, MessageKind, Priority};

/// A message id: sender, target and time hashed (unique per sender and millisecond).
pub(crate) fn message_id(shared: &Shared, from: &str, to: &str) -> String {
    let n = shared
        .counter
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = format!("{from}>{to}/{n}/{}", crate::events::now_ms());
    hex::encode(&blake3::hash(seed.as_bytes()).as_bytes()[..10])
}

/// Sends a message; local targets are posted (the caller wakes them), remote ones go out.
pub(crate) fn send(
    shared: &Shared,
    from: &str,
    to: &str,
    kind: MessageKind,
    priority: Priority,
    data: serde_json::Value,
) -> Result<(), String> {
    if let Some((_peer, agent)) = to.split_once('/') {
        let outbound = shared
            .outbound
            .as_ref()
            .ok_or_else(|| format!("cannot reach {to}: this node delivers to no other peer"))?;
        let message = InboxMessage {
            id: message_id(shared, from, to),
            source: from.to_string(),
            target: agent.to_string(),
            kind,
            priority,
            data,
            timestamp_ms: crate::events::now_ms(),
        };
        message.check().map_err(|e| e.to_string())?;
        outbound.send(to, message)?;
        shared.bus.publish(
            EventType::MessagePosted,
            from,
            json!({"target": to, "remote": true}),
        );
        return Ok(());
    }
    let message = InboxMessage {
        id: message_id(shared, from, to),
        source: from.to_string(),
        target: to.to_string(),
        kind,
        priority,
        data,
        timestamp_ms: crate::events::now_ms(),
    };
    post_local(shared, &message)
}

/// Posts to a local inbox and wakes the agent if the message calls for it.
pub(crate) fn post_local(shared: &Shared, message: &InboxMessage) -> Result<(), String> {
    let known = shared
        .agents
        .lock()
        .map(|a| a.contains_key(&message.target))
        .unwrap_or(false);
    if !known {
        return Err(format!("no agent {:?} on this node", message.target));
    }
    shared.inbox.post(message).map_err(|e| e.to_string())?;
    shared.bus.publish(
        EventType::MessagePosted,
        &message.target,
        json!({"id": message.id, "source": message.source, "kind": message.kind, "priority": message.priority}),
    );
    super::actor::wake(shared, &message.target);
    Ok(())
}
