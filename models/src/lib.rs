//! Models of the autonet network.
//!
//! Bird's-eye view: [`substrate`], the deterministic, content-addressed world-model engine
//! (charter world, events and bundles, equilibration, epoch reconciliation, verification,
//! inference); [`jepa`], VL-JEPA, TextJEPA and the FiLM text decoder trained and run as
//! generated ONNX graphs on ONNX Runtime; [`sharding`], Reed-Solomon shards of published models
//! with BLAKE3 leaves, a keccak Merkle root and a content-addressed manifest. Later issues add
//! `aggregate` (FedAvg and robust aggregation rules).
//! Everything here is pure computation: no network, no chain.
//!
//! **Owns** the models and the shard codec. **Must not depend on** `autonet-p2p`,
//! `autonet-contracts` or `autonet-actors`: everything here is a pure function of its inputs.

#![warn(missing_docs, unreachable_pub)]

pub mod aggregate;
pub mod jepa;
pub mod sharding;
pub mod substrate;
