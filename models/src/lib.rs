//! Models of the autonet network.
//!
//! Bird's-eye view: [`substrate`], the deterministic, content-addressed world-model engine
//! (charter world, events and bundles, equilibration, epoch reconciliation, verification,
//! inference); [`jepa`], VL-JEPA, TextJEPA and the FiLM text decoder trained and run as
//! generated ONNX graphs on ONNX Runtime. Later issues add `aggregate` (FedAvg and robust
//! aggregation rules) and `shards` (erasure coding and Merkle proofs of published weights).
//! Everything here is pure computation: no network, no chain.

pub mod aggregate;
pub mod jepa;
pub mod substrate;
