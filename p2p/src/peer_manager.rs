//! Keeps a node's connection count near a target.
//!
//! Why this exists: gossipsub holds a long-lived stream open on every connection to a subscribed
//! peer, so such a connection never goes idle and the swarm's idle timeout never closes it. Every
//! Kademlia lookup connects to the peers it asks, so without pruning a node ends up connected to
//! every peer it ever met: in a 100-peer network each node held ~100 connections, and the idle
//! network (heartbeats scoring every peer, IHAVE to a quarter of the non-mesh peers, flood
//! publishing to all of them, pings, yamux) kept both cores of the test machine busy.
//!
//! The policy (like Lighthouse's peer manager and go-libp2p's connection manager): once the
//! connection count exceeds [`PeerTargets::high_watermark`], disconnect peers down to
//! [`PeerTargets::target`]. Peers connected or used by a request within the grace period are
//! never pruned (a dial the application just made, a transfer in progress). Among the rest, the
//! peers in the fewest gossipsub meshes go first (gossipsub re-grafts its meshes from the peers
//! that stay), then the connections this node dialed itself (its own lookups; an inbound
//! connection may be a node below its target dialing back up, which pruning it would undo), then
//! the lowest scores, then a per-node pseudo-random order (a global order such
//! as the peer id would make every node drop the same peers and cut them off). Since other nodes
//! prune too, a node below [`PeerTargets::low_watermark`] dials peers from its Kademlia routing
//! table back up towards the target. The choices are pure ([`peers_to_prune`],
//! [`peers_to_dial`]) and unit-tested; the event loop feeds them the swarm's state on its
//! periodic check.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::request_response;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};

use crate::EventLoop;

/// The default connection target (well above gossipsub's D_high = 12 per topic; Lighthouse
/// targets 100 peers, but it spreads them over 64 attestation subnets, and autonet's two topics
/// are subscribed by every peer). A publisher floods its message to every connected peer, so
/// the target sets how many peers a message reaches in its first hop: in the 100-peer gossip
/// bench with CPU to spare (`--time-dilation 8`), 24 left 1–2% of deliveries at a fourth hop
/// (p99 4.2 hops) and 32 brought p99 to 3.4 (BENCHMARKS.md).
pub const DEFAULT_TARGET_PEERS: u16 = 32;

/// Connection-count targets of one node.
#[derive(Debug, Clone)]
pub struct PeerTargets {
    /// Below this many connections, dial known peers up to the target.
    pub low_watermark: usize,
    /// Connections kept after pruning.
    pub target: usize,
    /// Pruning starts above this many connections (the slack avoids dropping a peer on every
    /// Kademlia lookup).
    pub high_watermark: usize,
    /// A peer connected, or used by a request, less than this long ago is not pruned.
    pub grace: Duration,
}

impl Default for PeerTargets {
    fn default() -> Self {
        Self::around(usize::from(DEFAULT_TARGET_PEERS))
    }
}

impl PeerTargets {
    /// Targets around `target` connections: dial below three quarters of it, prune above a third
    /// more than it (32 gives the defaults 24 / 32 / 43).
    ///
    /// Why dial that early: pruning is not coordinated, so a node's peers may prune it from
    /// several sides at once. With the dial threshold at half the target, a 100-peer network
    /// settled at 6 to 58 connections per node, and a message published by a node with 6
    /// connections reaches few peers in its first hop (flood publishing), which put 1–5% of
    /// deliveries at a fourth hop (`autonet bench gossip`, BENCHMARKS.md).
    pub fn around(target: usize) -> Self {
        let target = target.max(1);
        Self {
            low_watermark: target - target / 4,
            target,
            high_watermark: target + target.div_ceil(3),
            grace: Duration::from_secs(10),
        }
    }

    /// Whether `connected` connections call for pruning.
    pub fn over_high_watermark(&self, connected: usize) -> bool {
        connected > self.high_watermark.max(self.target)
    }
}

/// What the pruning decision needs to know about one connected peer.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectedPeer {
    /// The connected peer.
    pub peer: PeerId,
    /// Gossipsub meshes (topics) this peer is in.
    pub meshes: usize,
    /// Its gossipsub score (0 when unknown).
    pub score: f64,
    /// Connected or used by a request within the grace period.
    pub protected: bool,
    /// This node dialed the connection (a lookup, a transfer, or its own dial back up to the
    /// target); the other side dialed an inbound one.
    pub dialed_by_us: bool,
    /// Last sort key: a number this node derives from the peer id ([`tie_break`]).
    pub tie_break: u64,
}

