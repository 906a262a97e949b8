//! Cross-crate integration tests and the multi-peer harness of autonet.
//!
//! The library half will hold the harness (N in-process peers on loopback that know only the
//! bootstrap address, fault injection, polling helpers); `tests/it` is the one integration-test
//! binary that drives it together with the store, models and chain.
