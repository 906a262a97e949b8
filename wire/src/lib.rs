//! The wire types of autonet: what peers send each other, and how it is decoded.
//!
//! Bird's-eye view:
//! - [`envelope`]: the versioned, size-limited CBOR envelope every gossip message travels in.
//! - [`protocol`]: the training protocol's messages (task specs, held-out sets, task and model
//!   announcements), their bounded decoder and the BLAKE3 content id.
//!
//! Every decoder checks the size limit before parsing, refuses trailing bytes and unknown
//! versions, and never panics (the fuzz targets in `fuzz/` depend on this crate).
//!
//! **Owns** the byte layout of messages. **Must not depend on** any other autonet crate, nor
//! on libp2p, alloy or the runtime: it builds in seconds, so fuzzing it stays cheap.

#![warn(missing_docs, unreachable_pub)]

pub mod envelope;
pub mod protocol;
