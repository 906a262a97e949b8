//! Flat f32 parameter buffers, their layout, initialisation, weight deltas and the EMA update.

use std::sync::Arc;

use super::error::JepaError;
use super::manifest::{Init, ParamSpec};
use super::rng::Rng;

/// Where each named parameter lives in the flat buffer.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Parameters in buffer order.
    pub specs: Vec<ParamSpec>,
    /// Start offset of each parameter.
    pub offsets: Vec<usize>,
    /// Total number of scalars.
    pub len: usize,
}

impl Layout {
    /// The layout of `specs`, in order.
    pub fn new(specs: Vec<ParamSpec>) -> Self {
        let mut offsets = Vec::with_capacity(specs.len());
        let mut len = 0;
        for spec in &specs {
            offsets.push(len);
            len += spec.shape.iter().product::<usize>();
        }
        Layout {
            specs,
            offsets,
            len,
        }
    }

    /// Index of a parameter by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }

    /// Scalar range of parameter `i`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        let n: usize = self.specs[i].shape.iter().product();
        self.offsets[i]..self.offsets[i] + n
    }
}

/// A model's parameters as one flat f32 buffer.
#[derive(Debug, Clone)]
pub struct ParamSet {
    /// Shared layout.
    pub layout: Arc<Layout>,
    /// The values.
    pub data: Vec<f32>,
}

impl ParamSet {
    /// Parameters initialised by the manifest's rules from `seed` (deterministic).
    pub fn init(layout: Arc<Layout>, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut data = vec![0f32; layout.len];
        for (i, spec) in layout.specs.iter().enumerate() {
            let slot = &mut data[layout.range(i)];
            match spec.init {
                Init::Normal { std } => slot
                    .iter_mut()
                    .for_each(|x| *x = (rng.normal() * std) as f32),
                Init::Zeros => {}
                Init::Ones => slot.fill(1.0),
                Init::Film => {
                    let half = slot.len() / 2;
                    slot[..half].fill(1.0);
                }
            }
        }
        ParamSet { layout, data }
    }

    /// Zeros of the same layout (optimizer moments).
    pub fn zeros_like(&self) -> Self {
        ParamSet {
            layout: self.layout.clone(),
            data: vec![0.0; self.data.len()],
        }
    }

    /// The slice of parameter `i`.
    pub fn slice(&self, i: usize) -> &[f32] {
        &self.data[self.layout.range(i)]
    }

    /// The weight delta `self − base`, each difference computed in f64.
    pub fn delta_from(&self, base: &ParamSet) -> Result<WeightDelta, JepaError> {
        check_len(self.data.len(), base.data.len())?;
        let values = self
            .data
            .iter()
            .zip(&base.data)
            .map(|(&n, &b)| f64::from(n) - f64::from(b))
            .collect();
        Ok(WeightDelta { values })
    }

    /// `base + delta` (added in f64, rounded once to f32).
    pub fn apply(&self, delta: &WeightDelta) -> Result<ParamSet, JepaError> {
        check_len(self.data.len(), delta.values.len())?;
        let data = self
            .data
            .iter()
            .zip(&delta.values)
            .map(|(&b, &d)| (f64::from(b) + d) as f32)
            .collect();
        Ok(ParamSet {
            layout: self.layout.clone(),
            data,
        })
    }

    /// EMA target update `self ← m·self + (1 − m)·online` (an axpy over the flat buffers).
    pub fn ema_toward(&mut self, online: &ParamSet, momentum: f32) -> Result<(), JepaError> {
        check_len(self.data.len(), online.data.len())?;
        for (t, &o) in self.data.iter_mut().zip(&online.data) {
            *t = momentum * *t + (1.0 - momentum) * o;
        }
        Ok(())
    }
}

/// A solver's update: new parameters minus base parameters, in f64.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightDelta {
    /// One value per parameter scalar.
    pub values: Vec<f64>,
}

impl WeightDelta {
    /// Euclidean norm.
    pub fn norm(&self) -> f64 {
        self.values.iter().map(|v| v * v).sum::<f64>().sqrt()
    }
}

fn check_len(a: usize, b: usize) -> Result<(), JepaError> {
    if a == b {
        Ok(())
    } else {
        Err(JepaError::Shape(format!(
            "parameter buffers of {a} and {b} scalars"
        )))
    }
}
