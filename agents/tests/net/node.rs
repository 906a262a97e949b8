//! One test node: an overlay peer, its store, inbox, mailer and card directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use autonet_agents::{Directory, Inbox, Mailer, MailerConfig};
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
use autonet_p2p::{Keypair, Multiaddr};
use autonet_store::Store;

/// How long a test waits for the network before it fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Short backoff, so a retry after the receiver appears comes quickly.
pub fn config() -> MailerConfig {
    MailerConfig {
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        ..MailerConfig::default()
    }
}

/// A running node.
pub struct Node {
    pub peer: Peer,
    pub store_path: PathBuf,
    pub inbox: Inbox,
    pub mailer: Mailer,
    pub directory: Directory,
}

impl Node {
    /// Starts a node with `key`, bootstrapping on `bootstrap`, its store at `dir/db`.
    pub async fn start(
        key: Keypair,
        bootstrap: Vec<Multiaddr>,
        dir: &Path,
    ) -> anyhow::Result<Node> {
        let peer = Peer::start(local_config(key, bootstrap), accept_all()).await?;
        let store_path = dir.join("db");
        let store = Arc::new(Store::open(&store_path)?);
        let inbox = Inbox::new(store.clone());
        let mailer = Mailer::start(
            peer.client.clone(),
            peer.keypair.clone(),
            store,
            Arc::new(inbox.clone()),
            config(),
        )
        .await?;
        let directory = Directory::start(peer.client.clone(), peer.keypair.clone()).await?;
        Ok(Node {
            peer,
            store_path,
            inbox,
            mailer,
            directory,
        })
    }

    /// The address of local agent `agent`.
    pub fn addr(&self, agent: &str) -> autonet_agents::AgentAddr {
        self.mailer.address_of(agent).expect("a valid agent id")
    }

    /// Waits until agent `agent` has at least `n` pending messages; returns them.
    pub async fn wait_inbox(
        &self,
        agent: &str,
        n: usize,
    ) -> Vec<(u64, autonet_agents::InboxMessage)> {
        poll_until(DEADLINE, Duration::from_millis(50), || async {
            let pending = self.inbox.pending(agent).ok()?;
            (pending.len() >= n).then_some(pending)
        })
        .await
        .unwrap_or_else(|| panic!("{agent} did not get {n} messages"))
    }

    /// Waits until the outbox is empty (every envelope acknowledged).
    pub async fn wait_outbox_empty(&self) {
        poll_until(DEADLINE, Duration::from_millis(50), || async {
            (self.mailer.outbox_len().await.ok()? == 0).then_some(())
        })
        .await
        .expect("the outbox drains");
    }

    pub async fn stop(self) {
        self.mailer.stop().await;
        self.directory.stop();
        self.peer.stop().await;
    }
}

/// An inbox message from `source` with id `id`.
pub fn message(id: &str, source: &str, text: &str) -> autonet_agents::InboxMessage {
    autonet_agents::InboxMessage {
        id: id.into(),
        source: source.into(),
        target: String::new(),
        kind: autonet_agents::MessageKind::Work,
        priority: autonet_agents::Priority::Normal,
        data: serde_json::json!({ "text": text }),
        timestamp_ms: 1,
    }
}

/// Waits until `mailer`'s outbox is empty.
pub async fn poll_empty(mailer: &Mailer) {
    poll_until(DEADLINE, Duration::from_millis(50), || async {
        (mailer.outbox_len().await.ok()? == 0).then_some(())
    })
    .await
    .expect("the outbox drains");
}
