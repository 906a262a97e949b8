//! What the dashboard shows: a [`Snapshot`] of a node or a simulation, and the pieces every
//! producer builds the same way (overlay, tasks, activity, models, events).

use std::collections::BTreeMap;

use autonet_actors::roles::events::{EpochRecord, Phase};
use autonet_actors::roles::protocol_log::Entry;
use autonet_actors::shards::ShardHost;
use autonet_p2p::Status;
use serde::Serialize;

use crate::simulate::report::{EpochReport, PeerReport};

/// How many of the newest protocol events a snapshot carries.
pub const RECENT_EVENTS: usize = 40;

/// One view of a node or a simulation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// `simulate` or `node`.
    pub source: String,
    /// The node's or the run's name (the peer's name, or `simulate`).
    pub name: String,
    /// The model kind trained (`substrate`, `jepa`), where known.
    pub model: String,
    /// Seconds since the run (or the node's protocol log) began.
    pub seconds: f64,
    /// Chain head, where the producer reads the chain.
    pub head: Option<u64>,
    /// Epochs the run plans, where known.
    pub epochs_planned: Option<u64>,
    /// The run is over and the numbers are final (`simulate`: those of its report).
    pub finished: bool,
    /// Each observed node's overlay: connections and mesh per topic.
    pub overlay: Vec<OverlayView>,
    /// Each task's latest phase.
    pub tasks: Vec<TaskView>,
    /// Protocol events per peer and phase (commits, reveals, votes, …).
    pub activity: Vec<Activity>,
    /// Stake, rewards, slashes and mint per peer (`simulate`: read from the chain).
    pub peers: Vec<PeerReport>,
    /// Published epochs: model id, root scores, held-out loss.
    pub epochs: Vec<EpochReport>,
    /// Model shards per holder.
    pub models: Vec<ModelHolding>,
    /// The newest protocol events, oldest first.
    pub events: Vec<Entry>,
}

/// One node's overlay.
#[derive(Debug, Clone, Serialize)]
pub struct OverlayView {
    /// The node's name (peer name, or `node`).
    pub node: String,
    /// Its PeerId.
    pub peer_id: String,
    /// PeerIds it has a connection with.
    pub connected: Vec<String>,
    /// (topic, mesh peers, subscribed peers) of each topic it subscribes to.
    pub mesh: Vec<(String, usize, usize)>,
    /// Peers banned now.
    pub bans: usize,
    /// Gossip messages published and received.
    pub messages: (u64, u64),
}

impl OverlayView {
    /// The view of `node`'s overlay status.
    pub fn of(node: &str, s: &Status) -> OverlayView {
        OverlayView {
            node: node.to_string(),
            peer_id: s.peer_id.clone(),
            connected: s.connected_peers.clone(),
            mesh: s
                .topics
                .iter()
                .map(|t| (t.name.clone(), t.mesh_peers, t.subscribed_peers))
                .collect(),
            bans: s.bans.len(),
            messages: (s.counters.messages_published, s.counters.messages_received),
        }
    }
}

/// The latest step of one task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    /// Epoch of the task.
    pub epoch: u64,
    /// Task id, decimal.
    pub task: String,
    /// The phase of its newest event.
    pub phase: Phase,
    /// Who emitted that event.
    pub peer: String,
    /// What it said.
    pub text: String,
    /// When (seconds since the run began).
    pub at: f64,
}

/// How many protocol events of each phase one peer emitted.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    /// The peer's name.
    pub peer: String,
    /// Its role.
    pub role: String,
    /// Events per phase name (`commit`, `reveal`, `vote`, …).
    pub counts: BTreeMap<String, u64>,
}

/// The shards of one model one peer holds.
#[derive(Debug, Clone, Serialize)]
pub struct ModelHolding {
    /// The model's id (BLAKE3 of its bytes), hex.
    pub model_id: String,
    /// Who holds them.
    pub holder: String,
    /// Shard indices held, ascending.
    pub shards: Vec<u16>,
}

/// Each task's newest event, by (epoch, task).
pub fn tasks(entries: &[Entry]) -> Vec<TaskView> {
    let mut latest: BTreeMap<(u64, u128, String), &Entry> = BTreeMap::new();
    for e in entries {
        if let Some(task) = &e.task {
            // Sort tasks by number, not by text.
            let n = task.parse::<u128>().unwrap_or(u128::MAX);
            latest.insert((e.epoch, n, task.clone()), e);
        }
    }
    latest
        .into_iter()
        .map(|((epoch, _, task), e)| TaskView {
            epoch,
            task,
            phase: e.phase,
            peer: e.peer.clone(),
            text: e.text.clone(),
            at: e.at,
        })
        .collect()
}

/// Events per peer and phase, peers in order of their first event.
pub fn activity(entries: &[Entry]) -> Vec<Activity> {
    let mut out: Vec<Activity> = Vec::new();
    for e in entries {
        let i = match out.iter().position(|a| a.peer == e.peer) {
            Some(i) => i,
            None => {
                out.push(Activity {
                    peer: e.peer.clone(),
                    role: e.role.clone(),
                    counts: BTreeMap::new(),
                });
                out.len() - 1
            }
        };
        *out[i].counts.entry(e.phase.name().to_string()).or_default() += 1;
    }
    out
}

/// The shards `host` holds, as `holder`'s.
pub fn holdings(holder: &str, host: &ShardHost) -> Vec<ModelHolding> {
    host.held()
        .into_iter()
        .map(|h| ModelHolding {
            model_id: autonet_p2p::records::to_hex(&h.manifest.id().0),
            holder: holder.to_string(),
            shards: h.indices,
        })
        .collect()
}

/// The newest [`RECENT_EVENTS`] of `entries`.
pub fn recent(entries: &[Entry]) -> Vec<Entry> {
    entries[entries.len().saturating_sub(RECENT_EVENTS)..].to_vec()
}

/// An epoch as the report shows it.
pub fn epoch_view(e: EpochRecord) -> EpochReport {
    EpochReport::from(e)
}
