//! Errors of the substrate engine: every rejection of bad input names what was wrong.

use thiserror::Error;

/// Why the substrate refused an input or an operation.
#[derive(Debug, Error, PartialEq)]
pub enum SubstrateError {
    /// No charter root has this id.
    #[error("unknown tendency `{0}`")]
    UnknownTendency(String),
    /// A coordinate is NaN or infinite.
    #[error("coordinate {index} of {what} is not finite ({value})")]
    NonFiniteCoordinate {
        /// Which vector (e.g. `observation coordinates`).
        what: &'static str,
        /// Position of the bad coordinate.
        index: usize,
        /// The bad value.
        value: f64,
    },
    /// A vector's length differs from the charter's dimension.
    #[error("{what} has {got} coordinates, the charter has {expected}")]
    WrongDimension {
        /// Which vector.
        what: &'static str,
        /// The charter's dimension.
        expected: usize,
        /// The vector's length.
        got: usize,
    },
    /// No node has this id (short hex).
    #[error("unknown node {0}")]
    UnknownNode(String),
    /// A link names a parent the link's tree does not index.
    #[error("node {node} is not in the tree of tendency `{tendency}`")]
    NodeNotInTree {
        /// The parent node (short hex id).
        node: String,
        /// The tree's charter root id.
        tendency: String,
    },
    /// The link would make a node its own ancestor.
    #[error("linking {child} under {parent} would create a cycle")]
    Cycle {
        /// The would-be parent (short hex id).
        parent: String,
        /// The node being linked (short hex id).
        child: String,
    },
    /// A node's id is not the content address of its anchor and axis.
    #[error("content id mismatch: event says {claimed}, its coordinates hash to {computed}")]
    ContentIdMismatch {
        /// The id given (short hex).
        claimed: String,
        /// The id its anchor and axis hash to (short hex).
        computed: String,
    },
    /// An encoded input is larger than its limit.
    #[error("{what} is {got} bytes, the limit is {limit}")]
    Oversized {
        /// What was being read.
        what: &'static str,
        /// Its size in bytes.
        got: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A collection has more entries than its limit.
    #[error("{what} has {got} entries, the limit is {limit}")]
    TooMany {
        /// Which collection.
        what: &'static str,
        /// Its entry count.
        got: usize,
        /// The limit.
        limit: usize,
    },
    /// Input cannot be decoded: bad CBOR or hex, wrong shape, or an unsupported version.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// The bytes decode but are not the canonical encoding, so their hash would not be the id.
    #[error("{what} is not in canonical encoding (re-encoding gives different bytes)")]
    NonCanonical {
        /// What was being decoded.
        what: &'static str,
    },
    /// A bundle's events are not by its author or not in strictly rising `seq` order.
    #[error("events out of canonical order at position {index}: {reason}")]
    EventOrder {
        /// Position of the offending event.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Two different events carry the same (author, seq).
    #[error("conflicting events from `{author}` with seq {seq}")]
    ConflictingEvents {
        /// Their author.
        author: String,
        /// Their shared sequence number.
        seq: u64,
    },
    /// Bundles being merged start from different worlds.
    #[error("bundles start from different worlds ({first} and {other})")]
    BaseWorldMismatch {
        /// The first bundle's base world hash (short hex).
        first: String,
        /// The differing base world hash (short hex).
        other: String,
    },
    /// A turn could not be turned into an observation.
    #[error("invalid turn: {0}")]
    InvalidTurn(String),
    /// The charter fails validation (dimensions, bandwidth, budgets, ids).
    #[error("invalid charter: {0}")]
    InvalidCharter(String),
    /// A world model is inconsistent (a decoded one, or a state the engine cannot act on).
    #[error("invalid world model: {0}")]
    InvalidWorld(String),
    /// An event cannot be applied to the world.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
}

/// Result alias of the substrate.
pub type Result<T> = std::result::Result<T, SubstrateError>;
