//! Durable node state for autonet.
//!
//! Every autonet process keeps its state (chain cursor, pending transactions, commitments and
//! salts, DHT records, shards held, world snapshots, …) in one [`redb`] database under its data
//! dir. This crate is the thin layer all other crates share:
//!
//! - [`Store`] opens (or creates) the database, checks its **schema version** and runs the pending
//!   [`migrations`] in order, each in its own transaction.
//! - [`Table`] names a table of byte keys and byte values. Crates declare their own tables as
//!   constants and put their own encoding (CBOR) on top.
//! - **Acknowledged means durable**: every write method returns only after redb has committed the
//!   transaction with immediate durability (fsync), so a write that returned `Ok` survives
//!   `kill -9` and power loss. The crate's tests check that with a real SIGKILL.
//!
//! Errors are [`StoreError`]; none of the methods panic on bad data.
//!
//! **Owns** durable state on disk. **Must not depend on** any other autonet crate.

#![warn(missing_docs, unreachable_pub)]

mod error;
pub mod migrations;
mod store;

pub use error::StoreError;
pub use migrations::{Migration, SCHEMA_VERSION};
pub use store::{Batch, Entry, Store, Table};
