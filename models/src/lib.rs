//! Models of the autonet network.
//!
//! Bird's-eye view: [`substrate`], the deterministic, content-addressed world-model engine
//! (charter world, events and bundles, equilibration, epoch reconciliation, verification,
//! inference). Later issues add `jepa` (VL-JEPA and TextJEPA training steps on ONNX Runtime),
//! `aggregate` (FedAvg and robust aggregation rules) and `shards` (erasure coding and Merkle proofs
//! of published weights). Everything here is pure computation: no network, no chain.

pub mod substrate;
