//! `autonet agent …` and the node's side of the agent layer.

pub mod guard;
pub mod setup;

pub use guard::ConstitutionGuard;
