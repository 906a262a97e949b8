//! Supervised actors of an autonet node.
//!
//! Bird's-eye view (filled in by the overlay and protocol issues): a root supervisor with a restart
//! budget owns one actor per role (proposer, solver, coordinator, aggregator, inference), a network
//! bridge actor that turns overlay events into actor messages, and one actor per model shard held.
//! Actors are thin shells: the protocol state machines they drive are pure functions and types that
//! are tested without actors, network or chain.
