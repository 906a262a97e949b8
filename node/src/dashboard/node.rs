//! The dashboard of a node (`bootstrap`, `join`, `join --role`): its overlay, and where it runs
//! a protocol role, that role's events, the epochs it published and the shards it holds.

use autonet_actors::roles::protocol_log::RunLog;
use autonet_actors::shards::ShardHost;
use autonet_p2p::Client;

use super::snapshot::{self, OverlayView, Snapshot};
use super::{Feed, INTERVAL};

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

/// Starts publishing `sources`' snapshot every [`INTERVAL`] on a new feed; the producer stops
/// once no router serves the feed.
pub fn spawn(sources: NodeSources) -> Feed {
    let feed = Feed::new();
    let producer = feed.clone();
    tokio::spawn(async move {
        while !producer.abandoned() {
            producer.publish(&sources.snapshot().await);
            tokio::time::sleep(INTERVAL).await;
        }
    });
    feed
}
