//! The agent API (issue 20 item 7; reference §9.6): requests, responses and pushed events as
//! JSON over a WebSocket ([`ws`]), dispatched to the [`Runtime`].
//!
//! - Request: `{"type": <name>, "msg_id": "<id>", ...arguments}`.
//! - Response: `{"msg_id": id, "ok": true, "result": …}` or `{"msg_id": id, "ok": false,
//!   "error": "…"}`.
//! - Push: `{"type": "event", "event_type": "execution.started", "source": agent, "data": {…},
//!   "id": n, "timestamp_ms": t}`: every event of the runtime's bus, as it happens (a model's
//!   text arrives piece by piece as `step.output`).
//!
//! Scopes (the reference's local and remote listeners): a [`Scope::Full`] session (the owner's
//! token, or a loopback listener without one) may do everything; a [`Scope::Subtree`] session
//! (a token given to one agent's owner) may only name that agent and its descendants in
//! `agent_id`, `target`, `parent_id` and `id`, sees only their events, and may not create root
//! agents. The request names are [`REQUESTS`]; each one's fields are read in [`handle`].

pub mod ws;

use serde_json::{Value, json};

use crate::definition::AgentDefinition;
use crate::message::Priority;
use crate::runtime::{Runtime, history};

/// The largest request frame.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// What a session may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything (the owner).
    Full,
    /// One agent and its descendants.
    Subtree(String),
}

impl Scope {
    /// Whether `agent` is inside the scope.
    pub fn allows(&self, runtime: &Runtime, agent: &str) -> bool {
        match self {
            Scope::Full => true,
            Scope::Subtree(root) => {
                let mut at = Some(agent.to_string());
                let mut hops = 0;
                while let Some(id) = at {
                    if &id == root {
                        return true;
                    }
                    hops += 1;
                    if hops > 64 {
                        return false;
                    }
                    at = runtime.definition(&id).and_then(|d| d.parent_id);
                }
                false
            }
        }
    }
}

/// The request names, for the schema test and `--help`.
pub const REQUESTS: [&str; 13] = [
    "list_agents",
    "get_agent",
    "delegate",
    "create_agent",
    "run_agent",
    "activate",
    "deactivate",
    "kill",
    "unregister",
    "post_message",
    "inbox",
    "history",
    "traces",
];

fn text<'a>(request: &'a Value, key: &str) -> Result<&'a str, String> {
    request
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string field {key:?}"))
}

fn check_scope(runtime: &Runtime, scope: &Scope, request: &Value) -> Result<(), String> {
    for key in ["agent_id", "target", "parent_id", "id"] {
        if let Some(v) = request.get(key).and_then(Value::as_str)
            && !scope.allows(runtime, v)
        {
            return Err(format!("{key} {v:?} is outside this session's scope"));
        }
    }
    Ok(())
}

/// Answers one request (already parsed as a JSON object).
pub async fn handle(runtime: &Runtime, scope: &Scope, request: &Value) -> Result<Value, String> {
    let kind = text(request, "type")?;
    check_scope(runtime, scope, request)?;
    let agent = || text(request, "agent_id");
    let r = |e: crate::runtime::RuntimeError| e.to_string();
    match kind {
        "list_agents" => Ok(json!(
            runtime
                .list()
                .into_iter()
                .filter(|a| scope.allows(runtime, &a.id))
                .collect::<Vec<_>>()
        )),
        "get_agent" => {
            let id = agent()?;
            let info = runtime
                .info(id)
                .ok_or_else(|| format!("no agent {id:?} on this node"))?;
            Ok(json!({"agent": info, "definition": runtime.definition(id)}))
        }
        "create_agent" => {
            let def = request
                .get("definition")
                .cloned()
                .ok_or("missing object field \"definition\"")?;
            let def = AgentDefinition::from_json(def).map_err(|e| e.to_string())?;
            match (scope, &def.parent_id) {
                (Scope::Full, _) => {}
                (Scope::Subtree(_), Some(parent)) if scope.allows(runtime, parent) => {}
                _ => {
                    return Err(
                        "a scoped session may only create agents under its own subtree".into(),
                    );
                }
            }
            let id = def.id.clone();
            runtime.register(def).await.map_err(r)?;
            if request
                .get("activate")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                runtime.activate(&id).map_err(r)?;
            }
            Ok(json!({"agent_id": id}))
        }
        "run_agent" => {
            let task = request
                .get("task")
                .and_then(Value::as_str)
                .map(str::to_string);
            runtime.run(agent()?, task).map_err(r)?;
            Ok(json!({"started": true}))
        }
        "activate" => runtime.activate(agent()?).map(|()| json!({})).map_err(r),
        "deactivate" => runtime.deactivate(agent()?).map(|()| json!({})).map_err(r),
        "kill" => runtime.kill(agent()?).map(|()| json!({})).map_err(r),
        "unregister" => runtime.unregister(agent()?).map(|()| json!({})).map_err(r),
        "post_message" => {
            let priority = match request.get("priority") {
                None => Priority::Normal,
                Some(p) => serde_json::from_value(p.clone())
                    .map_err(|_| "priority is one of low, normal, high, urgent".to_string())?,
            };
            runtime
                .send_text(
                    "user",
                    text(request, "target")?,
                    text(request, "text")?,
                    priority,
                )
                .map_err(r)?;
            Ok(json!({"posted": true}))
        }
        "delegate" => {
            // `agent_id` delegates (the result returns to its inbox); without it, the owner.
            let from = request.get("agent_id").and_then(Value::as_str);
            let task_id = runtime
                .delegate(from, text(request, "target")?, text(request, "task")?)
                .await
                .map_err(r)?;
            Ok(json!({"task_id": task_id, "state": "submitted"}))
        }
        "inbox" => {
            let id = agent()?;
            if runtime.info(id).is_none() {
                return Err(format!("no agent {id:?} on this node"));
            }
            let pending = runtime.inbox().pending(id).map_err(|e| e.to_string())?;
            Ok(json!(
                pending.into_iter().map(|(_, m)| m).collect::<Vec<_>>()
            ))
        }
        "history" => Ok(json!(history::of(runtime.inbox().store(), agent()?))),
        "traces" => {
            let only = request.get("agent_id").and_then(Value::as_str);
            Ok(json!(
                runtime
                    .all_traces()
                    .into_iter()
                    .filter(|t| only.is_none_or(|a| t.trace.agent == a))
                    .filter(|t| scope.allows(runtime, &t.trace.agent))
                    .collect::<Vec<_>>()
            ))
        }
        other => Err(format!(
            "unknown request type {other:?} (known: {})",
            REQUESTS.join(", ")
        )),
    }
}
