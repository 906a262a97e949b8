//! The gossip gate of a peer: its router of gossip to the role.
//!
//! [`Gate`] is the bridge's validator: a message is accepted only when its author's PeerId is
//! bound on chain (RPB registration, both keys signed, the PeerId key's Ed25519 signature
//! verified off chain by [`ProtocolView::peer_owner`]) to an address staked in the role that may
//! send it — proposers on `tasks`, aggregators on `models` — and its body decodes. A message
//! from an unbound, unstaked or wrongly staked author is rejected (a peer-score penalty; two
//! get a peer banned) when the author sent it to us itself; relayed, it is only ignored, since
//! an honest relay may have judged it on a chain view a block older or newer than ours.
//! Malformed bodies are rejected. Answers, positive and negative, are cached in a bounded
//! [`BindingCache`] for [`BINDING_TTL_BLOCKS`] blocks, and forgotten earlier when a block
//! carries a registration or stake event of the PeerId or account. Each message is decoded once,
//! here: an accepted announcement is filed in the peer's [`Inbox`] and the role actor is woken.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes};
use autonet_contracts::{BindingChange, ChainError, ProtocolView, Role};
use autonet_p2p::{GossipTopic, InboundMessage, MessageAcceptance, PeerId};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::inbox::Inbox;
use crate::bridge::Validate;
use crate::protocol::trace::SignedTrace;
use crate::protocol::wire::{MAX_ANNOUNCEMENT_BYTES, ModelAnnouncement, TaskAnnouncement, decode};

/// How many blocks a cached binding (or the absence of one) is trusted without an event.
pub const BINDING_TTL_BLOCKS: u64 = 8;
/// Most authors the gate remembers.
pub const BINDING_CACHE_CAPACITY: usize = 4096;
/// How often (at most) the gate reads the block number and the binding events since.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// The validator actor.
#[derive(Debug)]
pub struct Gate<C>(std::marker::PhantomData<fn() -> C>);

impl<C> Default for Gate<C> {
    fn default() -> Self {
        Gate(std::marker::PhantomData)
    }
}

/// What the chain said about an author: its address and staked role, or nothing (unbound,
/// unstaked or unbonding).
pub type Binding = Option<(Address, u8)>;

/// A bounded cache of authors' bindings, negative answers included, each valid until a block.
#[derive(Debug)]
pub struct BindingCache {
    entries: BTreeMap<PeerId, (Binding, u64)>,
    /// (expiry block, author), to evict the entry closest to expiry when full.
    by_expiry: BTreeSet<(u64, PeerId)>,
    capacity: usize,
}

impl BindingCache {
    /// An empty cache of at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: BTreeMap::new(),
            by_expiry: BTreeSet::new(),
            capacity: capacity.max(1),
        }
    }

    /// The cached answer for `peer` at block `now`, if still valid.
    pub fn get(&mut self, peer: &PeerId, now: u64) -> Option<Binding> {
        let (binding, expires) = *self.entries.get(peer)?;
        if expires > now {
            return Some(binding);
        }
        self.remove(peer);
        None
    }

    /// Caches `binding` for `peer`, read at block `now`; evicts the entry nearest expiry when
    /// full.
    pub fn insert(&mut self, peer: PeerId, binding: Binding, now: u64) {
        self.remove(&peer);
        while self.entries.len() >= self.capacity {
            let Some(first) = self.by_expiry.pop_first() else {
                break;
            };
            self.entries.remove(&first.1);
        }
        let expires = now.saturating_add(BINDING_TTL_BLOCKS);
        self.entries.insert(peer, (binding, expires));
        self.by_expiry.insert((expires, peer));
    }

    /// Forgets `peer`'s cached answer.
    pub fn remove(&mut self, peer: &PeerId) {
        if let Some((_, expires)) = self.entries.remove(peer) {
            self.by_expiry.remove(&(expires, *peer));
        }
    }

    /// Forgets every author bound to `account`.
    pub fn forget_account(&mut self, account: Address) {
        let peers: Vec<PeerId> = self
            .entries
            .iter()
            .filter(|(_, (b, _))| b.is_some_and(|(a, _)| a == account))
            .map(|(p, _)| *p)
            .collect();
        for p in peers {
            self.remove(&p);
        }
    }

    /// Forgets every cached answer (the binding events could not be read, or the chain went
    /// back).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.by_expiry.clear();
    }

    /// Cached answers, expired ones not yet evicted included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The gate's state: the chain, the cached bindings and the block they were checked at.
