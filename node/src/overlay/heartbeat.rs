//! The node's heartbeat in its log, for operators reading a server's journal: a one-line
//! summary every `network.summary_secs` (peers, gossip mesh per topic, and for a role peer its
//! epoch and phase), and one warning when the node still has no peer `network.bootstrap_timeout_secs`
//! after it started dialling its bootstrap peers (a wrong address, a stopped bootstrap node or a
//! firewall otherwise look like a node that silently does nothing).

use std::time::{Duration, Instant};

use autonet_actors::roles::protocol_log::RunLog;
use autonet_p2p::{Client, Multiaddr};
use tokio::task::JoinHandle;

use crate::config::NetConfig;

/// Target of the heartbeat's log lines (so a filter can keep or drop them).
pub const TARGET: &str = "autonet::summary";

/// What the heartbeat reports on.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    /// Between summaries; `None`: no summaries.
    every: Option<Duration>,
    /// When to warn about having no peer; `None` for a node with no bootstrap peers.
    bootstrap_timeout: Option<Duration>,
    bootstrap: Vec<Multiaddr>,
}

impl Heartbeat {
    /// The heartbeat `net` asks for.
    pub fn new(net: &NetConfig) -> Self {
        Heartbeat {
            every: (net.summary_secs > 0).then(|| Duration::from_secs(net.summary_secs.into())),
            bootstrap_timeout: (!net.bootstrap.is_empty())
                .then(|| Duration::from_secs(net.bootstrap_timeout_secs.into())),
            bootstrap: net.bootstrap.clone(),
        }
    }

    /// Runs until the node stops (the client's requests fail); `role` adds a role peer's
    /// epoch and phase to the summary.
    pub fn spawn(self, client: Client, role: Option<RunLog>) -> JoinHandle<()> {
        tokio::spawn(async move { self.run(client, role).await })
    }

    async fn run(self, client: Client, role: Option<RunLog>) {
        let start = Instant::now();
        let mut warned = self.bootstrap_timeout.is_none();
        let mut last_summary = start;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let Ok(status) = client.status().await else {
                return; // the node is stopping
            };
            let peers = status.connected_peers.len();
            if !warned && self.bootstrap_timeout.is_some_and(|t| start.elapsed() >= t) {
                warned = true;
                if peers == 0 {
                    tracing::warn!(
                        target: TARGET,
                        secs = start.elapsed().as_secs(),
                        bootstrap = %list(&self.bootstrap),
                        "no peers since start: no bootstrap peer could be reached; check the \
                         addresses (with their /p2p/ peer id), that the bootstrap node runs and \
                         that no firewall blocks the port"
                    );
                }
            }
            if self.every.is_some_and(|e| last_summary.elapsed() >= e) {
                last_summary = Instant::now();
                let mesh: Vec<String> = status
                    .topics
                    .iter()
                    .map(|t| format!("{}:{}", t.name, t.mesh_peers))
                    .collect();
                let (epoch, phase) = match role.as_ref().and_then(RunLog::last) {
                    Some(e) => (e.epoch.to_string(), e.phase.to_string()),
                    None => ("-".into(), "-".into()),
                };
                tracing::info!(
                    target: TARGET,
                    peers,
                    mesh = %mesh.join(" "),
                    epoch = %epoch,
                    phase = %phase,
                    "summary"
                );
            }
        }
    }
}

fn list(addrs: &[Multiaddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
