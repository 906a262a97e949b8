//! A network of in-process peers on 127.0.0.1 for tests, `autonet simulate` and benchmarks.
//!
//! [`Testnet::start`] starts a bootstrap peer, then N peers that are given only the bootstrap
//! address: they find each other through Kademlia and form gossipsub meshes on their own. Every
//! peer runs a small application task that judges each message with a [`Validator`] and records
//! the accepted ones in its [`Inbox`]. Waiting is done by polling with a deadline
//! ([`poll_until`]), never by sleeping for a fixed time.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::identity::Keypair;
use libp2p::{Multiaddr, PeerId};
use prometheus_client::registry::Registry;
use tokio::task::JoinHandle;

use crate::envelope::now_micros;
use crate::{
    BanPolicy, Client, GossipParams, GossipTopic, InboundMessage, NetworkConfig, NetworkEvent,
    P2pError, PeerTargets,
};

/// Decides Accept / Ignore / Reject for each message that passed the envelope checks.
pub type Validator = Arc<dyn Fn(&InboundMessage) -> MessageAcceptance + Send + Sync>;

/// A validator that accepts every well-formed envelope.
pub fn accept_all() -> Validator {
    Arc::new(|_| MessageAcceptance::Accept)
}

/// One message as a peer's application saw it.
#[derive(Debug, Clone)]
pub struct Received {
    /// Gossipsub's content-hash id of the message.
    pub id: MessageId,
    /// The topic it arrived on.
    pub topic: GossipTopic,
    /// The peer that signed it.
    pub author: Option<PeerId>,
    /// The envelope's payload.
    pub body: Vec<u8>,
    /// The author's clock at publication (µs since the Unix epoch).
    pub sent_at_micros: u64,
    /// This peer's clock when its application saw the message, after any hop delay (µs since
    /// the Unix epoch); minus `sent_at_micros` it is the delivery latency.
    pub received_at_micros: u64,
    /// The validator's verdict, reported back to gossipsub.
    pub acceptance: MessageAcceptance,
}

/// What a peer's application received, shared with the test.
#[derive(Debug, Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<Received>>>);

impl Inbox {
    /// A copy of everything received so far.
    pub fn snapshot(&self) -> Vec<Received> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// True when an accepted message with this body was received.
    pub fn contains_body(&self, body: &[u8]) -> bool {
        self.0
            .lock()
            .map(|v| v.iter().any(|r| r.body == body))
            .unwrap_or(false)
    }

    /// Number of messages received.
    pub fn len(&self) -> usize {
        self.0.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// True when nothing was received.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&self, r: Received) {
        if let Ok(mut v) = self.0.lock() {
            v.push(r);
        }
    }
}

/// A running in-process peer.
#[derive(Debug)]
pub struct Peer {
    /// Handle to the peer's event loop.
    pub client: Client,
    /// The peer's id (from `keypair`).
    pub peer_id: PeerId,
    /// The peer's identity key (tests bind it to a chain address).
    pub keypair: Keypair,
    /// Listen addresses, each ending in `/p2p/<peer id>`.
    pub addrs: Vec<Multiaddr>,
    /// Every gossip message the peer's application judged, whatever the verdict.
    pub inbox: Inbox,
    /// This peer's metrics registry (libp2p's and autonet's series).
    pub registry: Arc<Mutex<Registry>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Peer {
    /// Starts a peer from `config`, judging messages with `validator`.
    pub async fn start(config: NetworkConfig, validator: Validator) -> Result<Peer, P2pError> {
        Self::start_with_hop_delay(config, validator, Duration::ZERO).await
    }

    /// Like [`Peer::start`], but every gossip message is held for `hop_delay` before the
    /// application sees it and before it is validated (and so relayed). This emulates a per-link
    /// latency on the gossip data path when the kernel cannot (no `netem` qdisc); control
    /// traffic (IHAVE/IWANT, DHT) is not delayed.
    pub async fn start_with_hop_delay(
        config: NetworkConfig,
        validator: Validator,
        hop_delay: Duration,
    ) -> Result<Peer, P2pError> {
        let mut registry = Registry::default();
        let keypair = config.keypair.clone();
        let (client, mut events, event_loop) = crate::new(config, &mut registry)?;
        let loop_task = tokio::spawn(event_loop.run());
        let inbox = Inbox::default();
        let app_inbox = inbox.clone();
        let app_client = client.clone();
        let app_task = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let NetworkEvent::Message(message) = event else {
                    continue;
                };
                let (inbox, client, validator) =
                    (app_inbox.clone(), app_client.clone(), validator.clone());
                let handle = async move {
                    if !hop_delay.is_zero() {
                        tokio::time::sleep(hop_delay).await;
                    }
                    let acceptance = validator(&message);
                    inbox.push(Received {
                        id: message.id.clone(),
                        topic: message.topic,
                        author: message.author,
                        body: message.body.clone(),
                        sent_at_micros: message.sent_at_micros,
                        received_at_micros: now_micros(),
                        acceptance,
                    });
                    let _ = client
                        .report_validation(message.id, message.propagation_source, acceptance)
                        .await;
                };
                if hop_delay.is_zero() {
                    handle.await;
                } else {
                    tokio::spawn(handle);
                }
            }
        });
        let addrs = client.listen_addrs().await?;
        Ok(Peer {
            peer_id: client.peer_id(),
            keypair,
            client,
            addrs,
            inbox,
            registry: Arc::new(Mutex::new(registry)),
            tasks: vec![loop_task, app_task],
        })
    }

    /// The first TCP listen address.
    pub fn tcp_addr(&self) -> Option<Multiaddr> {
        self.addrs
            .iter()
            .find(|a| {
                a.iter()
                    .any(|p| matches!(p, libp2p::multiaddr::Protocol::Tcp(_)))
            })
            .cloned()
    }

    /// Shuts the peer down and waits for its tasks.
    pub async fn stop(self) {
        let _ = self.client.shutdown().await;
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
    }
}

