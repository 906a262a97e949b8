//! One ONNX Runtime session per graph, fed by name from flat parameter buffers and data arrays.

use std::collections::HashMap;

use ort::session::{Session, SessionInputValue};
use ort::value::TensorRef;

use super::error::JepaError;
use super::params::Layout;
use super::runtime::{Device, open_session};

/// A data input: shape and borrowed values.
#[derive(Debug)]
pub enum Data<'a> {
    /// float32 values.
    F32(Vec<usize>, &'a [f32]),
    /// float64 values.
    F64(Vec<usize>, &'a [f64]),
    /// int64 values (token ids).
    I64(Vec<usize>, &'a [i64]),
}

/// Parameter buffers a graph reads by name: parameters `p`, and for train steps the AdamW
/// moments `m.p` and `v.p`.
#[derive(Debug, Clone, Copy)]
pub enum ParamFeed<'a> {
    /// float32 parameters and, for train steps, moments.
    F32 {
        /// Parameters.
        params: &'a [f32],
        /// First moments.
        m: Option<&'a [f32]>,
        /// Second moments.
        v: Option<&'a [f32]>,
    },
    /// float64 parameters (the float64 gradient graphs).
    F64(&'a [f64]),
}

/// A named output tensor.
#[derive(Debug, Clone)]
pub struct Output {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values widened to f64 (exact for f32 outputs).
    pub values: Vec<f64>,
    /// float32 values when the output is float32.
    pub f32_values: Option<Vec<f32>>,
}

/// All outputs of one run, by name.
#[derive(Debug, Clone, Default)]
pub struct Outputs(pub HashMap<String, Output>);

impl Outputs {
    /// An output by name.
    pub fn get(&self, name: &str) -> Result<&Output, JepaError> {
        self.0
            .get(name)
            .ok_or_else(|| JepaError::Ort(format!("graph has no output {name:?}")))
    }

    /// A scalar output.
    pub fn scalar(&self, name: &str) -> Result<f64, JepaError> {
        let out = self.get(name)?;
        out.values
            .first()
            .copied()
            .ok_or_else(|| JepaError::Shape(format!("output {name} is empty")))
    }

    /// Concatenates float32 outputs `<prefix><param>` into one flat buffer in layout order.
    pub fn gather_f32(&mut self, prefix: &str, layout: &Layout) -> Result<Vec<f32>, JepaError> {
        let mut flat = Vec::with_capacity(layout.len);
        for spec in &layout.specs {
            let name = format!("{prefix}{}", spec.name);
            let out = self
                .0
                .remove(&name)
                .ok_or_else(|| JepaError::Ort(format!("graph has no output {name:?}")))?;
            let values = out
                .f32_values
                .ok_or_else(|| JepaError::Shape(format!("{name} is not float32")))?;
            flat.extend_from_slice(&values);
        }
        check(
            flat.len() == layout.len,
            "gathered outputs do not cover the layout",
        )?;
        Ok(flat)
    }

    /// Concatenates outputs `<prefix><param>` as f64, in layout order.
    pub fn gather_f64(&self, prefix: &str, layout: &Layout) -> Result<Vec<f64>, JepaError> {
        let mut flat = Vec::with_capacity(layout.len);
        for spec in &layout.specs {
            flat.extend_from_slice(&self.get(&format!("{prefix}{}", spec.name))?.values);
        }
        check(
            flat.len() == layout.len,
            "gathered outputs do not cover the layout",
        )?;
        Ok(flat)
    }
}

fn check(ok: bool, what: &str) -> Result<(), JepaError> {
    if ok {
        Ok(())
    } else {
        Err(JepaError::Shape(what.to_string()))
    }
}

/// A session with its input names.
#[derive(Debug)]
pub struct GraphSession {
    session: Session,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl GraphSession {
    /// Opens serialized graph `bytes` on `device`.
    pub fn open(bytes: &[u8], device: Device, threads: usize) -> Result<Self, JepaError> {
        let session = open_session(bytes, device, threads)?;
        let inputs = session
            .inputs()
            .iter()
            .map(|i| i.name().to_string())
            .collect();
        let outputs = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        Ok(GraphSession {
            session,
            inputs,
            outputs,
        })
    }

    /// Runs the graph. Every input must come from `params` (by layout name, or `m.`/`v.` plus
    /// a name) or from `data`.
    pub fn run(
        &mut self,
        layout: &Layout,
        params: ParamFeed<'_>,
        data: &[(&str, Data<'_>)],
    ) -> Result<Outputs, JepaError> {
        let lengths_ok = match params {
            ParamFeed::F32 { params, m, v } => {
                params.len() == layout.len
                    && m.is_none_or(|m| m.len() == layout.len)
                    && v.is_none_or(|v| v.len() == layout.len)
            }
            ParamFeed::F64(params) => params.len() == layout.len,
        };
        check(lengths_ok, "parameter buffers do not match the layout")?;
        let mut feed: Vec<(String, SessionInputValue<'_>)> = Vec::with_capacity(self.inputs.len());
        for name in &self.inputs {
            let value = if let Some((_, d)) = data.iter().find(|(n, _)| n == name) {
                data_value(name, d)?
            } else {
                param_value(name, layout, params)?
            };
            feed.push((name.clone(), value));
        }
        let results = self.session.run(feed)?;
        let mut outputs = HashMap::with_capacity(self.outputs.len());
        for name in &self.outputs {
            let value = &results[name.as_str()];
            let output = if let Ok((shape, values)) = value.try_extract_tensor::<f32>() {
                Output {
                    shape: dims(shape),
                    values: values.iter().map(|&v| f64::from(v)).collect(),
                    f32_values: Some(values.to_vec()),
                }
            } else {
                let (shape, values) = value.try_extract_tensor::<f64>()?;
                Output {
                    shape: dims(shape),
                    values: values.to_vec(),
                    f32_values: None,
                }
            };
            outputs.insert(name.clone(), output);
        }
        Ok(Outputs(outputs))
    }
}

fn dims(shape: &ort::value::Shape) -> Vec<usize> {
    shape.iter().map(|&d| d.max(0) as usize).collect()
}

fn data_value<'a>(name: &str, d: &Data<'a>) -> Result<SessionInputValue<'a>, JepaError> {
    let sized = |shape: &[usize], len: usize| -> Result<(), JepaError> {
        check(
            shape.iter().product::<usize>() == len,
            &format!("input {name}: shape {shape:?} but {len} values"),
        )
    };
    Ok(match d {
        Data::F32(shape, values) => {
            sized(shape, values.len())?;
            TensorRef::from_array_view((shape.clone(), *values))?.into()
        }
        Data::F64(shape, values) => {
            sized(shape, values.len())?;
            TensorRef::from_array_view((shape.clone(), *values))?.into()
        }
        Data::I64(shape, values) => {
            sized(shape, values.len())?;
            TensorRef::from_array_view((shape.clone(), *values))?.into()
        }
    })
}

fn param_value<'a>(
    name: &str,
    layout: &Layout,
    params: ParamFeed<'a>,
) -> Result<SessionInputValue<'a>, JepaError> {
    let (base, source) = if let Some(rest) = name.strip_prefix("m.") {
        (rest, 'm')
    } else if let Some(rest) = name.strip_prefix("v.") {
        (rest, 'v')
    } else {
        (name, 'p')
    };
    let missing = || {
        JepaError::Shape(format!(
            "graph input {name:?} is neither a parameter nor given data"
        ))
    };
    let i = layout.index(base).ok_or_else(missing)?;
    let shape = layout.specs[i].shape.clone();
    let range = layout.range(i);
    Ok(match (params, source) {
        (ParamFeed::F32 { params, .. }, 'p') => {
            TensorRef::from_array_view((shape, &params[range]))?.into()
        }
        (ParamFeed::F32 { m: Some(m), .. }, 'm') => {
            TensorRef::from_array_view((shape, &m[range]))?.into()
        }
        (ParamFeed::F32 { v: Some(v), .. }, 'v') => {
            TensorRef::from_array_view((shape, &v[range]))?.into()
        }
        (ParamFeed::F64(params), 'p') => {
            TensorRef::from_array_view((shape, &params[range]))?.into()
        }
        _ => return Err(missing()),
    })
}