/// A pseudo-random number for `peer` that differs from node to node (keyed by `local`).
pub fn tie_break(local: &PeerId, peer: &PeerId) -> u64 {
    crate::behaviour::hash_peers(&[local, peer])
}

/// Peers to dial when `connected` is below the low watermark: up to `max_per_check` of the
/// `known` (not connected, not banned) peers, in the order given (the caller shuffles it), so
/// that the count climbs back towards the target a few dials at a time.
pub fn peers_to_dial(
    connected: usize,
    known: &[PeerId],
    targets: &PeerTargets,
    max_per_check: usize,
) -> Vec<PeerId> {
    if connected >= targets.low_watermark {
        return Vec::new();
    }
    let wanted = targets.target.saturating_sub(connected).min(max_per_check);
    known.iter().take(wanted).copied().collect()
}

/// The peers to disconnect so that at most `targets.target` stay, or none while the count is
/// within the high watermark. Protected peers are never chosen, so fewer may be returned.
///
/// Peers in a gossipsub mesh go only while the unprotected peers alone exceed the target: the
/// young connections every DHT lookup opens must not push out the mesh peers (a mesh that keeps
/// losing members loses messages; a 50-peer test on test-speed walks did).
pub fn peers_to_prune(connected: &[ConnectedPeer], targets: &PeerTargets) -> Vec<PeerId> {
    if !targets.over_high_watermark(connected.len()) {
        return Vec::new();
    }
    let excess = connected.len() - targets.target;
    let mut candidates: Vec<&ConnectedPeer> = connected.iter().filter(|p| !p.protected).collect();
    let settled_excess = candidates.len().saturating_sub(targets.target);
    candidates.sort_by(|a, b| {
        a.meshes
            .cmp(&b.meshes)
            .then(b.dialed_by_us.cmp(&a.dialed_by_us))
            .then(a.score.total_cmp(&b.score))
            .then(a.tie_break.cmp(&b.tie_break))
    });
    let mut pruned = Vec::new();
    for candidate in candidates {
        let limit = if candidate.meshes == 0 {
            excess
        } else {
            excess.min(settled_excess)
        };
        if pruned.len() >= limit {
            break;
        }
        pruned.push(candidate.peer);
    }
    pruned
}

/// When each connected peer was last connected or used by a request (the grace clock), and
/// which connections this node dialed.
#[derive(Debug, Default)]
pub struct PeerActivity {
    last_seen: HashMap<PeerId, Instant>,
    dialed: HashSet<PeerId>,
}

impl PeerActivity {
    /// Records a new connection to `peer`: its grace clock starts, and whether we dialed it.
    pub fn connected(&mut self, peer: PeerId, dialed_by_us: bool) {
        self.touch(peer);
        if dialed_by_us {
            self.dialed.insert(peer);
        } else {
            self.dialed.remove(&peer);
        }
    }

    /// Whether this node dialed its connection to `peer`.
    pub fn dialed_by_us(&self, peer: &PeerId) -> bool {
        self.dialed.contains(peer)
    }

    /// Records that `peer` connected or was used just now.
    pub fn touch(&mut self, peer: PeerId) {
        self.last_seen.insert(peer, Instant::now());
    }

    /// Forgets a peer that disconnected.
    pub fn forget(&mut self, peer: &PeerId) {
        self.last_seen.remove(peer);
        self.dialed.remove(peer);
    }

    /// Whether `peer` is within its grace period at `now`.
    pub fn is_recent(&self, peer: &PeerId, grace: Duration, now: Instant) -> bool {
        self.last_seen
            .get(peer)
            .is_some_and(|at| now.saturating_duration_since(*at) < grace)
    }
}

/// The peer a request-response event is about (used to restart its grace clock).
pub(crate) fn request_peer<Req, Resp>(event: &request_response::Event<Req, Resp>) -> PeerId {
    match event {
        request_response::Event::Message { peer, .. }
        | request_response::Event::OutboundFailure { peer, .. }
        | request_response::Event::InboundFailure { peer, .. }
        | request_response::Event::ResponseSent { peer, .. } => *peer,
    }
}