/// A node config for a test peer: TCP on 127.0.0.1 with an OS-assigned port, short timers.
pub fn local_config(keypair: Keypair, bootstrap: Vec<Multiaddr>) -> NetworkConfig {
    let mut config = NetworkConfig::new(keypair);
    config.listen = vec![tcp_any_port()];
    config.bootstrap = bootstrap;
    config.gossip = GossipParams {
        heartbeat: Duration::from_millis(500),
        ..GossipParams::default()
    };
    config.random_walk_interval = Duration::from_secs(10);
    config.bans = BanPolicy {
        check_interval: Duration::from_millis(250),
        ..BanPolicy::default()
    };
    config
}

/// `/ip4/127.0.0.1/tcp/0`.
pub fn tcp_any_port() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0"
        .parse()
        .unwrap_or_else(|_| Multiaddr::empty())
}

/// Options of [`Testnet::start`].
#[derive(Clone)]
pub struct TestnetOptions {
    /// Peers besides the bootstrap peer.
    pub peers: usize,
    /// Gossipsub parameters of every node (heartbeat 500 ms by default, before dilation).
    pub gossip: GossipParams,
    /// Judges every message on every peer.
    pub validator: Validator,
    /// Emulated per-hop gossip latency (see [`Peer::start_with_hop_delay`]).
    pub hop_delay: Duration,
    /// Emulated one-way latency on every link ([`NetworkConfig::link_delay`]).
    pub link_delay: Option<Duration>,
    /// Run every node on production timers (gossipsub heartbeat, DHT walks, score checks of
    /// [`NetworkConfig::new`]) instead of [`local_config`]'s short test timers: benchmarks
    /// measure what a deployed node does, and test-speed timers of many in-process peers alone
    /// keep cores busy.
    pub production_timers: bool,
    /// Overrides the DHT walk interval (after `production_timers`).
    pub random_walk_interval: Option<Duration>,
    /// Connection-count targets of every node.
    pub peer_targets: PeerTargets,
    /// Time dilation factor K ≥ 1 (time-warped emulation): the emulated delays (`hop_delay`,
    /// `link_delay`) and the periodic protocol timers (gossipsub heartbeat, DHT walks, score and
    /// peer checks) run K times slower in wall time, so every in-process peer gets K times the
    /// CPU per emulated second. 1 (the default) is real time.
    pub time_dilation: u32,
}

impl std::fmt::Debug for TestnetOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestnetOptions")
            .field("peers", &self.peers)
            .field("gossip", &self.gossip)
            .finish_non_exhaustive()
    }
}

impl TestnetOptions {
    /// The config of one node with a fresh key, these options and `bootstrap`.
    fn config(&self, bootstrap: Vec<Multiaddr>) -> NetworkConfig {
        let mut config = local_config(Keypair::generate_ed25519(), bootstrap);
        config.gossip = self.gossip.clone();
        config.link_delay = self.link_delay;
        if self.production_timers {
            let production = NetworkConfig::new(config.keypair.clone());
            config.gossip.heartbeat = production.gossip.heartbeat;
            config.random_walk_interval = production.random_walk_interval;
            config.bans = production.bans;
        }
        if let Some(interval) = self.random_walk_interval {
            config.random_walk_interval = interval;
        }
        config.peers = self.peer_targets.clone();
        config.link_delay = config.link_delay.map(|delay| self.dilated(delay));
        config.gossip.heartbeat = self.dilated(config.gossip.heartbeat);
        config.random_walk_interval = self.dilated(config.random_walk_interval);
        config.bans.check_interval = self.dilated(config.bans.check_interval);
        config
    }

