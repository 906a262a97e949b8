//! The role routes of a protocol peer's status server (the node's one status server,
//! [`crate::overlay::http::spawn_status`], localhost only, which also serves the overlay's
//! `/status`): `GET /role?since=N` answers [`RoleStatus`] as JSON — who the peer is, its seat on the block
//! board (the head its role last acted on and whether it waits on the network), its protocol
//! events from index N on, and the epochs it published (aggregators). `autonet testnet drive`
//! paces a dev chain and prints progress from it; operators read it to see what a peer does.

use alloy::primitives::Address;
use autonet_actors::roles::board::Board;
use autonet_actors::roles::events::EpochRecord;
use autonet_actors::roles::protocol_log::RunLog;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};

/// One protocol event as the endpoint shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryView {
    /// Seconds since this process started its protocol log.
    pub at: f64,
    /// Name of the peer that logged it.
    pub peer: String,
    /// Epoch it belongs to.
    pub epoch: u64,
    /// Protocol phase, lower case (e.g. `commit`, `reveal`).
    pub phase: String,
    /// What happened, in words.
    pub text: String,
}

/// `GET /status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleStatus {
    /// The peer's name (e.g. `solver-2`).
    pub name: String,
    /// Its role, lower case.
    pub role: String,
    /// Its staked EVM account.
    pub address: Address,
    /// Its libp2p PeerId.
    pub peer_id: String,
    /// The process id (changes when the peer is restarted).
    pub pid: u32,
    /// (role, head acted on, waiting on the network) of each running role actor.
    pub seats: Vec<(String, u64, bool)>,
    /// Protocol events so far.
    pub entries_total: usize,
    /// Entries from `since` on.
    pub entries: Vec<EntryView>,
    /// Epochs this peer published.
    pub epochs: Vec<EpochRecord>,
}

/// Who the peer is (the fixed part of the status).
#[derive(Debug, Clone)]
pub struct Identity {
    /// The peer's name (e.g. `solver-2`).
    pub name: String,
    /// Its role, lower case.
    pub role: String,
    /// Its staked EVM account.
    pub address: Address,
    /// Its libp2p PeerId.
    pub peer_id: String,
}

#[derive(Clone)]
struct StatusState {
    me: Identity,
    board: Board,
    log: RunLog,
}

#[derive(Debug, Deserialize)]
struct Since {
    #[serde(default)]
    since: usize,
}

async fn status(State(s): State<StatusState>, Query(q): Query<Since>) -> axum::Json<RoleStatus> {
    let entries: Vec<EntryView> = s
        .log
        .entries_since(q.since)
        .into_iter()
        .map(|e| EntryView {
            at: e.at,
            peer: e.peer,
            epoch: e.epoch,
            phase: e.phase.to_string(),
            text: e.text,
        })
        .collect();
    axum::Json(RoleStatus {
        name: s.me.name.clone(),
        role: s.me.role.clone(),
        address: s.me.address,
        peer_id: s.me.peer_id.clone(),
        pid: std::process::id(),
        seats: s.board.seats(),
        entries_total: q.since + entries.len(),
        entries,
        epochs: s.log.epochs(),
    })
}

/// The role routes (`/role`), to mount on the node's status server.
pub fn routes(me: Identity, board: Board, log: RunLog) -> Router {
    Router::new()
        .route("/role", get(status))
        .with_state(StatusState { me, board, log })
}