impl EventLoop {
    /// Prunes the excess peers [`peers_to_prune`] picks, or dials the peers [`peers_to_dial`]
    /// picks; runs on the periodic score check.
    pub(crate) fn manage_connections(&mut self) {
        let targets = &self.config.peers;
        let count = self.swarm.connected_peers().count();
        let local = *self.swarm.local_peer_id();
        if count < targets.low_watermark {
            let mut known: Vec<PeerId> = Vec::new();
            for bucket in self.swarm.behaviour_mut().kad.kbuckets() {
                known.extend(bucket.iter().map(|e| *e.node.key.preimage()));
            }
            known.retain(|p| !self.swarm.is_connected(p) && !self.bans.contains_key(p));
            known.sort_by_key(|p| tie_break(&local, p));
            for peer in peers_to_dial(count, &known, &self.config.peers, DIALS_PER_CHECK) {
                let opts = DialOpts::peer_id(peer)
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build();
                let _ = self.swarm.dial(opts);
            }
            return;
        }
        if !targets.over_high_watermark(count) {
            return;
        }
        let now = Instant::now();
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let mut meshes: HashMap<PeerId, usize> = HashMap::new();
        for topic in gossipsub.topics() {
            for peer in gossipsub.mesh_peers(topic) {
                *meshes.entry(*peer).or_default() += 1;
            }
        }
        let connected: Vec<ConnectedPeer> = self
            .swarm
            .connected_peers()
            .map(|peer| ConnectedPeer {
                peer: *peer,
                meshes: meshes.get(peer).copied().unwrap_or(0),
                score: gossipsub.peer_score(peer).unwrap_or(0.0),
                protected: self.activity.is_recent(peer, targets.grace, now),
                dialed_by_us: self.activity.dialed_by_us(peer),
                tie_break: tie_break(&local, peer),
            })
            .collect();
        let pruned = peers_to_prune(&connected, targets);
        tracing::debug!(
            connected = count,
            pruned = pruned.len(),
            "pruning excess connections"
        );
        for peer in pruned {
            let _ = self.swarm.disconnect_peer_id(peer);
            self.metrics.peers_pruned.inc();
        }
    }
}

