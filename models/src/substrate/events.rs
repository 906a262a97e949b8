//! Events and bundles: what a solver's training did, in a form anyone can replay and hash.
//!
//! A bundle is one solver's events for one slice of one task, starting from one world (its hash
//! is in the bundle). Its id is BLAKE3 over its canonical CBOR; decoding refuses oversized,
//! malformed or non-canonical bytes, and events out of `seq` order.

use serde::{Deserialize, Serialize};

use super::error::{Result, SubstrateError};
use super::ids::{self, Digest, f64_vec_bits};
use super::world::Position;

/// Largest bundle accepted, in bytes (bulk data moves in 1 MiB chunks; a 256-turn slice needs a
/// few hundred KiB).
pub const MAX_BUNDLE_BYTES: usize = 16 * 1024 * 1024;
/// Most events one bundle may hold.
pub const MAX_BUNDLE_EVENTS: usize = 1 << 20;
/// Bundle format version.
pub const BUNDLE_VERSION: u32 = 1;

/// A turn entered the world (replay adds it and equilibrates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationAdded {
    /// The author's sequence number; strictly rising within a bundle.
    pub seq: u64,
    /// The solver that produced the event (the bundle's author).
    pub author: String,
    /// Content id of the turn the observation came from.
    pub obs_id: Digest,
    /// The point, one value per charter dimension.
    #[serde(with = "f64_vec_bits")]
    pub coords: Vec<f64>,
    /// Human-readable text of the observation.
    pub label: String,
}

/// A claim a tendency holds about a node (absent for nodes a tree indexes only through a
/// cross-tendency edge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventClaim {
    /// Where the claim sits in charter coordinates.
    #[serde(with = "f64_vec_bits")]
    pub anchor: Vec<f64>,
    /// Its polarity axis (normalised when applied).
    #[serde(with = "f64_vec_bits")]
    pub axis: Vec<f64>,
}

/// One parent edge of a sprouted node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventLink {
    /// Content id of the parent node; it must exist when the event is replayed.
    pub parent: Digest,
    /// Whether the node supports or opposes the parent.
    pub position: Position,
    /// Charter root id of the tree the edge belongs to.
    pub tendency: String,
}

/// A node appeared in a tendency's tree (one event per tree that indexes it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubClaimSprouted {
    /// The author's sequence number; strictly rising within a bundle.
    pub seq: u64,
    /// The solver that produced the event (the bundle's author).
    pub author: String,
    /// Charter root id of the tree that indexes the node.
    pub tendency: String,
    /// Content id of the node: [`super::ids::node_address`] of `anchor` and `axis`.
    pub node_id: Digest,
    /// Position of the node's first (creation) link.
    pub position: Position,
    /// Content-address inputs: `node_id` must equal their hash.
    #[serde(with = "f64_vec_bits")]
    pub anchor: Vec<f64>,
    /// The node's polarity axis (the other content-address input).
    #[serde(with = "f64_vec_bits")]
    pub axis: Vec<f64>,
    /// Human-readable text of the node.
    pub content: String,
    /// The observation the node was sprouted for, if any.
    pub observation: Option<Digest>,
    /// The tendency's claim about the node, given to the tree if it holds none yet.
    pub claim: Option<EventClaim>,
    /// Every parent edge of the node; missing ones are added on replay.
    pub parents: Vec<EventLink>,
    /// Replay adds one post by the author on the node (a targeted dispute).
    pub author_post: bool,
}

/// The solver ended an epoch: the observation batch is cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochEnded {
    /// The author's sequence number; strictly rising within a bundle.
    pub seq: u64,
    /// The solver that produced the event (the bundle's author).
    pub author: String,
}

/// Everything replay needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// A turn entered the world.
    ObservationAdded(ObservationAdded),
    /// A node appeared in a tree.
    SubClaimSprouted(SubClaimSprouted),
    /// The observation batch was cleared.
    EpochEnded(EpochEnded),
}

impl Event {
    /// The author's sequence number of the event.
    pub fn seq(&self) -> u64 {
        match self {
            Event::ObservationAdded(e) => e.seq,
            Event::SubClaimSprouted(e) => e.seq,
            Event::EpochEnded(e) => e.seq,
        }
    }

    /// The solver that produced the event.
    pub fn author(&self) -> &str {
        match self {
            Event::ObservationAdded(e) => &e.author,
            Event::SubClaimSprouted(e) => &e.author,
            Event::EpochEnded(e) => &e.author,
        }
    }

    /// Content id of the event.
    pub fn id(&self) -> Digest {
        ids::content_id("autonet/substrate/event/v1", self)
    }
}

