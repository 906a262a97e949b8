//! `simulate --dashboard`: the live web dashboard of a simulation. While the run goes on, its
//! loop publishes a snapshot every [`crate::dashboard::INTERVAL`] while a page watches (every
//! [`crate::dashboard::IDLE_INTERVAL`] otherwise): every peer's overlay and shards, the protocol
//! events, and the peers' rewards, slashes and the epochs read from the chain the way the report
//! reads them; once the run ends, the report's own numbers.

use std::net::SocketAddr;
use std::time::Instant;

use crate::dashboard::snapshot::{self, OverlayView};
use crate::dashboard::{Feed, Snapshot};

use super::SimulateArgs;
use super::network::Network;
use super::report::{self, Report};

/// The dashboard of one simulation.
#[derive(Debug)]
pub struct SimDashboard {
    feed: Feed,
    args: SimulateArgs,
    last: Option<Instant>,
}

impl SimDashboard {
    /// Serves the dashboard on `addr` (behind the status server's loopback guard); returns it
    /// with the bound address.
    pub async fn serve(
        addr: SocketAddr,
        args: &SimulateArgs,
    ) -> anyhow::Result<(SimDashboard, SocketAddr)> {
        let feed = Feed::new();
        let app = crate::dashboard::routes(feed.clone());
        let token = crate::overlay::http::random_token();
        let bound = crate::overlay::http::spawn_guarded(addr, app, token)
            .await
            .map_err(|e| e.context("--dashboard (choose a free address)"))?;
        let dashboard = SimDashboard {
            feed,
            args: args.clone(),
            last: None,
        };
        Ok((dashboard, bound))
    }

    /// Publishes a live snapshot of `net` unless one was published recently (less than
    /// [`crate::dashboard::INTERVAL`] ago while a page watches, else
    /// [`crate::dashboard::IDLE_INTERVAL`]).
    pub async fn tick(&mut self, net: &Network) {
        if self.last.is_some_and(|t| t.elapsed() < self.feed.next_in()) {
            return;
        }
        self.last = Some(Instant::now());
        // The report's reading of the chain, as it stands now (not final: `complete` is false).
        match report::build(net, &self.args, Err(String::new())).await {
            Ok(live) => self.feed.publish(&self.snapshot(net, &live, false).await),
            Err(err) => tracing::debug!(%err, "dashboard: cannot read the chain"),
        }
    }

    /// Publishes the final snapshot: the report's numbers, with the peers still running.
    pub async fn finish(&mut self, net: &Network, report: &Report) {
        self.feed.publish(&self.snapshot(net, report, true).await);
    }

    async fn snapshot(&self, net: &Network, report: &Report, finished: bool) -> Snapshot {
        let entries = net.log.entries_since(0);
        let mut overlay = Vec::new();
        let mut models = Vec::new();
        for p in net.running.iter().flatten() {
            if let Ok(status) = p.client.status().await {
                overlay.push(OverlayView::of(&p.name, &status));
            }
            models.extend(snapshot::holdings(&p.name, &p.shards));
        }
        Snapshot {
            source: "simulate".into(),
            name: format!("simulate --seed {}", self.args.seed),
            model: report.model.clone(),
            seconds: if finished {
                report.seconds
            } else {
                net.log.now()
            },
            head: Some(report.blocks),
            epochs_planned: Some(self.args.epochs),
            finished,
            overlay,
            tasks: snapshot::tasks(&entries),
            activity: snapshot::activity(&entries),
            peers: report.peers.clone(),
            epochs: report.epochs.clone(),
            models,
            events: snapshot::recent(&entries),
        }
    }
}
