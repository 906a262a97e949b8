//! A train step whose parameters and AdamW moments stay on the device between steps (ONNX
//! Runtime IoBinding): the outputs `new.p`, `new_m.p`, `new_v.p` are bound to preallocated
//! device tensors that become the next step's inputs, so only the batch and the scalars cross
//! the host–device boundary. [`JepaModel::train_step`](super::model::JepaModel::train_step) is
//! the copying path it is compared with (`autonet bench jepa --mode binding`).

use std::sync::Arc;

use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::Session;
use ort::value::{DynTensor, Tensor};

use super::error::JepaError;
use super::model::{JepaModel, TrainState};
use super::params::{Layout, ParamSet};
use super::runtime::{Device, open_session};
use super::session::Data;

/// Train-step state resident on the device.
#[derive(Debug)]
pub struct ResidentTrainer {
    session: Session,
    layout: Arc<Layout>,
    device: AllocationDevice<'static>,
    /// Parameters, then first moments, then second moments, in layout order.
    state: Vec<DynTensor>,
    /// Preallocated tensors the next step writes into.
    spare: Vec<DynTensor>,
    step: u64,
}

fn allocation_device(device: Device) -> AllocationDevice<'static> {
    match device {
        Device::Cpu => AllocationDevice::CPU,
        Device::Cuda => AllocationDevice::CUDA,
    }
}

impl ResidentTrainer {
    /// Uploads `state` and opens the train-step graph of `model` on `device`.
    pub fn new(
        model: &JepaModel,
        bytes: &[u8],
        state: &TrainState,
        device: Device,
        threads: usize,
    ) -> Result<Self, JepaError> {
        let session = open_session(bytes, device, threads)?;
        let dev = allocation_device(device);
        let allocator = Allocator::new(
            &session,
            MemoryInfo::new(dev.clone(), 0, AllocatorType::Device, MemoryType::Default)?,
        )?;
        let layout = model.layout.clone();
        let mut uploaded = Vec::with_capacity(3 * layout.specs.len());
        let mut spare = Vec::with_capacity(3 * layout.specs.len());
        for buffer in [&state.params, &state.m, &state.v] {
            for (i, spec) in layout.specs.iter().enumerate() {
                let host = Tensor::from_array((spec.shape.clone(), buffer.slice(i).to_vec()))?;
                uploaded.push(host.to(dev.clone(), 0)?.upcast());
                spare.push(Tensor::<f32>::new(&allocator, spec.shape.clone())?.upcast());
            }
        }
        Ok(ResidentTrainer {
            session,
            layout,
            device: dev,
            state: uploaded,
            spare,
            step: state.step,
        })
    }

    /// One AdamW step on the device; returns the scalar outputs (loss and its parts).
    pub fn step(
        &mut self,
        lr: f32,
        data: &[(&str, Data<'_>)],
    ) -> Result<Vec<(String, f64)>, JepaError> {
        let n = self.layout.specs.len();
        let mut binding = self.session.create_binding()?;
        for (k, prefix) in ["", "m.", "v."].iter().enumerate() {
            for (i, spec) in self.layout.specs.iter().enumerate() {
                binding.bind_input(format!("{prefix}{}", spec.name), &self.state[k * n + i])?;
            }
        }
        binding.bind_input(
            "step",
            &Tensor::from_array((Vec::<usize>::new(), vec![(self.step + 1) as f32]))?,
        )?;
        binding.bind_input("lr", &Tensor::from_array((Vec::<usize>::new(), vec![lr]))?)?;
        for (name, d) in data {
            match d {
                Data::F32(shape, v) => {
                    binding.bind_input(*name, &Tensor::from_array((shape.clone(), v.to_vec()))?)?
                }
                Data::F64(shape, v) => {
                    binding.bind_input(*name, &Tensor::from_array((shape.clone(), v.to_vec()))?)?
                }
                Data::I64(shape, v) => {
                    binding.bind_input(*name, &Tensor::from_array((shape.clone(), v.to_vec()))?)?
                }
            }
        }
        for (k, prefix) in ["new.", "new_m.", "new_v."].iter().enumerate() {
            for (i, spec) in self.layout.specs.iter().enumerate() {
                binding
                    .bind_output(format!("{prefix}{}", spec.name), &mut self.spare[k * n + i])?;
            }
        }
        let scalar_names: Vec<String> = self
            .session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .filter(|name| !name.starts_with("new"))
            .collect();
        let host = MemoryInfo::new(
            AllocationDevice::CPU,
            0,
            AllocatorType::Device,
            MemoryType::CPUOutput,
        )?;
        for name in &scalar_names {
            binding.bind_output_to_device(name.clone(), &host)?;
        }
        let outputs = self.session.run_binding(&binding)?;
        let mut scalars = Vec::with_capacity(scalar_names.len());
        for name in &scalar_names {
            let (_, values) = outputs[name.as_str()].try_extract_tensor::<f32>()?;
            scalars.push((
                name.clone(),
                values.first().map_or(f64::NAN, |&v| f64::from(v)),
            ));
        }
        drop(outputs);
        drop(binding);
        std::mem::swap(&mut self.state, &mut self.spare);
        self.step += 1;
        Ok(scalars)
    }

    /// Copies the state back to the host.
    pub fn download(&self) -> Result<TrainState, JepaError> {
        let n = self.layout.specs.len();
        let mut flats = Vec::with_capacity(3);
        for k in 0..3 {
            let mut flat = Vec::with_capacity(self.layout.len);
            for t in &self.state[k * n..(k + 1) * n] {
                let host = t.to(AllocationDevice::CPU, 0)?;
                flat.extend_from_slice(host.try_extract_tensor::<f32>()?.1);
            }
            flats.push(ParamSet {
                layout: self.layout.clone(),
                data: flat,
            });
        }
        let v = flats.pop();
        let m = flats.pop();
        let params = flats.pop();
        match (params, m, v) {
            (Some(params), Some(m), Some(v)) => Ok(TrainState {
                params,
                m,
                v,
                step: self.step,
            }),
            _ => Err(JepaError::Shape("state download lost a buffer".to_string())),
        }
    }

    /// The device the state lives on.
    pub fn device(&self) -> &AllocationDevice<'static> {
        &self.device
    }
}
