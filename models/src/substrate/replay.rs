//! Replay: apply events onto a world.
//!
//! Rules (the prototype leaves `apply_events` unspecified; these are ours):
//! - `ObservationAdded`: add the observation and equilibrate (8 rounds, 1e-3), as training did, so
//!   replaying a solver's own bundle onto its base world rebuilds its world exactly.
//! - `SubClaimSprouted`: the node id must be the content address of (anchor, axis); the node is
//!   created if missing; every listed parent link is added if missing (the parent must exist and the
//!   link must not close a cycle), indexing the node in that link's tree; the node is indexed in the
//!   event's tree, and gets the event's claim there if that tree holds none (hung under the claim
//!   of its parent in that tree, as a sprout would). With content addresses and deterministic root
//!   ids, solver ids need no remapping. `author_post` adds one post by the author.
//! - `EpochEnded`: the observation batch is cleared.
//!
//! Every event is validated before anything is applied, and the events are applied to a copy that
//! replaces the world only on success, so a rejected stream leaves the world untouched.

use serde::Serialize;

use super::charter::check_coords;
use super::equilibrate::{TOLERANCE, TRAIN_ROUNDS};
use super::error::{Result, SubstrateError};
use super::events::{Event, SubClaimSprouted};
use super::ids;
use super::vector;
use super::world::{Claim, Node, ParentLink, Position, Poster, Stake, World};

/// Longest accepted label, content or author string, in bytes.
pub const MAX_TEXT_BYTES: usize = 4096;

/// What a replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplayStats {
    /// `ObservationAdded` events applied.
    pub observations: usize,
    /// `SubClaimSprouted` events applied.
    pub sprouts: usize,
    /// `EpochEnded` events applied.
    pub epoch_ends: usize,
    /// Nodes that did not exist before (a sprout of an existing node reuses it).
    pub nodes_created: usize,
    /// Parent links that did not exist before.
    pub links_added: usize,
}

fn check_text(what: &'static str, s: &str) -> Result<()> {
    if s.len() > MAX_TEXT_BYTES {
        return Err(SubstrateError::Oversized {
            what,
            got: s.len(),
            limit: MAX_TEXT_BYTES,
        });
    }
    Ok(())
}

/// Checks one event against the world's charter without changing anything.
pub fn validate_event(world: &World, e: &Event) -> Result<()> {
    let dim = world.charter.dim();
    check_text("event author", e.author())?;
    if e.author().is_empty() {
        return Err(SubstrateError::InvalidEvent("empty author".into()));
    }
    match e {
        Event::ObservationAdded(o) => {
            check_coords("observation coordinates", &o.coords, dim)?;
            check_text("observation label", &o.label)
        }
        Event::SubClaimSprouted(s) => {
            world.tendency_by_id(&s.tendency)?;
            check_coords("sub-claim anchor", &s.anchor, dim)?;
            check_coords("sub-claim axis", &s.axis, dim)?;
            check_text("sub-claim content", &s.content)?;
            let computed = ids::node_address(&s.anchor, &s.axis);
            if computed != s.node_id {
                return Err(SubstrateError::ContentIdMismatch {
                    claimed: s.node_id.short(),
                    computed: computed.short(),
                });
            }
            if s.position == Position::Root {
                return Err(SubstrateError::InvalidEvent(
                    "a sprouted node cannot be a root".into(),
                ));
            }
            if let Some(c) = &s.claim {
                check_coords("claim anchor", &c.anchor, dim)?;
                check_coords("claim axis", &c.axis, dim)?;
            }
            if s.parents.is_empty() {
                return Err(SubstrateError::InvalidEvent(format!(
                    "node {} has no parents",
                    s.node_id.short()
                )));
            }
            for l in &s.parents {
                world.tendency_by_id(&l.tendency)?;
                if l.position == Position::Root {
                    return Err(SubstrateError::InvalidEvent(
                        "a parent link cannot be at ROOT".into(),
                    ));
                }
            }
            Ok(())
        }
        Event::EpochEnded(_) => Ok(()),
    }
}

