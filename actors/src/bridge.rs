//! The network bridge: turns overlay events into actor messages and actor requests into overlay
//! calls.
//!
//! The bridge owns the receiving end of the overlay's event channel (shared behind a mutex so a
//! restarted bridge picks it up again). Its reader task drains that channel at once, so a flood
//! never fills it: other events go to the subscribers, and gossip messages wait for a verdict
//! in one of two bounded lanes ([`Admission`]): authors the validator accepted before go to the
//! known lane, everyone else to the unknown lane, at most [`UNKNOWN_BURST`] messages at once and
//! [`UNKNOWN_PER_SECOND`] a second per forwarding peer. A peer over that rate loses the message
//! and a [`autonet_p2p::PeerAction::Flooded`] penalty (repeat offenders get banned); a full lane drops its oldest
//! message. The validator task takes the known lane first, asks the validator actor (with a
//! timeout; no answer means `Ignore`) or, without one, accepts every well-formed envelope,
//! reports the verdict to the overlay, and hands accepted messages to the subscribers. So
//! honest authors keep being heard while unknown ones flood.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use autonet_p2p::{Client, GossipTopic, InboundMessage, MessageAcceptance, NetworkEvent, PeerId};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::{Mutex, Notify, mpsc};
use tokio::task::JoinHandle;

/// How long the validator may take before a message is ignored.
pub const VALIDATION_TIMEOUT: Duration = Duration::from_secs(2);
/// Messages of known authors waiting for a verdict, at most.
pub const KNOWN_LANE: usize = 1024;
/// Messages of other authors waiting for a verdict, at most.
pub const UNKNOWN_LANE: usize = 256;
/// Messages of unknown authors one forwarding peer may have admitted at once…
pub const UNKNOWN_BURST: f64 = 32.0;
/// …and per second after that.
pub const UNKNOWN_PER_SECOND: f64 = 16.0;
/// Known authors and rate buckets remembered, at most.
pub const ADMISSION_PEERS: usize = 4096;

/// A validator actor's request: judge this message.
#[derive(Debug)]
pub struct Validate(pub InboundMessage, pub RpcReplyPort<MessageAcceptance>);

/// Messages the bridge handles.
#[derive(Debug)]
pub enum BridgeMsg {
    /// An event from the overlay for the subscribers (sent by the bridge's own tasks; gossip
    /// messages only once accepted).
    Network(NetworkEvent),
    /// Publish on a topic.
    Publish(GossipTopic, Vec<u8>, RpcReplyPort<Result<(), String>>),
    /// Add a subscriber for overlay events.
    Subscribe(ActorRef<NetworkEvent>),
}

/// What the bridge starts with.
#[derive(Debug)]
pub struct BridgeArgs {
    /// The overlay client: verdicts are reported and messages published through it.
    pub client: Client,
    /// The overlay's event channel, shared so a restarted bridge takes it over again.
    pub events: Arc<Mutex<mpsc::Receiver<NetworkEvent>>>,
    /// The actor that judges gossip messages; `None` accepts every well-formed envelope.
    pub validator: Option<ActorRef<Validate>>,
}

/// The bridge actor.
#[derive(Debug, Default)]
pub struct NetworkBridge;

/// Aborts a task when the bridge's state is dropped (stop, failure or panic).
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The bridge's state.
#[derive(Debug)]
pub struct BridgeState {
    client: Client,
    subscribers: Vec<ActorRef<NetworkEvent>>,
    _reader: AbortOnDrop,
    _validator: AbortOnDrop,
}

/// A token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Why a message left the lanes without a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Its forwarding peer was over the unknown-author rate (penalized).
    Throttled,
    /// Its lane was full; the oldest message went.
    Overflow,
}

/// The two bounded lanes in front of the validator, with per-peer rate limits for unknown
/// authors.
#[derive(Debug, Default)]
pub struct Admission {
    known: VecDeque<InboundMessage>,
    unknown: VecDeque<InboundMessage>,
    /// Authors whose last judged message was accepted.
    known_authors: HashMap<PeerId, Instant>,
    /// Per forwarding peer, for messages of unknown authors.
    buckets: HashMap<PeerId, Bucket>,
}

impl Admission {
    /// Queues `m`; returns the messages that left without a verdict (maybe `m` itself).
    pub fn admit(&mut self, m: InboundMessage, now: Instant) -> Vec<(InboundMessage, Dropped)> {
        if m.author
            .is_some_and(|a| self.known_authors.contains_key(&a))
        {
            self.known.push_back(m);
            return overflow(&mut self.known, KNOWN_LANE);
        }
        if !self.take_token(m.propagation_source, now) {
            return vec![(m, Dropped::Throttled)];
        }
        self.unknown.push_back(m);
        overflow(&mut self.unknown, UNKNOWN_LANE)
    }

