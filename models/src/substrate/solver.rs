//! Solver training: replay a slice of turns into a world, epoch by epoch, recording events.
//!
//! For each turn: add its observation, equilibrate (8 rounds, tolerance 1e-3), then record one
//! `SubClaimSprouted` per (tree, new node) in charter then index order. After each epoch the
//! observation batch is cleared (an `EpochEnded` event). The same world, turns, epochs and author
//! always give the same bundle, bit for bit; that is what recompute verification checks.

use serde::Serialize;
use serde_json::Value;

use super::equilibrate::{TOLERANCE, TRAIN_ROUNDS};
use super::error::Result;
use super::events::{
    BUNDLE_VERSION, Bundle, EpochEnded, Event, EventClaim, EventLink, ObservationAdded,
    SubClaimSprouted,
};
use super::ids::{self, Digest};
use super::turn::{TurnEmbedder, turn_id, turn_to_observation};
use super::world::World;

/// Turns of one epoch are numbered `epoch * EPOCH_STRIDE + i` (labels of unlabelled turns).
pub const EPOCH_STRIDE: u64 = 10_000;

/// Content id of a slice: its turns (by id) and the epoch count.
pub fn slice_id(turns: &[Value], epochs: u32) -> Digest {
    #[derive(Serialize)]
    struct SliceRec {
        turns: Vec<Digest>,
        epochs: u32,
    }
    let rec = SliceRec {
        turns: turns.iter().map(turn_id).collect(),
        epochs,
    };
    ids::content_id("autonet/substrate/slice/v1", &rec)
}

/// Trains `world` on `turns` and returns the bundle of what happened.
pub fn train(
    world: &mut World,
    turns: &[Value],
    epochs: u32,
    author: &str,
    embedder: &dyn TurnEmbedder,
) -> Result<Bundle> {
    train_traced(world, turns, epochs, author, embedder, &mut |_, _, _| {})
}

/// [`train`], calling `on_turn(world, epoch, turn index)` after each turn's equilibration (the
/// differential fuzzer dumps the state there).
pub fn train_traced(
    world: &mut World,
    turns: &[Value],
    epochs: u32,
    author: &str,
    embedder: &dyn TurnEmbedder,
    on_turn: &mut dyn FnMut(&World, u32, usize),
) -> Result<Bundle> {
    let base_world = world.hash();
    let dim = world.charter.dim();
    let mut seq = 0u64;
    let mut events = Vec::new();
    for epoch in 0..epochs.max(1) {
        for (i, turn) in turns.iter().enumerate() {
            let obs = turn_to_observation(
                turn,
                u64::from(epoch) * EPOCH_STRIDE + i as u64,
                dim,
                embedder,
            )?;
            let before = world.nodes.len();
            let index_before: Vec<usize> = world.tendencies.iter().map(|t| t.index.len()).collect();
            seq += 1;
            events.push(Event::ObservationAdded(ObservationAdded {
                seq,
                author: author.to_string(),
                obs_id: obs.id,
                coords: obs.coords.clone(),
                label: obs.label.clone(),
            }));
            world.add_observation(obs)?;
            world.equilibrate(TRAIN_ROUNDS, TOLERANCE)?;
            record_sprouts(world, before, &index_before, author, &mut seq, &mut events);
            on_turn(world, epoch, i);
        }
        world.clear_observations();
        seq += 1;
        events.push(Event::EpochEnded(EpochEnded {
            seq,
            author: author.to_string(),
        }));
    }
    Ok(Bundle {
        version: BUNDLE_VERSION,
        author: author.to_string(),
        base_world,
        slice: slice_id(turns, epochs),
        epochs,
        events,
    })
}

/// One event per (tree, node created since `before`), trees in charter order, nodes in index order.
/// A node created this turn was indexed this turn, so only each index's tail since the turn began
/// (`index_before`) is walked.
fn record_sprouts(
    world: &World,
    before: usize,
    index_before: &[usize],
    author: &str,
    seq: &mut u64,
    events: &mut Vec<Event>,
) {
    for (t, &from) in world.tendencies.iter().zip(index_before) {
        for &n in t.index.get(from..).unwrap_or(&[]) {
            if n < before {
                continue;
            }
            let node = &world.nodes[n];
            *seq += 1;
            events.push(Event::SubClaimSprouted(SubClaimSprouted {
                seq: *seq,
                author: author.to_string(),
                tendency: t.id.clone(),
                node_id: node.id,
                position: node.position(),
                anchor: node.anchor.clone(),
                axis: node.axis.clone(),
                content: node.content.clone(),
                observation: node.observation,
                claim: t.claim_of(n).map(|c| EventClaim {
                    anchor: c.anchor.clone(),
                    axis: c.axis.clone(),
                }),
                parents: node
                    .parents
                    .iter()
                    .map(|l| EventLink {
                        parent: world.nodes[l.parent].id,
                        position: l.position,
                        tendency: world.tendencies[l.tendency].id.clone(),
                    })
                    .collect(),
                author_post: false,
            }));
        }
    }
}
