//! The WebSocket listener of the agent API: `GET /ws` upgrades; the token is the
//! `Authorization: Bearer` header or the `token` query parameter (browsers cannot set headers on
//! a WebSocket). Each session answers its requests in order and pushes the runtime's events in
//! between; a frame over [`super::MAX_FRAME_BYTES`], a binary frame or bad JSON is answered with
//! an error (`msg_id` null when none could be read), never a dropped connection or a panic.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::{MAX_FRAME_BYTES, Scope, handle};
use crate::runtime::Runtime;

/// Who may connect.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The owner's token (full scope). None: anyone who can connect has full scope (loopback).
    pub owner_token: Option<String>,
    /// Tokens scoped to one agent's subtree: token → root agent.
    pub scoped: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct ApiState {
    runtime: Runtime,
    access: Arc<Access>,
}

/// The API's router (`/ws` and `/health`).
pub fn router(runtime: Runtime, access: Access) -> Router {
    Router::new()
        .route("/ws", get(upgrade))
        .route("/health", get(|| async { "ok" }))
        .with_state(ApiState {
            runtime,
            access: Arc::new(access),
        })
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn scope_of(access: &Access, given: Option<&str>) -> Option<Scope> {
    if access.owner_token.is_none() && access.scoped.is_empty() {
        return Some(Scope::Full); // no tokens configured: a loopback listener, full scope
    }
    let given = given?;
    if access
        .owner_token
        .as_deref()
        .is_some_and(|o| same(o, given))
    {
        return Some(Scope::Full);
    }
    access
        .scoped
        .iter()
        .find(|(t, _)| same(t, given))
        .map(|(_, root)| Scope::Subtree(root.clone()))
}

async fn upgrade(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(query.get("token").map(String::as_str));
    let Some(scope) = scope_of(&state.access, given) else {
        return (StatusCode::UNAUTHORIZED, "missing or wrong token").into_response();
    };
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| session(state.runtime, scope, socket))
}

fn reply(msg_id: Value, result: Result<Value, String>) -> String {
    match result {
        Ok(result) => json!({"msg_id": msg_id, "ok": true, "result": result}),
        Err(error) => json!({"msg_id": msg_id, "ok": false, "error": error}),
    }
    .to_string()
}

async fn answer(runtime: &Runtime, scope: &Scope, frame: &str) -> String {
    if frame.len() > MAX_FRAME_BYTES {
        return reply(
            Value::Null,
            Err(format!("request larger than {MAX_FRAME_BYTES} bytes")),
        );
    }
    let request: Value = match serde_json::from_str(frame) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return reply(Value::Null, Err("a request is a JSON object".into())),
        Err(e) => return reply(Value::Null, Err(format!("not JSON: {e}"))),
    };
    let msg_id = request.get("msg_id").cloned().unwrap_or(Value::Null);
    if !(msg_id.is_string() || msg_id.is_number()) {
        return reply(
            Value::Null,
            Err("msg_id (a string or number) is required".into()),
        );
    }
    reply(msg_id, handle(runtime, scope, &request).await)
}

/// One connection: requests answered in order, events pushed as they happen.
async fn session(runtime: Runtime, scope: Scope, mut socket: WebSocket) {
    let mut events = runtime.events().subscribe();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => answer(&runtime, &scope, t.as_str()).await,
                    Some(Ok(Message::Binary(_))) => reply(Value::Null, Err("send requests as text frames".into())),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            event = events.recv() => {
                let push = match event {
                    Ok(e) => {
                        if !scope.allows(&runtime, &e.source) {
                            continue;
                        }
                        json!({"type": "event", "event_type": e.event_type, "source": e.source, "data": e.data, "id": e.id, "timestamp_ms": e.timestamp_ms})
                    }
                    Err(RecvError::Lagged(n)) => json!({"type": "event", "event_type": "events.lagged", "source": "runtime", "data": {"missed": n}}),
                    Err(RecvError::Closed) => return,
                };
                if socket.send(Message::Text(push.to_string().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}