    /// The next message to judge: known authors first.
    pub fn take_next(&mut self) -> Option<InboundMessage> {
        self.known.pop_front().or_else(|| self.unknown.pop_front())
    }

    /// Records the validator's verdict on a message of `author`: accepted, it is known;
    /// rejected, it is not; ignored (say, a topic the validator does not judge) changes nothing.
    pub fn learn(&mut self, author: PeerId, verdict: MessageAcceptance, now: Instant) {
        match verdict {
            MessageAcceptance::Accept => {}
            MessageAcceptance::Reject => {
                self.known_authors.remove(&author);
                return;
            }
            MessageAcceptance::Ignore => return,
        }
        if self.known_authors.len() >= ADMISSION_PEERS && !self.known_authors.contains_key(&author)
        {
            // Forget the author heard from longest ago.
            if let Some(oldest) = self
                .known_authors
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(p, _)| *p)
            {
                self.known_authors.remove(&oldest);
            }
        }
        self.known_authors.insert(author, now);
    }

    /// Messages waiting, per lane (known, unknown).
    pub fn waiting(&self) -> (usize, usize) {
        (self.known.len(), self.unknown.len())
    }

    fn take_token(&mut self, peer: PeerId, now: Instant) -> bool {
        if self.buckets.len() >= ADMISSION_PEERS && !self.buckets.contains_key(&peer) {
            // Buckets that refilled completely carry no information.
            self.buckets.retain(|_, b| refill(*b, now) < UNKNOWN_BURST);
            if self.buckets.len() >= ADMISSION_PEERS {
                return false;
            }
        }
        let bucket = self.buckets.entry(peer).or_insert(Bucket {
            tokens: UNKNOWN_BURST,
            at: now,
        });
        bucket.tokens = refill(*bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn refill(b: Bucket, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    (b.tokens + elapsed * UNKNOWN_PER_SECOND).min(UNKNOWN_BURST)
}

fn overflow(lane: &mut VecDeque<InboundMessage>, cap: usize) -> Vec<(InboundMessage, Dropped)> {
    let mut out = Vec::new();
    while lane.len() > cap {
        if let Some(m) = lane.pop_front() {
            out.push((m, Dropped::Overflow));
        }
    }
    out
}

/// The lanes shared by the reader and the validator task.
#[derive(Debug, Default)]
struct Lanes {
    admission: std::sync::Mutex<Admission>,
    ready: Notify,
}

impl Lanes {
    fn with<T>(&self, f: impl FnOnce(&mut Admission) -> T) -> T {
        let mut guard = match self.admission.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }
}

impl Actor for NetworkBridge {
    type Msg = BridgeMsg;
    type State = BridgeState;
    type Arguments = BridgeArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<BridgeMsg>,
        args: BridgeArgs,
    ) -> Result<BridgeState, ActorProcessingErr> {
        let lanes = Arc::new(Lanes::default());
        let reader = tokio::spawn(read_events(
            args.events.clone(),
            args.client.clone(),
            lanes.clone(),
            myself.clone(),
        ));
        let validator = tokio::spawn(validate_messages(
            lanes,
            args.client.clone(),
            args.validator,
            myself,
        ));
        Ok(BridgeState {
            client: args.client,
            subscribers: Vec::new(),
            _reader: AbortOnDrop(reader),
            _validator: AbortOnDrop(validator),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<BridgeMsg>,
        message: BridgeMsg,
        state: &mut BridgeState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            BridgeMsg::Network(event) => {
                state.subscribers.retain(|s| s.cast(event.clone()).is_ok());
            }
            BridgeMsg::Publish(topic, body, reply) => {
                let result = state.client.publish(topic, body).await;
                let _ = reply.send(result.map(|_| ()).map_err(|e| e.to_string()));
            }
            BridgeMsg::Subscribe(subscriber) => state.subscribers.push(subscriber),
        }
        Ok(())
    }
}

/// Drains the overlay's events: gossip into the lanes, the rest to the subscribers.
async fn read_events(
    events: Arc<Mutex<mpsc::Receiver<NetworkEvent>>>,
    client: Client,
    lanes: Arc<Lanes>,
    bridge: ActorRef<BridgeMsg>,
) {
    let mut events = events.lock().await;
    while let Some(event) = events.recv().await {
        let NetworkEvent::Message(m) = event else {
            if bridge.cast(BridgeMsg::Network(event)).is_err() {
                break;
            }
            continue;
        };
        let dropped = lanes.with(|a| a.admit(m, Instant::now()));
        lanes.ready.notify_one();
        for (m, why) in dropped {
            if why == Dropped::Throttled {
                let _ = client
                    .penalize(m.propagation_source, autonet_p2p::PeerAction::Flooded)
                    .await;
            }
            let _ = client
                .report_validation(m.id, m.propagation_source, MessageAcceptance::Ignore)
                .await;
        }
    }
}

/// Judges the lanes' messages one by one, known authors first.
async fn validate_messages(
    lanes: Arc<Lanes>,
    client: Client,
    validator: Option<ActorRef<Validate>>,
    bridge: ActorRef<BridgeMsg>,
) {
    loop {
        let Some(m) = lanes.with(Admission::take_next) else {
            lanes.ready.notified().await;
            continue;
        };
        let acceptance = judge(validator.as_ref(), m.clone()).await;
        let accepted = matches!(acceptance, MessageAcceptance::Accept);
        if let Some(author) = m.author {
            lanes.with(|a| a.learn(author, acceptance, Instant::now()));
        }
        if client
            .report_validation(m.id.clone(), m.propagation_source, acceptance)
            .await
            .is_err()
        {
            break;
        }
        if accepted
            && bridge
                .cast(BridgeMsg::Network(NetworkEvent::Message(m)))
                .is_err()
        {
            break;
        }
    }
}

async fn judge(
    validator: Option<&ActorRef<Validate>>,
    message: InboundMessage,
) -> MessageAcceptance {
    let Some(validator) = validator else {
        return MessageAcceptance::Accept;
    };
    match validator
        .call(|reply| Validate(message, reply), Some(VALIDATION_TIMEOUT))
        .await
    {
        Ok(ractor::rpc::CallResult::Success(acceptance)) => acceptance,
        _ => MessageAcceptance::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use autonet_p2p::{Keypair, MessageId};

    use super::*;

    fn msg(n: u32, author: PeerId, source: PeerId) -> InboundMessage {
        InboundMessage {
            id: MessageId::new(&n.to_be_bytes()),
            topic: GossipTopic::Tasks,
            author: Some(author),
            propagation_source: source,
            body: n.to_be_bytes().to_vec(),
            sent_at_micros: 0,
        }
    }

    fn peer() -> PeerId {
        Keypair::generate_ed25519().public().to_peer_id()
    }

    /// A flood from one unknown peer is throttled past its burst and cannot push a known
    /// author's message out or ahead of it.
    #[test]
    fn known_authors_pass_a_flood_of_unknown_ones() {
        let mut a = Admission::default();
        let now = Instant::now();
        let (honest, flooder) = (peer(), peer());
        a.learn(honest, MessageAcceptance::Accept, now);
        let mut throttled = 0;
        for n in 0..1000 {
            for (_, why) in a.admit(msg(n, flooder, flooder), now) {
                assert_eq!(why, Dropped::Throttled);
                throttled += 1;
            }
        }
        assert_eq!(throttled, 1000 - UNKNOWN_BURST as usize);
        assert!(a.admit(msg(5000, honest, flooder), now).is_empty());
        assert_eq!(a.take_next().unwrap().author, Some(honest));
        assert_eq!(a.waiting(), (0, UNKNOWN_BURST as usize));
        // Tokens come back with time.
        let later = now + Duration::from_secs(1);
        assert!(a.admit(msg(6000, flooder, flooder), later).is_empty());
    }

    /// Many unknown forwarders fill the unknown lane, which keeps its newest messages; a
    /// rejected author is no longer known.
    #[test]
    fn the_unknown_lane_is_bounded_and_drops_its_oldest() {
        let mut a = Admission::default();
        let now = Instant::now();
        let mut overflowed = Vec::new();
        for n in 0..(UNKNOWN_LANE as u32 + 10) {
            let p = peer();
            overflowed.extend(a.admit(msg(n, p, p), now));
        }
        assert_eq!(overflowed.len(), 10);
        assert!(overflowed.iter().all(|(_, why)| *why == Dropped::Overflow));
        assert_eq!(overflowed[0].0.body, 0u32.to_be_bytes());
        assert_eq!(a.waiting(), (0, UNKNOWN_LANE));
        let author = peer();
        a.learn(author, MessageAcceptance::Accept, now);
        a.learn(author, MessageAcceptance::Ignore, now);
        assert!(a.known_authors.contains_key(&author));
        a.learn(author, MessageAcceptance::Reject, now);
        assert!(!a.known_authors.contains_key(&author));
    }
}
