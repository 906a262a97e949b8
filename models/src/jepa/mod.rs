//! VL-JEPA, TextJEPA and the FiLM text decoder on ONNX Runtime.
//!
//! Bird's-eye view: `scripts/jepa-graphs` generates ONNX graphs offline (forward, loss,
//! reverse-mode gradients by onnx-ad, AdamW) with parameters and optimizer state as graph
//! inputs and outputs; the committed sets (`models/graphs/{tiny,default}`) are compiled in
//! ([`manifest`]). [`runtime`] finds and loads the ONNX Runtime library and opens sessions on
//! CPU or CUDA; [`session`] feeds a graph by name from flat f32 buffers ([`params`]); [`model`]
//! runs train steps, losses, inference and gradients for one model; [`vl`] trains VL-JEPA on
//! the committed digits ([`data`]) with an EMA target, [`txt`] trains TextJEPA on text; [`probe`] measures what the embeddings
//! know; [`decoder`] is the local FiLM text decoder and [`two_speed`] routes queries between
//! a cached plan (fast path) and inference peers (slow path), whose wire format is
//! [`plan_wire`]; [`verify`] gives a delta its
//! content id and wire encoding and lets a coordinator check a solver's claimed held-out loss;
//! [`checkpoint`] saves and restores a pipeline's whole training state; [`federated`] is one
//! protocol epoch in pure functions (solver slice and training, coordinator check, robust
//! aggregation). Weight deltas are `new − base` in f64 ([`params::WeightDelta`]).

pub mod checkpoint;
pub mod data;
pub mod decoder;
pub mod error;
pub mod federated;
pub mod manifest;
pub mod model;
pub mod params;
pub mod pipeline;
pub mod plan_wire;
pub mod probe;
pub mod resident;
pub mod rng;
pub mod runtime;
pub mod session;
pub mod two_speed;
pub mod txt;
pub mod verify;
pub mod vl;

pub use decoder::TextDecoder;
pub use error::{INSTALL_HINT, JepaError};
pub use manifest::{GraphSource, Manifest};
pub use model::{JepaModel, TrainState};
pub use params::{ParamSet, WeightDelta};
pub use pipeline::{Answer, Pipeline};
pub use plan_wire::{PLAN_SERVICE, PlanRequest, PlanResponse};
pub use runtime::Device;
pub use two_speed::{Path, PlanSource, TwoSpeed};
pub use txt::{TextBatch, TextJepa};
pub use vl::{LossParts, VlBatch, VlJepa};
