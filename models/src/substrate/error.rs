//! Errors of the substrate engine: every rejection of bad input names what was wrong.

use thiserror::Error;

/// Why the substrate refused an input or an operation.
#[derive(Debug, Error, PartialEq)]
pub enum SubstrateError {
    #[error("unknown tendency `{0}`")]
    UnknownTendency(String),
    #[error("coordinate {index} of {what} is not finite ({value})")]
    NonFiniteCoordinate {
        what: &'static str,
        index: usize,
        value: f64,
    },
    #[error("{what} has {got} coordinates, the charter has {expected}")]
    WrongDimension {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("unknown node {0}")]
    UnknownNode(String),
    #[error("node {node} is not in the tree of tendency `{tendency}`")]
    NodeNotInTree { node: String, tendency: String },
    #[error("linking {child} under {parent} would create a cycle")]
    Cycle { parent: String, child: String },
    #[error("content id mismatch: event says {claimed}, its coordinates hash to {computed}")]
    ContentIdMismatch { claimed: String, computed: String },
    #[error("{what} is {got} bytes, the limit is {limit}")]
    Oversized {
        what: &'static str,
        got: usize,
        limit: usize,
    },
    #[error("{what} has {got} entries, the limit is {limit}")]
    TooMany {
        what: &'static str,
        got: usize,
        limit: usize,
    },
    #[error("cannot decode {what}: {reason}")]
    Decode { what: &'static str, reason: String },
    #[error("{what} is not in canonical encoding (re-encoding gives different bytes)")]
    NonCanonical { what: &'static str },
    #[error("events out of canonical order at position {index}: {reason}")]
    EventOrder { index: usize, reason: String },
    #[error("conflicting events from `{author}` with seq {seq}")]
    ConflictingEvents { author: String, seq: u64 },
    #[error("bundles start from different worlds ({first} and {other})")]
    BaseWorldMismatch { first: String, other: String },
    #[error("invalid turn: {0}")]
    InvalidTurn(String),
    #[error("invalid charter: {0}")]
    InvalidCharter(String),
    #[error("invalid world model: {0}")]
    InvalidWorld(String),
    #[error("invalid event: {0}")]
    InvalidEvent(String),
}

/// Result alias of the substrate.
pub type Result<T> = std::result::Result<T, SubstrateError>;