/// One solver's training output for one slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// Bundle format; only [`BUNDLE_VERSION`] decodes.
    pub version: u32,
    /// The solver; every event must carry the same author.
    pub author: String,
    /// Hash of the world the solver started from.
    pub base_world: Digest,
    /// Content id of the slice (its turns and epochs).
    pub slice: Digest,
    /// Passes the solver made over the slice's turns.
    pub epochs: u32,
    /// The events in strictly rising `seq` order (at most [`MAX_BUNDLE_EVENTS`]).
    pub events: Vec<Event>,
}

/// Counts of events by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EventCounts {
    /// `ObservationAdded` events.
    pub observations: usize,
    /// `SubClaimSprouted` events.
    pub sprouts: usize,
    /// `EpochEnded` events.
    pub epoch_ends: usize,
}

impl EventCounts {
    /// Counts `events` by kind.
    pub fn of(events: &[Event]) -> Self {
        let mut c = EventCounts::default();
        for e in events {
            match e {
                Event::ObservationAdded(_) => c.observations += 1,
                Event::SubClaimSprouted(_) => c.sprouts += 1,
                Event::EpochEnded(_) => c.epoch_ends += 1,
            }
        }
        c
    }

    /// Observation plus sprout events (the prototype's "events total").
    pub fn prototype_total(&self) -> usize {
        self.observations + self.sprouts
    }
}

impl Bundle {
    /// Content id of the bundle.
    pub fn id(&self) -> Digest {
        ids::content_id("autonet/substrate/bundle/v1", self)
    }

    /// Canonical CBOR of the bundle ([`Bundle::id`] hashes it after a domain tag;
    /// [`Bundle::decode`] reads it back).
    pub fn encode(&self) -> Vec<u8> {
        ids::encode(self)
    }

    /// Decodes and checks a bundle: size, canonical form, version, author and event order.
    pub fn decode(bytes: &[u8]) -> Result<Bundle> {
        let b: Bundle = ids::decode_canonical("bundle", bytes, MAX_BUNDLE_BYTES)?;
        b.check_shape()?;
        Ok(b)
    }

    /// Structural checks that need no world: version, limits, one author, strictly rising seq.
    pub fn check_shape(&self) -> Result<()> {
        if self.version != BUNDLE_VERSION {
            return Err(SubstrateError::Decode {
                what: "bundle",
                reason: format!("version {} (expected {BUNDLE_VERSION})", self.version),
            });
        }
        if self.events.len() > MAX_BUNDLE_EVENTS {
            return Err(SubstrateError::TooMany {
                what: "bundle events",
                got: self.events.len(),
                limit: MAX_BUNDLE_EVENTS,
            });
        }
        let mut last: Option<u64> = None;
        for (i, e) in self.events.iter().enumerate() {
            if e.author() != self.author {
                return Err(SubstrateError::EventOrder {
                    index: i,
                    reason: format!("event by `{}` in a bundle by `{}`", e.author(), self.author),
                });
            }
            if last.is_some_and(|l| e.seq() <= l) {
                return Err(SubstrateError::EventOrder {
                    index: i,
                    reason: format!("seq {} after seq {}", e.seq(), last.unwrap_or(0)),
                });
            }
            last = Some(e.seq());
        }
        Ok(())
    }
}

/// Merges bundles from several solvers: all must start from the same world; events are sorted by
/// (author, seq) — the canonical order — and exact duplicates (the same bundle twice) collapse.
/// Two different events with the same (author, seq) are a conflict.
pub fn merge_bundles(bundles: &[Bundle]) -> Result<Vec<Event>> {
    let Some(first) = bundles.first() else {
        return Ok(Vec::new());
    };
    let mut all: Vec<&Event> = Vec::new();
    for b in bundles {
        b.check_shape()?;
        if b.base_world != first.base_world {
            return Err(SubstrateError::BaseWorldMismatch {
                first: first.base_world.short(),
                other: b.base_world.short(),
            });
        }
        all.extend(&b.events);
    }
    all.sort_by(|a, b| (a.author(), a.seq()).cmp(&(b.author(), b.seq())));
    let mut out: Vec<Event> = Vec::with_capacity(all.len());
    for e in all {
        if let Some(prev) = out.last()
            && prev.author() == e.author()
            && prev.seq() == e.seq()
        {
            if prev != e {
                return Err(SubstrateError::ConflictingEvents {
                    author: e.author().to_string(),
                    seq: e.seq(),
                });
            }
            continue;
        }
        out.push(e.clone());
    }
    Ok(out)
}