/// Applies `events` in the given order (merge them first for canonical order).
pub fn replay(world: &mut World, events: &[Event]) -> Result<ReplayStats> {
    for e in events {
        validate_event(world, e)?;
    }
    let mut w = world.clone();
    let mut stats = ReplayStats::default();
    for e in events {
        match e {
            Event::ObservationAdded(o) => {
                w.add_observation(super::world::Observation {
                    id: o.obs_id,
                    coords: o.coords.clone(),
                    label: o.label.clone(),
                })?;
                w.equilibrate(TRAIN_ROUNDS, TOLERANCE)?;
                stats.observations += 1;
            }
            Event::SubClaimSprouted(s) => {
                apply_sprout(&mut w, s, &mut stats)?;
                stats.sprouts += 1;
            }
            Event::EpochEnded(_) => {
                w.clear_observations();
                stats.epoch_ends += 1;
            }
        }
    }
    *world = w;
    Ok(stats)
}

fn apply_sprout(w: &mut World, s: &SubClaimSprouted, stats: &mut ReplayStats) -> Result<()> {
    let t = w.tendency_by_id(&s.tendency)?;
    let node = match w.node_by_id(&s.node_id) {
        Some(n) => n,
        None => {
            stats.nodes_created += 1;
            w.insert_node(Node {
                id: s.node_id,
                anchor: s.anchor.clone(),
                axis: s.axis.clone(),
                observation: s.observation,
                content: s.content.clone(),
                parents: Vec::new(),
                stakes: Vec::new(),
                pro: Vec::new(),
                con: Vec::new(),
                n: 1.0,
            })
        }
    };
    for l in &s.parents {
        let parent = w
            .node_by_id(&l.parent)
            .ok_or_else(|| SubstrateError::UnknownNode(l.parent.short()))?;
        let lt = w.tendency_by_id(&l.tendency)?;
        if parent == node
            || w.nodes[node]
                .parents
                .iter()
                .any(|x| x.parent == parent && x.tendency == lt)
        {
            continue;
        }
        if !w.tendencies[lt].contains_node(parent) {
            return Err(SubstrateError::NodeNotInTree {
                node: l.parent.short(),
                tendency: l.tendency.clone(),
            });
        }
        if w.reaches(node, parent) {
            return Err(SubstrateError::Cycle {
                parent: l.parent.short(),
                child: s.node_id.short(),
            });
        }
        w.add_parent_link(
            node,
            ParentLink {
                parent,
                position: l.position,
                tendency: lt,
            },
        );
        w.attach_child(parent, node, l.position);
        w.index_node(lt, node);
        stats.links_added += 1;
    }
    w.index_node(t, node);
    if let Some(c) = &s.claim
        && w.tendencies[t].claim_of(node).is_none()
    {
        let parent_claim = w.nodes[node]
            .parents
            .iter()
            .find(|l| l.tendency == t)
            .and_then(|l| w.tendencies[t].node_claim.get(&l.parent).copied());
        let tend = &mut w.tendencies[t];
        let depth = parent_claim.map_or(1, |p| tend.claims[p].depth + 1);
        tend.add_claim(
            Claim {
                content: s.content.clone(),
                depth,
                stake: 0.0,
                anchor: c.anchor.clone(),
                axis: vector::normalized(&c.axis),
                children: Vec::new(),
                node,
            },
            parent_claim,
        );
        if parent_claim.is_some() {
            let bandwidth = tend.bandwidth;
            w.caches[t].claim_added(&c.anchor, bandwidth);
        }
    }
    if s.author_post {
        w.nodes[node].stakes.push(Stake {
            poster: Poster::Agent(s.author.clone()),
            weight: 1.0,
        });
        w.watched.push(node);
    }
    w.invalidate_scores();
    Ok(())
}