#[derive(Debug)]
pub struct GateState<C> {
    chain: Arc<C>,
    /// Where accepted announcements go (none: the gate only judges).
    inbox: Option<Inbox>,
    cache: BindingCache,
    /// The newest block whose binding events were applied to the cache.
    block: Option<u64>,
    synced_at: Option<Instant>,
}

impl<C> GateState<C> {
    /// A gate state reading `chain`, with an empty cache and no inbox.
    pub fn new(chain: Arc<C>) -> Self {
        Self {
            chain,
            inbox: None,
            cache: BindingCache::new(BINDING_CACHE_CAPACITY),
            block: None,
            synced_at: None,
        }
    }
}

/// The on-chain role a message on `topic` must come from (None: any staked role; agents run
/// on peers of every role, and their traces are judged by content).
pub fn sender_role(topic: GossipTopic) -> Option<Role> {
    match topic {
        GossipTopic::Tasks => Some(Role::Proposer),
        GossipTopic::Models => Some(Role::Aggregator),
        GossipTopic::Traces => None,
    }
}

/// What a gate starts with.
#[derive(Debug)]
pub struct GateArgs<C> {
    /// Where bindings and stakes are read.
    pub chain: Arc<C>,
    /// Where accepted announcements are filed (none: the gate only judges).
    pub inbox: Option<Inbox>,
}

impl<C: ProtocolView + 'static> Actor for Gate<C> {
    type Msg = Validate;
    type State = GateState<C>;
    type Arguments = GateArgs<C>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Validate>,
        args: GateArgs<C>,
    ) -> Result<GateState<C>, ActorProcessingErr> {
        let mut state = GateState::new(args.chain);
        state.inbox = args.inbox;
        Ok(state)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Validate>,
        Validate(m, reply): Validate,
        state: &mut GateState<C>,
    ) -> Result<(), ActorProcessingErr> {
        let verdict = judge(state, &m).await;
        let _ = reply.send(verdict);
        Ok(())
    }
}

/// Brings the cache up to the chain's head (at most every [`SYNC_INTERVAL`]): entries of PeerIds
/// and accounts named by registration or stake events since the last sync are forgotten.
async fn sync<C: ProtocolView>(state: &mut GateState<C>) {
    if state.synced_at.is_some_and(|t| t.elapsed() < SYNC_INTERVAL) {
        return;
    }
    let Ok(head) = state.chain.block_number().await else {
        return;
    };
    state.synced_at = Some(Instant::now());
    match state.block {
        Some(b) if head > b => match state.chain.binding_changes(b + 1, head).await {
            Ok(changes) => {
                for change in changes {
                    match change {
                        BindingChange::Peer(bytes) => {
                            if let Ok(peer) = PeerId::from_bytes(&bytes) {
                                state.cache.remove(&peer);
                            }
                        }
                        BindingChange::Account(a) => state.cache.forget_account(a),
                    }
                }
            }
            Err(_) => state.cache.clear(),
        },
        Some(b) if head < b => state.cache.clear(), // a reorg or a restarted chain
        _ => {}
    }
    state.block = Some(head);
}

async fn judge<C: ProtocolView>(state: &mut GateState<C>, m: &InboundMessage) -> MessageAcceptance {
    let Some(author) = m.author else {
        return MessageAcceptance::Ignore;
    };
    let role = sender_role(m.topic);
    // The author answers for its own messages; a relay only loses the message.
    let offence = if m.propagation_source == author {
        MessageAcceptance::Reject
    } else {
        MessageAcceptance::Ignore
    };
    sync(state).await;
    let now = state.block.unwrap_or(0);
    let binding = match state.cache.get(&author, now) {
        Some(b) => b,
        None => match lookup(&*state.chain, author).await {
            Ok(b) => {
                state.cache.insert(author, b, now);
                b
            }
            // The chain did not answer: no verdict on the author, and nothing cached.
            Err(_) => return MessageAcceptance::Ignore,
        },
    };
    let Some((_, staked_as)) = binding else {
        return offence;
    };
    if role.is_some_and(|role| staked_as != role as u8) {
        return offence;
    }
    let Some(announcement) = Announcement::decode(m.topic, &m.body) else {
        return MessageAcceptance::Reject;
    };
    // A trace is signed by the peer that ran it: only that peer may publish it.
    if let Announcement::Trace(t) = &announcement
        && t.trace.peer != author.to_base58()
    {
        return offence;
    }
    if let Some(inbox) = &state.inbox {
        announcement.file(inbox);
    }
    MessageAcceptance::Accept
}

