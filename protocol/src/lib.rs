//! The training protocol's pure core: no I/O, no actors, no network. Role actors
//! (`autonet_actors::roles`) are thin shells that read the chain and the overlay, call these
//! functions, and send what they decide.
//!
//! **Owns** the rules: phases and deadlines, stage decisions, slice assignment, salts and
//! commitments, scores, the mint list, and the
//! [`model::TrainingModel`] trait with its implementations. **Must not depend on**
//! `autonet-p2p`, `autonet-store` or `autonet-actors`, nor do any I/O beyond reading the data
//! compiled into it.
//!
//! Bird's-eye view of one epoch (the design brief's "One training epoch"):
//! - [`wire`]: the task spec (its content id is the on-chain `specHash`), the hidden held-out set
//!   (its content id is the committed ground truth), gossip announcements; [`data`]: the shipped
//!   agent-turn traces proposers draw batches and held-out sets from.
//! - [`assign`]: which turns of the batch each solver trains (task seed + solver address).
//! - [`phase`]: phases and block deadlines; [`stage`]: each role's next step given its stored
//!   stage, the head block and the deadlines.
//! - [`secrets`]: derived salts and the commitments the contracts check.
//! - [`model`]: the [`model::TrainingModel`] extension point (train / verify / aggregate) and its
//!   substrate implementation; [`jepa`]: the VL-JEPA implementation (weight deltas verified by
//!   recomputation and held-out loss, robust aggregation), its model bytes and task items in
//!   [`jepa_wire`]; [`score`]: verdict → WAD score (rewards and slashes are the contract's,
//!   `autonet_contracts::consensus` mirrors its rule); [`mint`]: the epoch mint list and its
//!   Merkle root/proofs.
//! - [`constitution`]: the constitution document, the check every role and agent action passes,
//!   and the agent prompt preamble.

#![warn(missing_docs, unreachable_pub)]

pub mod assign;
pub mod constitution;
pub mod data;
pub mod jepa;
pub mod jepa_wire;
pub mod mint;
pub mod model;
pub mod phase;
pub mod score;
pub mod secrets;
pub mod stage;
pub mod trace;
/// The protocol's messages live in the wire crate (one home for every byte layout).
pub use autonet_wire::protocol as wire;

#[cfg(test)]
mod jepa_tests;
#[cfg(test)]
mod tests;

/// Why a protocol step cannot proceed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// Bytes from a peer or the store are not a valid message (spec, held-out set, mint list,
    /// model or task item).
    #[error(transparent)]
    Decode(#[from] autonet_wire::protocol::DecodeError),
    /// The model refused its inputs or failed (bad base model, malformed turn, wrong item kind).
    #[error("model: {0}")]
    Model(String),
    /// The epoch's settlement cannot be built (a mint recipient that is not an address).
    #[error("settlement: {0}")]
    Settlement(String),
}
