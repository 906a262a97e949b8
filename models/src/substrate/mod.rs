//! The world-model substrate: a deterministic, content-addressed graph-equilibration model over
//! the charter's coordinate space (behaviour of the Python prototype autonet-code/world-model,
//! with its known defects fixed where noted).
//!
//! Bird's-eye view:
//! - [`charter`]: the versioned charter (roots, anchors, polarity axes) and its id.
//! - [`world`]: the world: one tree per root over a shared arena of content-addressed nodes,
//!   observations, posts, novelty, net scores. [`tendency`] holds what a root does each round
//!   (position observations, sprout or reuse sub-claims, co-parent across trees, post, update
//!   novelty); [`probe`] how a root's frame classifies a point; [`equilibrate`] the round loop;
//!   [`prune`] removes settled sub-claims.
//! - [`turn`] and [`keyword`]: turns → observations; the keyword embedder behind a trait.
//! - [`events`]: events, bundles with content ids, canonical merging; [`solver`] produces a
//!   bundle from a slice; [`replay`] applies events onto a world.
//! - [`serialize`]: the world as a global model (canonical CBOR) and the world hash.
//! - [`reconcile`]: epoch reconciliation (novelty, mint, attribution, gate, mint list).
//! - [`verify`]: recompute (bundle id) and quality (held-out gap) verification.
//! - [`infer`]: alignment and general inference.
//! - [`ids`] and [`vector`]: canonical encoding and deterministic arithmetic.
//!
//! Determinism: no platform libm (a correctly rounded [`exp`] from IEEE basic operations; clippy's
//! `disallowed-methods` keeps `f64::exp` and friends out), no hash-map iteration where order matters, canonical CBOR for every id.
//! No I/O and no global state anywhere in this module.

pub mod charter;
mod dense;
pub mod equilibrate;
pub mod error;
pub mod events;
pub mod exp;
pub mod fxhash;
pub mod ids;
pub mod infer;
pub mod keyword;
pub mod probe;
pub mod prune;
pub mod reconcile;
pub mod replay;
pub mod sample;
mod score;
pub mod serialize;
pub mod solver;
pub mod tendency;
pub mod trace;
pub mod turn;
pub mod vector;
pub mod verify;
pub mod world;

pub use charter::Charter;
pub use error::{Result, SubstrateError};
pub use events::{Bundle, Event, EventCounts};
pub use ids::Digest;
pub use world::World;