/// A gossip body, decoded once by the gate.
#[derive(Debug)]
enum Announcement {
    Task(TaskAnnouncement),
    Model(ModelAnnouncement),
    Trace(Box<SignedTrace>),
}

impl Announcement {
    fn decode(topic: GossipTopic, body: &[u8]) -> Option<Self> {
        match topic {
            GossipTopic::Tasks => decode("task announcement", body, MAX_ANNOUNCEMENT_BYTES)
                .ok()
                .map(Announcement::Task),
            GossipTopic::Models => decode("model announcement", body, MAX_ANNOUNCEMENT_BYTES)
                .ok()
                .map(Announcement::Model),
            // Size, shape, content id and signature, checked before anything reads it.
            GossipTopic::Traces => SignedTrace::decode(body)
                .ok()
                .map(|t| Announcement::Trace(Box::new(t))),
        }
    }

    /// Files the announcement and wakes the role. A store that fails to take it loses only
    /// this copy: the message is still relayed, and roles fetch specs by id from providers.
    fn file(self, inbox: &Inbox) {
        let filed = match &self {
            Announcement::Task(a) => inbox.file_spec(a).map(|()| true),
            Announcement::Model(a) => inbox.file_model(a),
            // Proposers read the pool when they build a task; nothing to wake.
            Announcement::Trace(t) => inbox.file_trace(t).map(|_| false),
        };
        match filed {
            Ok(true) => inbox.wake(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "an accepted announcement could not be filed"),
        }
    }
}

/// The address `peer` is bound to (a claim whose Ed25519 signature verifies) and its staked
/// role, if bound and actively staked; `Ok(None)` if not.
pub async fn lookup<C: ProtocolView>(chain: &C, peer: PeerId) -> Result<Binding, ChainError> {
    let owner = chain.peer_owner(Bytes::from(peer.to_bytes())).await?;
    if owner.is_zero() {
        return Ok(None);
    }
    let stake = chain.stake_of(owner).await?;
    Ok((!stake.amount.is_zero() && stake.unlock_block == 0).then_some((owner, stake.role)))
}

#[cfg(test)]
mod tests {
    use autonet_contracts::Chain;
    use autonet_p2p::{Keypair, MessageId};

    use super::*;
    use crate::protocol::wire::{WIRE_VERSION, encode};
    use crate::testing::{chain_with_bound_proposer, chain_with_proposer, squat};

    fn msg(
        topic: GossipTopic,
        author: Option<PeerId>,
        source: PeerId,
        body: &[u8],
    ) -> InboundMessage {
        InboundMessage {
            id: MessageId::new(body),
            topic,
            author,
            propagation_source: source,
            body: body.to_vec(),
            sent_at_micros: 0,
        }
    }

    fn task_body() -> Vec<u8> {
        encode(&TaskAnnouncement {
            version: WIRE_VERSION,
            task_id: [0; 32],
            spec: vec![1, 2, 3],
        })
    }

