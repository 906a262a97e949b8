//! The node's localhost HTTP endpoints (axum).
//!
//! Status server:
//! - `GET /status`: the overlay [`autonet_p2p::Status`] (peers, topics, DHT records, bans,
//!   counters) as JSON;
//! - `GET /messages`: the most recent gossip messages the node accepted;
//! - `POST /publish/{topic}` (body: bytes): publish on a protocol topic;
//! - `POST /records` (body: bytes): store a DHT record, answers its key (hex);
//! - `GET /records/{key}`: read a DHT record (404 when no peer has it);
//! - `GET /`, `GET /dashboard/…`: the live web dashboard ([`crate::dashboard`]).
//!
//! The status server answers only requests made to it by local programs: every request must
//! carry a `Host` header naming the server itself (`127.0.0.1:PORT`, `localhost:PORT` or
//! `[::1]:PORT`, which defeats DNS rebinding) and no `Origin` header but its own (a web page's
//! cross-origin request is refused: 403). The write endpoints (`POST`) also need
//! `Authorization: Bearer <token>`, where the token is the content of `<data-dir>/http_token`
//! (random, created with mode 0600 on first start and kept): 401 without it. A web page the
//! user visits can thus neither read nor publish through the node.
//!
//! Metrics server (`--metrics`): `GET /metrics` in the Prometheus text format.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex};

use anyhow::Context;

use autonet_p2p::records::{id_from_hex, to_hex};
use autonet_p2p::{Client, GossipTopic, InboundMessage, P2pError, RecordKey};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::registry::Registry;
use serde::Serialize;

/// How many received messages `/messages` keeps.
pub const RECENT_MESSAGES: usize = 1000;

/// One received message as `/messages` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageSummary {
    /// Gossipsub's message id (a hash of its content), hex.
    pub id: String,
    /// The topic it arrived on.
    pub topic: GossipTopic,
    /// PeerId of the peer that signed it, if any.
    pub author: Option<String>,
    /// PeerId of the peer it came from (its author, or a peer that forwarded it): tells over
    /// which connection it arrived.
    pub from: String,
    /// The payload (the topic's CBOR message), hex.
    pub body_hex: String,
    /// The payload as UTF-8, invalid bytes replaced (readable for text test messages only).
    pub body_text: String,
}

/// The last [`RECENT_MESSAGES`] accepted messages.
#[derive(Debug, Clone, Default)]
pub struct Recent(Arc<Mutex<VecDeque<MessageSummary>>>);

