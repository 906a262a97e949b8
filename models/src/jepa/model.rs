//! A model of a graph set (`vl`, `txt` or `dec`): its parameter layout and lazily opened
//! sessions, the AdamW train step, loss, inference and gradient evaluation.

use std::collections::HashMap;
use std::sync::Arc;

use super::error::JepaError;
use super::manifest::{GraphSource, Manifest, ModelManifest};
use super::params::{Layout, ParamSet};
use super::runtime::Device;
use super::session::{Data, GraphSession, Outputs, ParamFeed};

/// Parameters and AdamW moments of a model being trained.
#[derive(Debug, Clone)]
pub struct TrainState {
    /// Current parameters.
    pub params: ParamSet,
    /// First moments.
    pub m: ParamSet,
    /// Second moments.
    pub v: ParamSet,
    /// Steps taken so far.
    pub step: u64,
}

impl TrainState {
    /// Fresh optimizer state around `params`.
    pub fn new(params: ParamSet) -> Self {
        let m = params.zeros_like();
        let v = params.zeros_like();
        TrainState {
            params,
            m,
            v,
            step: 0,
        }
    }
}

/// One model's graphs on one device.
#[derive(Debug)]
pub struct JepaModel {
    /// Model name in the manifest.
    pub name: String,
    /// Its manifest entry.
    pub manifest: ModelManifest,
    /// Flat buffer layout of its parameters.
    pub layout: Arc<Layout>,
    source: GraphSource,
    device: Device,
    threads: usize,
    sessions: HashMap<String, GraphSession>,
}

impl JepaModel {
    /// Model `name` of a graph set; sessions open on first use.
    pub fn new(
        source: &GraphSource,
        manifest: &Manifest,
        name: &str,
        device: Device,
        threads: usize,
    ) -> Result<Self, JepaError> {
        let model = manifest.models.get(name).ok_or_else(|| JepaError::Graphs {
            path: format!("manifest.json#{name}").into(),
            reason: "no such model".to_string(),
        })?;
        Ok(JepaModel {
            name: name.to_string(),
            manifest: model.clone(),
            layout: Arc::new(Layout::new(model.params.clone())),
            source: source.clone(),
            device,
            threads,
            sessions: HashMap::new(),
        })
    }

    /// Intra-op threads of sessions opened from now on.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Fresh parameters by the manifest's init rules.
    pub fn init_params(&self, seed: u64) -> ParamSet {
        ParamSet::init(self.layout.clone(), seed)
    }

    /// The serialized graph of a kind (`infer`, `loss`, `grad`, `grad_f64`, `train_step`).
    pub fn graph_bytes(&self, kind: &str) -> Result<Vec<u8>, JepaError> {
        let file = self
            .manifest
            .graphs
            .get(kind)
            .ok_or_else(|| JepaError::Graphs {
                path: format!("manifest.json#{}.{kind}", self.name).into(),
                reason: "graph kind not in this set".to_string(),
            })?;
        self.source.read(&file.file)
    }

    /// The device its sessions run on.
    pub fn device(&self) -> Device {
        self.device
    }

    fn session(&mut self, kind: &str) -> Result<&mut GraphSession, JepaError> {
        if !self.sessions.contains_key(kind) {
            let bytes = self.graph_bytes(kind)?;
            let session = GraphSession::open(&bytes, self.device, self.threads)?;
            self.sessions.insert(kind.to_string(), session);
        }
        self.sessions
            .get_mut(kind)
            .ok_or_else(|| JepaError::Ort("session vanished".to_string()))
    }

    /// One AdamW training step in place; returns the step's loss outputs (before the update).
    pub fn train_step(
        &mut self,
        state: &mut TrainState,
        lr: f32,
        data: &[(&str, Data<'_>)],
    ) -> Result<Outputs, JepaError> {
        let step = (state.step + 1) as f32;
        let scalars = [step, lr];
        let mut all: Vec<(&str, Data<'_>)> = vec![
            ("step", Data::F32(vec![], &scalars[..1])),
            ("lr", Data::F32(vec![], &scalars[1..])),
        ];
        all.extend(data.iter().map(|(n, d)| (*n, clone_data(d))));
        let layout = self.layout.clone();
        let feed = ParamFeed::F32 {
            params: &state.params.data,
            m: Some(&state.m.data),
            v: Some(&state.v.data),
        };
        let mut out = self.session("train_step")?.run(&layout, feed, &all)?;
        state.params.data = out.gather_f32("new.", &layout)?;
        state.m.data = out.gather_f32("new_m.", &layout)?;
        state.v.data = out.gather_f32("new_v.", &layout)?;
        state.step += 1;
        Ok(out)
    }

    /// The loss graph's outputs (loss and its parts) at `params`.
    pub fn loss(
        &mut self,
        params: &ParamSet,
        data: &[(&str, Data<'_>)],
    ) -> Result<Outputs, JepaError> {
        self.run("loss", params_only(params), data)
    }

    /// The inference graph's output (`plan`, `embeddings` or `logits`) as (shape, values).
    pub fn infer(
        &mut self,
        params: &ParamSet,
        data: &[(&str, Data<'_>)],
    ) -> Result<(Vec<usize>, Vec<f32>), JepaError> {
        let output = self.manifest.infer_output.clone();
        let mut out = self.run("infer", params_only(params), data)?;
        let value = out
            .0
            .remove(&output)
            .ok_or_else(|| JepaError::Ort(format!("no output {output}")))?;
        let values = value
            .f32_values
            .ok_or_else(|| JepaError::Shape(format!("{output} is not float32")))?;
        Ok((value.shape, values))
    }

    /// Loss and gradients (`grad.<p>`) from the float32 (`grad`) or float64 (`grad_f64`) graph.
    pub fn gradients(
        &mut self,
        kind: &str,
        feed: ParamFeed<'_>,
        data: &[(&str, Data<'_>)],
    ) -> Result<Outputs, JepaError> {
        self.run(kind, feed, data)
    }

    /// Runs the graph of `kind` on `feed` and `data`.
    fn run(
        &mut self,
        kind: &str,
        feed: ParamFeed<'_>,
        data: &[(&str, Data<'_>)],
    ) -> Result<Outputs, JepaError> {
        let layout = self.layout.clone();
        self.session(kind)?.run(&layout, feed, data)
    }
}

/// The feed of a graph that reads parameters only (no optimizer state).
fn params_only(params: &ParamSet) -> ParamFeed<'_> {
    ParamFeed::F32 {
        params: &params.data,
        m: None,
        v: None,
    }
}

/// A data value borrowing the same buffer.
pub fn clone_data<'a>(d: &Data<'a>) -> Data<'a> {
    match d {
        Data::F32(s, v) => Data::F32(s.clone(), v),
        Data::F64(s, v) => Data::F64(s.clone(), v),
        Data::I64(s, v) => Data::I64(s.clone(), v),
    }
}
