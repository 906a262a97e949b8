//! The constitution: the jurisdiction's principles, the charter tendencies with their theses,
//! the standards alignment pricing uses, the rule tier's limits and the agent prompt preamble, in
//! one versioned, content-addressed document ([`document`]); the check every action passes
//! before it runs ([`enforce`]); the preamble put in front of every agent prompt ([`preamble`]).
//!
//! The node ships [`document::DEFAULT_DOCUMENT`]; governance adopts a document by publishing its
//! BLAKE3 content id under the Registry key `constitution.current` (`autonet gov propose
//! --constitution FILE`). Every file here is in the protected set of the core fingerprint
//! (`node/src/integrity/fingerprint.rs`).

pub mod document;
pub mod enforce;
pub mod preamble;

pub use document::{Constitution, ConstitutionError, ConstitutionId, content_id};
pub use enforce::{Action, ActionKind, Enforcer, Refusal, Tier, permit, shipped};
pub use preamble::{has_preamble, preamble, with_preamble};

#[cfg(test)]
mod tests;
