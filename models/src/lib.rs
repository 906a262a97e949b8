//! Models of the autonet network.
//!
//! Bird's-eye view (filled in by the substrate, JEPA and model-shard issues): `substrate`, the
//! deterministic, content-addressed world-model engine; `jepa`, VL-JEPA and TextJEPA training steps
//! on ONNX Runtime; `aggregate`, FedAvg and robust aggregation rules; `shards`, erasure coding and
//! Merkle proofs of published weights. Everything here is pure computation: no network, no chain.