/// Dials started per check (a second in production) while below the low watermark.
const DIALS_PER_CHECK: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(meshes: usize, score: f64, protected: bool) -> ConnectedPeer {
        let peer = PeerId::random();
        ConnectedPeer {
            peer,
            meshes,
            score,
            protected,
            dialed_by_us: false,
            tie_break: tie_break(&PeerId::random(), &peer),
        }
    }

    fn targets(target: usize, high_watermark: usize) -> PeerTargets {
        PeerTargets {
            low_watermark: target / 2,
            target,
            high_watermark,
            grace: Duration::from_secs(1),
        }
    }

    #[test]
    fn nothing_is_pruned_up_to_the_high_watermark() {
        let connected: Vec<_> = (0..8).map(|_| peer(0, 0.0, false)).collect();
        assert!(peers_to_prune(&connected, &targets(4, 8)).is_empty());
    }

    #[test]
    fn above_the_watermark_it_prunes_down_to_the_target_peers_in_fewest_meshes_first() {
        let mut connected: Vec<_> = (0..6).map(|i| peer(i % 3 + 1, 0.0, false)).collect();
        let outside = peer(0, 5.0, false);
        connected.push(outside.clone());
        let pruned = peers_to_prune(&connected, &targets(4, 5));
        assert_eq!(pruned.len(), 3);
        assert_eq!(pruned[0], outside.peer);
        let in_one_mesh: Vec<_> = connected
            .iter()
            .filter(|p| p.meshes == 1)
            .map(|p| p.peer)
            .collect();
        assert!(in_one_mesh.iter().all(|p| pruned.contains(p)));
    }

    #[test]
    fn among_equals_the_lowest_score_goes_first() {
        let connected = vec![
            peer(0, 1.0, false),
            peer(0, -3.0, false),
            peer(0, 2.0, false),
        ];
        let pruned = peers_to_prune(&connected, &targets(2, 2));
        assert_eq!(pruned, vec![connected[1].peer]);
    }

    #[test]
    fn among_equals_the_connections_we_dialed_go_before_inbound_ones() {
        let mut connected = vec![peer(0, -5.0, false), peer(0, 1.0, false)];
        connected[1].dialed_by_us = true;
        // The inbound peer has the lower score, yet the one we dialed goes first.
        let pruned = peers_to_prune(&connected, &targets(1, 1));
        assert_eq!(pruned, vec![connected[1].peer]);
    }

    #[test]
    fn activity_remembers_who_dialed_until_the_peer_is_forgotten() {
        let mut activity = PeerActivity::default();
        let (out, inbound) = (PeerId::random(), PeerId::random());
        activity.connected(out, true);
        activity.connected(inbound, false);
        assert!(activity.dialed_by_us(&out));
        assert!(!activity.dialed_by_us(&inbound));
        activity.forget(&out);
        assert!(!activity.dialed_by_us(&out));
    }

    #[test]
    fn young_connections_do_not_push_mesh_peers_out() {
        // 4 settled mesh peers, 1 settled peer outside any mesh, 6 young connections: the
        // count (11) is far above the target (4), but the settled peers alone exceed it by one,
        // so only the peer outside the meshes goes.
        let mut connected: Vec<_> = (0..4).map(|_| peer(2, 0.0, false)).collect();
        let outside = peer(0, 0.0, false);
        connected.push(outside.clone());
        connected.extend((0..6).map(|_| peer(0, 0.0, true)));
        assert_eq!(
            peers_to_prune(&connected, &targets(4, 6)),
            vec![outside.peer]
        );
        // With two more settled mesh peers, the settled excess is 3: one outsider, two members.
        connected.extend((0..2).map(|_| peer(1, 0.0, false)));
        let pruned = peers_to_prune(&connected, &targets(4, 6));
        assert_eq!(pruned.len(), 3);
        assert_eq!(pruned[0], outside.peer);
    }

    #[test]
    fn protected_peers_are_never_pruned_even_if_the_target_is_missed() {
        let mut connected: Vec<_> = (0..5).map(|_| peer(0, 0.0, true)).collect();
        let unprotected = peer(0, 9.0, false);
        connected.push(unprotected.clone());
        assert_eq!(
            peers_to_prune(&connected, &targets(2, 4)),
            vec![unprotected.peer]
        );
    }

    #[test]
    fn ties_are_broken_differently_on_different_nodes() {
        let peers: Vec<PeerId> = (0..16).map(|_| PeerId::random()).collect();
        let order = |local: &PeerId| {
            let mut sorted = peers.clone();
            sorted.sort_by_key(|p| tie_break(local, p));
            sorted
        };
        let (a, b) = (PeerId::random(), PeerId::random());
        assert_eq!(order(&a), order(&a));
        assert_ne!(order(&a), order(&b));
    }

    #[test]
    fn below_the_low_watermark_it_dials_towards_the_target_a_few_at_a_time() {
        let known: Vec<PeerId> = (0..10).map(|_| PeerId::random()).collect();
        let t = targets(8, 12);
        assert!(peers_to_dial(4, &known, &t, 3).is_empty());
        assert_eq!(peers_to_dial(3, &known, &t, 3), known[..3].to_vec());
        assert_eq!(peers_to_dial(3, &known, &t, 10), known[..5].to_vec());
        assert_eq!(peers_to_dial(0, &known[..2], &t, 10), known[..2].to_vec());
    }

    #[test]
    fn targets_around_a_number_keep_the_default_proportions() {
        let default = PeerTargets::default();
        let around = PeerTargets::around(default.target);
        assert_eq!(
            (around.low_watermark, around.target, around.high_watermark),
            (
                default.low_watermark,
                default.target,
                default.high_watermark
            )
        );
        let one = PeerTargets::around(0);
        assert_eq!(
            (one.low_watermark, one.target, one.high_watermark),
            (1, 1, 2)
        );
    }

    #[test]
    fn activity_expires_after_the_grace_period() {
        let mut activity = PeerActivity::default();
        let p = PeerId::random();
        activity.touch(p);
        let now = Instant::now();
        assert!(activity.is_recent(&p, Duration::from_secs(60), now));
        assert!(!activity.is_recent(&p, Duration::ZERO, now));
        activity.forget(&p);
        assert!(!activity.is_recent(&p, Duration::from_secs(60), now));
    }
}