impl Recent {
    /// Records an accepted message, dropping the oldest once [`RECENT_MESSAGES`] are kept.
    pub fn push(&self, m: &InboundMessage) {
        let summary = MessageSummary {
            id: to_hex(&m.id.0),
            topic: m.topic,
            author: m.author.map(|a| a.to_string()),
            from: m.propagation_source.to_string(),
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

/// File in the data dir holding the bearer token of the status server's write endpoints.
pub const TOKEN_FILE: &str = "http_token";

/// Loads the status server's bearer token from `<data_dir>/http_token`, creating a random one
/// (mode 0600, written atomically) on first use.
pub fn load_or_create_token(data_dir: &FsPath) -> anyhow::Result<String> {
    let path = data_dir.join(TOKEN_FILE);
    for _ in 0..2 {
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let token = text.trim();
                anyhow::ensure!(
                    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{} is not 64 hex digits; delete it to have a new token created",
                    path.display()
                );
                return Ok(token.to_string());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
        let token = random_token();
        match crate::secret_file::write_new(&path, token.as_bytes()) {
            Ok(()) => return Ok(token),
            // Another process created it meanwhile: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
    anyhow::bail!("cannot create or read {}", path.display())
}

/// Who may use the status server: local programs that name it in `Host`, send no foreign
/// `Origin`, and (for writes) present the token.
#[derive(Clone)]
struct Guard {
    port: u16,
    token: Arc<str>,
}

impl Guard {
    /// `authority` (`host:port`) names this server over loopback.
    fn is_local(&self, authority: &str) -> bool {
        let Some((host, port)) = authority.rsplit_once(':') else {
            return false;
        };
        port.parse::<u16>() == Ok(self.port)
            && (host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1" || host == "[::1]")
    }

    fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), Refused> {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        if !host.is_some_and(|h| self.is_local(h)) {
            return Err(Refused {
                status: StatusCode::FORBIDDEN,
                message: format!(
                    "refused: the Host header must be 127.0.0.1:{0}, localhost:{0} or [::1]:{0}",
                    self.port
                ),
            });
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let same = origin
                .to_str()
                .ok()
                .and_then(|o| o.strip_prefix("http://"))
                .is_some_and(|a| self.is_local(a));
            if !same {
                return Err(Refused {
                    status: StatusCode::FORBIDDEN,
                    message: "refused: cross-origin request (the status server serves local \
                              programs only)"
                        .into(),
                });
            }
        }
        if method != Method::GET && method != Method::HEAD {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            if !presented.is_some_and(|t| same_token(t.as_bytes(), self.token.as_bytes())) {
                return Err(Refused {
                    status: StatusCode::UNAUTHORIZED,
                    message: format!(
                        "write endpoints need `Authorization: Bearer <token>`, the token being \
                         the content of <data-dir>/{TOKEN_FILE}"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Why the guard refused a request.
#[derive(Debug)]
struct Refused {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = error(self.status, self.message);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Compares tokens in time independent of where they differ.
fn same_token(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn guard(State(g): State<Guard>, request: Request, next: Next) -> Response {
    match g.check(request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// Serves the node's status endpoints and its dashboard (reading `dashboard`) on `addr`;
/// `token` guards the write endpoints. `extra` mounts more routes behind the same guard (a
/// protocol peer's `/role`). Returns the bound address.
pub async fn spawn_status(
    addr: SocketAddr,
    client: Client,
    recent: Recent,
    token: String,
    extra: Option<Router>,
    dashboard: crate::dashboard::Feed,
) -> anyhow::Result<SocketAddr> {
    let app = Router::new()
        .route("/status", get(status))
        .route("/messages", get(messages))
        .route("/publish/{topic}", post(publish))
        .route("/records", post(put_record))
        .route("/records/{key}", get(get_record))
        .with_state(StatusState { client, recent })
        .merge(extra.unwrap_or_default())
        .merge(crate::dashboard::routes(dashboard));
    spawn_guarded(addr, app, token).await
}

/// Serves `app` on `addr` behind the status server's guard (local programs only, `token` for
/// writes); returns the bound address. `simulate --dashboard` serves its dashboard so, with a
/// random token (it has no write endpoint).
pub async fn spawn_guarded(
    addr: SocketAddr,
    app: Router,
    token: String,
) -> anyhow::Result<SocketAddr> {
    let listener = bind(addr).await?;
    let bound = listener.local_addr()?;
    let guard_state = Guard {
        port: bound.port(),
        token: token.into(),
    };
    let app = app.layer(axum::middleware::from_fn_with_state(guard_state, guard));
    serve(listener, app);
    Ok(bound)
}

/// A random token (64 hex digits) for a server whose token nobody needs to know.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand08::RngCore::fill_bytes(&mut rand08::rngs::OsRng, &mut bytes);
    to_hex(&bytes)
}

/// Serves `/metrics` on `addr`; returns the bound address.
pub async fn spawn_metrics(
    addr: SocketAddr,
    registry: Arc<Mutex<Registry>>,
) -> anyhow::Result<SocketAddr> {
    if let Ok(mut r) = registry.lock() {
        crate::process::register_metrics(&mut r);
    }
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(registry);
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "metrics are served beyond this host, without authentication; keep the port \
             behind a firewall that admits only the scraper"
        );
    }
    let listener = bind(addr).await?;
    let bound = listener.local_addr()?;
    serve(listener, app);
    Ok(bound)
}

async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                anyhow::anyhow!("cannot bind {addr}: another process uses this port ({e})")
            }
            _ => anyhow::anyhow!("cannot bind {addr}: {e}"),
        })
}

fn serve(listener: tokio::net::TcpListener, app: Router) {
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "HTTP server stopped");
        }
    });
}

fn error(status: StatusCode, err: impl std::fmt::Display) -> Response {
    (status, format!("{err}\n")).into_response()
}

fn p2p_error(err: P2pError) -> Response {
    let status = match err {
        P2pError::RecordNotFound => StatusCode::NOT_FOUND,
        P2pError::Envelope(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(status, err)
}

async fn status(State(s): State<StatusState>) -> Response {
    match s.client.status().await {
        Ok(status) => {
            // The overlay's status plus this build's core fingerprints (`integrity`).
            let mut value = serde_json::to_value(status).unwrap_or_default();
            if let Some(fields) = value.as_object_mut() {
                fields.insert("integrity".into(), crate::integrity::summary());
            }
            axum::Json(value).into_response()
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), header::HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_guard_wants_local_host_same_origin_and_the_token() {
        let g = Guard {
            port: 8080,
            token: "ab".repeat(32).into(),
        };
        let bearer = format!("Bearer {}", "ab".repeat(32));
        let code = |m: Method, h: HeaderMap| g.check(&m, &h).err().map(|r| r.status);
        let ok_host = (header::HOST, "127.0.0.1:8080");
        let auth = (header::AUTHORIZATION, bearer.as_str());
        assert_eq!(
            code(Method::POST, headers(&[ok_host.clone(), auth.clone()])),
            None
        );
        for host in ["localhost:8080", "[::1]:8080"] {
            assert_eq!(
                code(Method::POST, headers(&[(header::HOST, host), auth.clone()])),
                None
            );
        }
        assert_eq!(
            code(Method::GET, headers(std::slice::from_ref(&ok_host))),
            None
        );
        let forbidden = Some(StatusCode::FORBIDDEN);
        for host in [
            "evil.example:8080",
            "127.0.0.1:8081",
            "127.0.0.1",
            "localhost.evil:8080",
        ] {
            assert_eq!(
                code(Method::POST, headers(&[(header::HOST, host), auth.clone()])),
                forbidden,
                "{host}"
            );
        }
        assert_eq!(code(Method::GET, HeaderMap::new()), forbidden, "no Host");
        for origin in [
            "http://evil.example",
            "null",
            "https://127.0.0.1:8080",
            "http://127.0.0.1:9",
        ] {
            let h = headers(&[ok_host.clone(), auth.clone(), (header::ORIGIN, origin)]);
            assert_eq!(code(Method::POST, h), forbidden, "{origin}");
        }
        let same = headers(&[
            ok_host.clone(),
            auth.clone(),
            (header::ORIGIN, "http://localhost:8080"),
        ]);
        assert_eq!(code(Method::POST, same), None);
        let unauthorized = Some(StatusCode::UNAUTHORIZED);
        assert_eq!(
            code(Method::POST, headers(std::slice::from_ref(&ok_host))),
            unauthorized
        );
        let wrong = format!("Bearer {}", "ac".repeat(32));
        let h = headers(&[ok_host.clone(), (header::AUTHORIZATION, wrong.as_str())]);
        assert_eq!(code(Method::POST, h), unauthorized);
    }

    #[cfg(unix)]
    #[test]
    fn the_token_is_random_private_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_token(dir.path()).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(load_or_create_token(dir.path()).unwrap(), a);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(load_or_create_token(other.path()).unwrap(), a);
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
