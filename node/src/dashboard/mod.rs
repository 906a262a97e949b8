//! The live web dashboard, served by every node on its status server and by `simulate
//! --dashboard`: peers and connections, the overlay's mesh per topic, epochs and each task's
//! phase, commits, reveals and votes per peer, rewards and slashes per peer (`simulate`), models
//! and their shards per holder, and a plot of the root scores (substrate) or the held-out loss
//! (JEPA) per epoch.
//!
//! Routes (behind the status server's loopback guard):
//! - `GET /`: the page (HTML, CSS and JS written by hand, embedded in the binary with
//!   `include_str!`: no run-time download and no front-end build to pin);
//! - `GET /dashboard/state`: the current [`Snapshot`] as JSON;
//! - `GET /dashboard/ws`: a WebSocket that sends the current snapshot, then each new one (a
//!   producer publishes one about every [`INTERVAL`] while a page watches).
//!
//! A [`Feed`] carries the snapshots from their producer ([`node::spawn`] for a node,
//! `simulate`'s own loop for a simulation) to the page.

pub mod node;
pub mod snapshot;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;

pub use snapshot::Snapshot;

/// How often producers publish a snapshot while a page watches.
pub const INTERVAL: Duration = Duration::from_millis(500);
/// How often they refresh it for `/dashboard/state` while no page watches (building a snapshot
/// reads every protocol event, and the chain in `simulate`).
pub const IDLE_INTERVAL: Duration = Duration::from_secs(5);

const INDEX_HTML: &str = include_str!("assets/index.html");
const STYLE_CSS: &str = include_str!("assets/dashboard.css");
const APP_JS: &str = include_str!("assets/dashboard.js");

/// The newest snapshot, as JSON, shared between its producer and the page's connections.
#[derive(Debug, Clone)]
pub struct Feed {
    tx: Arc<watch::Sender<Arc<str>>>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed::new()
    }
}

impl Feed {
    /// A feed holding an empty snapshot.
    pub fn new() -> Feed {
        let empty = serde_json::to_string(&Snapshot::default()).unwrap_or_else(|_| "{}".into());
        let (tx, _) = watch::channel(Arc::from(empty));
        Feed { tx: Arc::new(tx) }
    }

    /// Replaces the snapshot; connected pages receive it when it differs from the last one.
    pub fn publish(&self, snapshot: &Snapshot) {
        let Ok(json) = serde_json::to_string(snapshot) else {
            return;
        };
        self.tx.send_if_modified(|current| {
            if **current == *json {
                return false;
            }
            *current = Arc::from(json);
            true
        });
    }

    /// The current snapshot as JSON.
    pub fn current(&self) -> Arc<str> {
        self.tx.borrow().clone()
    }

    /// How long the producer should wait before the next snapshot: [`INTERVAL`] while a page
    /// is connected, else [`IDLE_INTERVAL`].
    pub fn next_in(&self) -> Duration {
        if self.tx.receiver_count() > 0 {
            INTERVAL
        } else {
            IDLE_INTERVAL
        }
    }

    /// Whether no router serves this feed any more (its producer may stop).
    pub fn abandoned(&self) -> bool {
        Arc::strong_count(&self.tx) == 1
    }
}

/// The dashboard's routes, reading `feed`.
pub fn routes(feed: Feed) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/dashboard/dashboard.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route(
            "/dashboard/dashboard.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route("/dashboard/state", get(state))
        .route("/dashboard/ws", get(ws))
        .with_state(feed)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn state(State(feed): State<Feed>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        feed.current().to_string(),
    )
        .into_response()
}

async fn ws(State(feed): State<Feed>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| push(feed, socket))
}

/// Sends the current snapshot, then every new one, until the page goes away.
async fn push(feed: Feed, mut socket: WebSocket) {
    let mut rx = feed.tx.subscribe();
    loop {
        let json = rx.borrow_and_update().clone();
        if socket
            .send(Message::Text(json.as_ref().into()))
            .await
            .is_err()
        {
            return;
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            incoming = socket.recv() => match incoming {
                // The page sends nothing; a close or an error ends the connection.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_keeps_the_newest_snapshot_and_skips_repeats() {
        let feed = Feed::new();
        let mut rx = feed.tx.subscribe();
        rx.borrow_and_update();
        let s = Snapshot {
            source: "test".into(),
            ..Snapshot::default()
        };
        feed.publish(&s);
        assert!(rx.has_changed().unwrap_or(false));
        rx.borrow_and_update();
        feed.publish(&s);
        assert!(!rx.has_changed().unwrap_or(true), "same snapshot: no push");
        assert!(feed.current().contains("\"source\":\"test\""));
    }

    #[test]
    fn the_page_names_its_assets_and_endpoints() {
        assert!(INDEX_HTML.contains("/dashboard/dashboard.js"));
        assert!(INDEX_HTML.contains("/dashboard/dashboard.css"));
        assert!(APP_JS.contains("/dashboard/ws"));
        assert!(APP_JS.contains("/dashboard/state"));
    }
}
