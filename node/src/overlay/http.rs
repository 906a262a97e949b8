//! The node's localhost HTTP endpoints (axum).
//!
//! Status server:
//! - `GET /status`: the overlay [`autonet_p2p::Status`] (peers, topics, DHT records, bans,
//!   counters) as JSON;
//! - `GET /messages`: the most recent gossip messages the node accepted;
//! - `POST /publish/{topic}` (body: bytes): publish on a protocol topic;
//! - `POST /records` (body: bytes): store a DHT record, answers its key (hex);
//! - `GET /records/{key}`: read a DHT record (404 when no peer has it).
//!
//! Metrics server (`--metrics`): `GET /metrics` in the Prometheus text format.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use autonet_p2p::records::{id_from_hex, to_hex};
use autonet_p2p::{Client, GossipTopic, InboundMessage, P2pError, RecordKey};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::registry::Registry;
use serde::Serialize;

/// How many received messages `/messages` keeps.
pub const RECENT_MESSAGES: usize = 1000;

/// One received message as `/messages` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageSummary {
    pub id: String,
    pub topic: GossipTopic,
    pub author: Option<String>,
    pub body_hex: String,
    pub body_text: String,
}

/// The last [`RECENT_MESSAGES`] accepted messages.
#[derive(Debug, Clone, Default)]
pub struct Recent(Arc<Mutex<VecDeque<MessageSummary>>>);

impl Recent {
    pub fn push(&self, m: &InboundMessage) {
        let summary = MessageSummary {
            id: to_hex(&m.id.0),
            topic: m.topic,
            author: m.author.map(|a| a.to_string()),
            body_hex: to_hex(&m.body),
            body_text: String::from_utf8_lossy(&m.body).into_owned(),
        };
        if let Ok(mut q) = self.0.lock() {
            if q.len() == RECENT_MESSAGES {
                q.pop_front();
            }
            q.push_back(summary);
        }
    }

    fn list(&self) -> Vec<MessageSummary> {
        self.0
            .lock()
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[derive(Clone)]
struct StatusState {
    client: Client,
    recent: Recent,
}

/// Serves the status endpoints on `addr`; returns the bound address.
pub async fn spawn_status(
    addr: SocketAddr,
    client: Client,
    recent: Recent,
) -> anyhow::Result<SocketAddr> {
    let app = Router::new()
        .route("/status", get(status))
        .route("/messages", get(messages))
        .route("/publish/{topic}", post(publish))
        .route("/records", post(put_record))
        .route("/records/{key}", get(get_record))
        .with_state(StatusState { client, recent });
    serve(addr, app).await
}

/// Serves `/metrics` on `addr`; returns the bound address.
pub async fn spawn_metrics(
    addr: SocketAddr,
    registry: Arc<Mutex<Registry>>,
) -> anyhow::Result<SocketAddr> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(registry);
    serve(addr, app).await
}

async fn serve(addr: SocketAddr, app: Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind {addr}: {e}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "HTTP server stopped");
        }
    });
    Ok(bound)
}

fn error(status: StatusCode, err: impl std::fmt::Display) -> Response {
    (status, format!("{err}\n")).into_response()
}

fn p2p_error(err: P2pError) -> Response {
    let status = match err {
        P2pError::RecordNotFound | P2pError::ContentNotFound(_) => StatusCode::NOT_FOUND,
        P2pError::Envelope(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(status, err)
}

async fn status(State(s): State<StatusState>) -> Response {
    match s.client.status().await {
        Ok(status) => axum::Json(status).into_response(),
        Err(err) => p2p_error(err),
    }
}

async fn messages(State(s): State<StatusState>) -> Response {
    axum::Json(s.recent.list()).into_response()
}

async fn publish(State(s): State<StatusState>, Path(topic): Path<String>, body: Bytes) -> Response {
    let Some(topic) = GossipTopic::from_name(&topic) else {
        return error(StatusCode::NOT_FOUND, format!("unknown topic {topic:?}"));
    };
    match s.client.publish(topic, body.to_vec()).await {
        Ok(id) => axum::Json(serde_json::json!({ "id": to_hex(&id.0) })).into_response(),
        Err(err) => p2p_error(err),
    }
}

async fn put_record(State(s): State<StatusState>, body: Bytes) -> Response {
    match s.client.put_record(body.to_vec()).await {
        Ok(key) => axum::Json(serde_json::json!({ "key": to_hex(key.as_ref()) })).into_response(),
        Err(err) => p2p_error(err),
    }
}

async fn get_record(State(s): State<StatusState>, Path(key): Path<String>) -> Response {
    let Some(id) = id_from_hex(&key) else {
        return error(StatusCode::BAD_REQUEST, "a record key is 64 hex digits");
    };
    match s.client.get_record(RecordKey::new(&id)).await {
        Ok(value) => (StatusCode::OK, value).into_response(),
        Err(err) => p2p_error(err),
    }
}

async fn metrics(State(registry): State<Arc<Mutex<Registry>>>) -> Response {
    let mut text = String::new();
    let encoded = match registry.lock() {
        Ok(r) => prometheus_client::encoding::text::encode(&mut text, &r),
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "metrics registry poisoned",
            );
        }
    };
    if let Err(err) = encoded {
        return error(StatusCode::INTERNAL_SERVER_ERROR, err);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