    /// `duration` of emulated time in wall time ([`Self::time_dilation`]).
    pub fn dilated(&self, duration: Duration) -> Duration {
        duration * self.time_dilation.max(1)
    }

    /// `peers` peers besides the bootstrap peer, test timers, real time, no emulated latency,
    /// every message accepted.
    pub fn new(peers: usize) -> Self {
        Self {
            peers,
            gossip: GossipParams {
                heartbeat: Duration::from_millis(500),
                ..GossipParams::default()
            },
            validator: accept_all(),
            hop_delay: Duration::ZERO,
            link_delay: None,
            production_timers: false,
            random_walk_interval: None,
            peer_targets: PeerTargets::default(),
            time_dilation: 1,
        }
    }
}

/// A bootstrap peer and N peers that know only its address.
#[derive(Debug)]
pub struct Testnet {
    /// The peer every other peer is given as its only bootstrap address.
    pub bootstrap: Peer,
    /// The other peers, in start order.
    pub peers: Vec<Peer>,
}

impl Testnet {
    /// Starts the bootstrap peer, then the others one by one.
    pub async fn start(options: TestnetOptions) -> Result<Testnet, P2pError> {
        let config = options.config(Vec::new());
        let delay = options.dilated(options.hop_delay);
        let bootstrap =
            Peer::start_with_hop_delay(config, options.validator.clone(), delay).await?;
        let boot_addr = bootstrap
            .tcp_addr()
            .ok_or_else(|| P2pError::Config("bootstrap has no TCP address".into()))?;
        let mut peers = Vec::with_capacity(options.peers);
        for _ in 0..options.peers {
            let config = options.config(vec![boot_addr.clone()]);
            peers.push(Peer::start_with_hop_delay(config, options.validator.clone(), delay).await?);
        }
        Ok(Testnet { bootstrap, peers })
    }

    /// The bootstrap peer followed by the others.
    pub fn all(&self) -> impl Iterator<Item = &Peer> {
        std::iter::once(&self.bootstrap).chain(self.peers.iter())
    }

    /// Polls until every peer has at least `min_mesh` mesh peers on `topic`.
    pub async fn wait_for_mesh(
        &self,
        topic: GossipTopic,
        min_mesh: usize,
        deadline: Duration,
    ) -> Result<(), P2pError> {
        poll_until(deadline, Duration::from_millis(250), || async {
            for peer in self.all() {
                let status = peer.client.status().await.ok()?;
                let mesh = status
                    .topics
                    .iter()
                    .find(|t| t.name == topic.name())
                    .map_or(0, |t| t.mesh_peers);
                if mesh < min_mesh {
                    return None;
                }
            }
            Some(())
        })
        .await
        .ok_or_else(|| P2pError::Config(format!("mesh on {topic} did not form in {deadline:?}")))
    }

    /// Stops every peer.
    pub async fn stop(self) {
        for peer in self.peers {
            peer.stop().await;
        }
        self.bootstrap.stop().await;
    }
}

/// Calls `check` every `interval` until it returns `Some` or `deadline` has passed.
pub async fn poll_until<T, F, Fut>(
    deadline: Duration,
    interval: Duration,
    mut check: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dilation slows every emulated delay and periodic timer by the same factor, and only those.
    #[test]
    fn time_dilation_scales_the_emulated_delays_and_the_protocol_timers() {
        let mut options = TestnetOptions::new(3);
        options.production_timers = true;
        options.link_delay = Some(Duration::from_millis(10));
        let real = options.config(Vec::new());
        options.time_dilation = 5;
        let dilated = options.config(Vec::new());
        assert_eq!(dilated.link_delay, Some(Duration::from_millis(50)));
        assert_eq!(dilated.gossip.heartbeat, real.gossip.heartbeat * 5);
        assert_eq!(dilated.random_walk_interval, real.random_walk_interval * 5);
        assert_eq!(dilated.bans.check_interval, real.bans.check_interval * 5);
        assert_eq!(dilated.bans.ban_duration, real.bans.ban_duration);
        assert_eq!(dilated.gossip.mesh_n, real.gossip.mesh_n);
    }
}
