//! The dashboard of a node (`bootstrap`, `join`, `join --role`): its overlay, and where it runs
//! a protocol role, that role's events, the epochs it published and the shards it holds.

use autonet_actors::roles::protocol_log::RunLog;
use autonet_actors::shards::ShardHost;
use autonet_p2p::Client;

use std::time::Instant;

use super::Feed;
use super::snapshot::{self, OverlayView, Snapshot};

/// What a node's dashboard reads.
#[derive(Debug, Clone)]
pub struct NodeSources {
    /// The node's name: its peer name for a role peer, else `node`.
    pub name: String,
    /// Its overlay.
    pub client: Client,
    /// Its protocol events (role peers).
    pub log: Option<RunLog>,
    /// Its shard host (nodes that hold shards).
    pub shards: Option<ShardHost>,
}

impl NodeSources {
    /// A node that runs no role: its overlay only.
    pub fn overlay(client: Client) -> NodeSources {
        NodeSources {
            name: "node".into(),
            client,
            log: None,
            shards: None,
        }
    }

    /// What the node looks like now.
    pub async fn snapshot(&self) -> Snapshot {
        let overlay = match self.client.status().await {
            Ok(s) => vec![OverlayView::of(&self.name, &s)],
            Err(err) => {
                tracing::debug!(%err, "dashboard: no overlay status");
                Vec::new()
            }
        };
        let entries = self
            .log
            .as_ref()
            .map(|l| l.entries_since(0))
            .unwrap_or_default();
        Snapshot {
            source: "node".into(),
            name: self.name.clone(),
            seconds: self.log.as_ref().map_or(0.0, RunLog::now),
            overlay,
            tasks: snapshot::tasks(&entries),
            activity: snapshot::activity(&entries),
            epochs: self
                .log
                .as_ref()
                .map(|l| l.epochs().into_iter().map(snapshot::epoch_view).collect())
                .unwrap_or_default(),
            models: self
                .shards
                .as_ref()
                .map(|h| snapshot::holdings(&self.name, h))
                .unwrap_or_default(),
            events: snapshot::recent(&entries),
            ..Snapshot::default()
        }
    }
}

/// Starts publishing `sources`' snapshot on a new feed (every [`super::INTERVAL`] while a page
/// watches, every [`super::IDLE_INTERVAL`] otherwise); the producer stops once no router serves
/// the feed.
pub fn spawn(sources: NodeSources) -> Feed {
    let feed = Feed::new();
    let producer = feed.clone();
    tokio::spawn(async move {
        let mut last: Option<Instant> = None;
        while !producer.abandoned() {
            if last.is_none_or(|t| t.elapsed() >= producer.next_in()) {
                producer.publish(&sources.snapshot().await);
                last = Some(Instant::now());
            }
            // Short naps: a page that connects gets live snapshots within one interval.
            tokio::time::sleep(super::INTERVAL).await;
        }
    });
    feed
}