    #[tokio::test]
    async fn only_peers_bound_to_a_staked_sender_role_are_heard() {
        let bound = Keypair::generate_ed25519();
        let stranger = Keypair::generate_ed25519();
        let (chain, _) = chain_with_bound_proposer(4, &bound).await.unwrap();
        let mut state = GateState::new(Arc::new(chain));
        let body = task_body();
        let (b, s) = (bound.public().to_peer_id(), stranger.public().to_peer_id());
        let relay = Keypair::generate_ed25519().public().to_peer_id();
        let t = GossipTopic::Tasks;
        assert_eq!(
            judge(&mut state, &msg(t, Some(b), b, &body)).await,
            MessageAcceptance::Accept
        );
        // An unbound author is penalized when it sent the message itself, not its relay.
        assert_eq!(
            judge(&mut state, &msg(t, Some(s), s, &body)).await,
            MessageAcceptance::Reject
        );
        assert_eq!(
            judge(&mut state, &msg(t, Some(s), relay, &body)).await,
            MessageAcceptance::Ignore
        );
        assert_eq!(
            judge(&mut state, &msg(t, None, relay, &body)).await,
            MessageAcceptance::Ignore
        );
        // A proposer may not announce models; a bound proposer's garbage is rejected.
        let models = GossipTopic::Models;
        assert_eq!(
            judge(&mut state, &msg(models, Some(b), b, &body)).await,
            MessageAcceptance::Reject
        );
        assert_eq!(
            judge(&mut state, &msg(t, Some(b), b, b"junk")).await,
            MessageAcceptance::Reject
        );
        // Both answers are cached, the negative one too.
        assert_eq!(state.cache.len(), 2);
    }

    /// A squatter staked as proposer claims another peer's PeerId: the claim's Ed25519
    /// signature does not verify, so the gate does not attribute that peer's messages to the
    /// squatter's stake.
    #[tokio::test]
    async fn a_squatted_peer_id_is_not_attributed_to_the_squatter() {
        let (chain, signers) = chain_with_proposer(3).await.unwrap();
        let victim = Keypair::generate_ed25519().public().to_peer_id();
        squat(&chain, &signers[1], victim).await.unwrap();
        let peer = Bytes::from(victim.to_bytes());
        assert_eq!(chain.peer_claims(peer.clone()).await.unwrap().len(), 1);
        assert_eq!(chain.peer_owner(peer).await.unwrap(), Address::ZERO);
        let mut state = GateState::new(Arc::new(chain));
        let body = task_body();
        assert_eq!(
            judge(
                &mut state,
                &msg(GossipTopic::Tasks, Some(victim), victim, &body)
            )
            .await,
            MessageAcceptance::Reject
        );
    }

    /// A cached binding follows stake events: once its proposer starts unbonding, a bound
    /// peer is no longer heard, without waiting for the entry to expire.
    #[tokio::test]
    async fn cached_bindings_follow_stake_events() {
        let key = Keypair::generate_ed25519();
        let (chain, signers) = chain_with_bound_proposer(3, &key).await.unwrap();
        let proposer = &signers[1];
        let chain = Arc::new(chain);
        let mut state = GateState::new(chain.clone());
        let p = key.public().to_peer_id();
        let body = task_body();
        let t = GossipTopic::Tasks;
        assert_eq!(
            judge(&mut state, &msg(t, Some(p), p, &body)).await,
            MessageAcceptance::Accept
        );
        chain.request_unstake(proposer.address()).await.unwrap();
        state.synced_at = None; // the next message syncs at once
        assert_eq!(
            judge(&mut state, &msg(t, Some(p), p, &body)).await,
            MessageAcceptance::Reject
        );
    }

    #[test]
    fn the_binding_cache_is_bounded_and_expires() {
        let mut cache = BindingCache::new(3);
        let peers: Vec<PeerId> = (0..4)
            .map(|_| Keypair::generate_ed25519().public().to_peer_id())
            .collect();
        let a = Address::repeat_byte(1);
        cache.insert(peers[0], Some((a, 1)), 10);
        cache.insert(peers[1], None, 11);
        cache.insert(peers[2], None, 12);
        cache.insert(peers[3], None, 13);
        assert_eq!(cache.len(), 3);
        // The entry nearest expiry went first.
        assert_eq!(cache.get(&peers[0], 13), None);
        assert_eq!(cache.get(&peers[1], 13), Some(None));
        assert_eq!(cache.get(&peers[1], 11 + BINDING_TTL_BLOCKS), None);
        cache.insert(peers[0], Some((a, 1)), 13);
        cache.forget_account(a);
        assert_eq!(cache.get(&peers[0], 13), None);
        assert_eq!(cache.len(), 2);
    }
}
