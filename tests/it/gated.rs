//! A node that judges gossip with the real gate ([`Gate`] over an embedded chain) behind the
//! real [`NetworkBridge`], and records what its subscribers are handed; plus helpers to publish
//! task announcements.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autonet_actors::protocol::wire::{TaskAnnouncement, WIRE_VERSION, encode};
use autonet_actors::roles::gate::{Gate, GateArgs};
use autonet_actors::{BridgeArgs, BridgeMsg, NetworkBridge, Validate};
use autonet_contracts::{Contracts, EmbeddedChain};
use autonet_p2p::testnet::{Peer, local_config, poll_until};
use autonet_p2p::{Client, GossipTopic, Keypair, Multiaddr, NetworkEvent, PeerId, Status};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::task::JoinHandle;

pub type TestChain = Contracts<EmbeddedChain>;
/// (author, body) of every message the gated node's subscribers were handed.
pub type Heard = Arc<Mutex<Vec<(Option<PeerId>, Vec<u8>)>>>;

pub const POLL: Duration = Duration::from_millis(100);
pub const DEADLINE: Duration = Duration::from_secs(60);

struct Recorder;

impl Actor for Recorder {
    type Msg = NetworkEvent;
    type State = Heard;
    type Arguments = Heard;

    async fn pre_start(
        &self,
        _myself: ActorRef<NetworkEvent>,
        heard: Heard,
    ) -> Result<Heard, ActorProcessingErr> {
        Ok(heard)
    }

    async fn handle(
        &self,
        _myself: ActorRef<NetworkEvent>,
        event: NetworkEvent,
        heard: &mut Heard,
    ) -> Result<(), ActorProcessingErr> {
        if let NetworkEvent::Message(m) = event {
            heard.lock().unwrap().push((m.author, m.body));
        }
        Ok(())
    }
}

/// A node whose gossip goes through the gate.
pub struct GatedNode {
    pub client: Client,
    pub addr: Multiaddr,
    pub heard: Heard,
    bridge: ActorRef<BridgeMsg>,
    gate: ActorRef<Validate>,
    recorder: ActorRef<NetworkEvent>,
    loop_task: JoinHandle<()>,
}

impl GatedNode {
    /// Starts a gated node whose bans last `ban`.
    pub async fn start(chain: Arc<TestChain>, ban: Duration) -> GatedNode {
        let mut config = local_config(Keypair::generate_ed25519(), vec![]);
        config.bans.ban_duration = ban;
        let mut registry = prometheus_client::registry::Registry::default();
        let (client, events, event_loop) = autonet_p2p::new(config, &mut registry).unwrap();
        let loop_task = tokio::spawn(event_loop.run());
        let addr = client.listen_addrs().await.unwrap().remove(0);
        let (gate, _) = Actor::spawn(
            None,
            Gate::<TestChain>::default(),
            GateArgs { chain, inbox: None },
        )
        .await
        .unwrap();
        let (bridge, _) = Actor::spawn(
            None,
            NetworkBridge,
            BridgeArgs {
                client: client.clone(),
                events: Arc::new(tokio::sync::Mutex::new(events)),
                validator: Some(gate.clone()),
            },
        )
        .await
        .unwrap();
        let heard = Heard::default();
        let (recorder, _) = Actor::spawn(None, Recorder, heard.clone()).await.unwrap();
        bridge.cast(BridgeMsg::Subscribe(recorder.clone())).unwrap();
        GatedNode {
            client,
            addr,
            heard,
            bridge,
            gate,
            recorder,
            loop_task,
        }
    }

    pub async fn status(&self) -> Status {
        self.client.status().await.unwrap()
    }

    /// True when a message with this body was handed to the subscribers.
    pub fn heard(&self, body: &[u8]) -> bool {
        self.heard.lock().unwrap().iter().any(|(_, b)| b == body)
    }

    pub fn heard_from(&self, author: PeerId) -> usize {
        self.heard
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _)| *a == Some(author))
            .count()
    }

    /// Waits until `peers` connected peers are subscribed to `tasks`.
    pub async fn wait_for_subscribers(&self, peers: usize) {
        let ok = poll_until(DEADLINE, POLL, || async {
            let s = self.status().await;
            let t = s
                .topics
                .iter()
                .find(|t| t.name == GossipTopic::Tasks.name())?;
            (t.subscribed_peers >= peers).then_some(())
        })
        .await;
        assert!(ok.is_some(), "{peers} peers never subscribed to tasks");
    }

    pub async fn is_banned(&self, peer: PeerId) -> bool {
        let id = peer.to_string();
        self.status().await.bans.iter().any(|b| b.peer == id)
    }

    pub async fn stop(self) {
        self.bridge.stop(None);
        self.gate.stop(None);
        self.recorder.stop(None);
        let _ = self.client.shutdown().await;
        self.loop_task.abort();
        let _ = self.loop_task.await;
    }
}

/// A task announcement whose task id is `n`.
pub fn announcement(n: u64) -> Vec<u8> {
    let mut task_id = [0u8; 32];
    task_id[24..].copy_from_slice(&n.to_be_bytes());
    encode(&TaskAnnouncement {
        version: WIRE_VERSION,
        task_id,
        spec: vec![7; 16],
    })
}

/// Publishes `body` on `tasks` from `peer`, retrying until the overlay takes it (it refuses
/// while no subscribed peer is known).
pub async fn publish(peer: &Peer, body: Vec<u8>) {
    let ok = poll_until(DEADLINE, POLL, || {
        let body = body.clone();
        async move {
            peer.client
                .publish(GossipTopic::Tasks, body)
                .await
                .ok()
                .map(|_| ())
        }
    })
    .await;
    assert!(ok.is_some(), "could not publish");
}

/// A gossip peer with `keypair` that dials `node`.
pub async fn gossip_peer(
    keypair: Keypair,
    node: &GatedNode,
    validator: autonet_p2p::testnet::Validator,
) -> Peer {
    Peer::start(local_config(keypair, vec![node.addr.clone()]), validator)
        .await
        .unwrap()
}
