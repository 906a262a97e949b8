//! Finding and loading ONNX Runtime, and creating sessions on the chosen device.
//!
//! The library is the one in the PyPI wheel `onnxruntime==1.31.1`
//! (`onnxruntime/capi/libonnxruntime.so.1.31.1`). Discovery order: `ORT_DYLIB_PATH`, then the
//! Python install (`python3 -c 'import onnxruntime'`), else [`JepaError::MissingRuntime`] naming
//! the pip command. The library is loaded once per process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use super::error::JepaError;

/// Where the graphs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// ONNX Runtime's CPU provider.
    Cpu,
    /// The CUDA provider; registering it must succeed (no silent CPU fallback).
    Cuda,
}

impl FromStr for Device {
    type Err = JepaError;
    fn from_str(s: &str) -> Result<Self, JepaError> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda),
            other => Err(JepaError::UnknownDevice(other.to_string())),
        }
    }
}

/// Python one-liner printing the wheel's shared library path.
const PYTHON_QUERY: &str = "import onnxruntime,os,glob;d=os.path.join(os.path.dirname(onnxruntime.__file__),'capi');c=sorted(glob.glob(os.path.join(d,'libonnxruntime.so*')));print(c[-1] if c else '')";

/// Locates the ONNX Runtime shared library: `explicit` (the value of `ORT_DYLIB_PATH`) when
/// given, else whatever `python` reports for its `onnxruntime` package.
pub fn locate_library(explicit: Option<&Path>, python: &str) -> Result<PathBuf, JepaError> {
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        return Err(JepaError::MissingRuntime {
            reason: format!("ORT_DYLIB_PATH={} is not a file", path.display()),
        });
    }
    let output = Command::new(python)
        .args(["-c", PYTHON_QUERY])
        .output()
        .map_err(|e| JepaError::MissingRuntime {
            reason: format!("ORT_DYLIB_PATH is unset and `{python}` could not run: {e}"),
        })?;
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || printed.is_empty() {
        return Err(JepaError::MissingRuntime {
            reason: format!("ORT_DYLIB_PATH is unset and `{python}` has no onnxruntime package"),
        });
    }
    let path = PathBuf::from(printed);
    if path.is_file() {
        Ok(path)
    } else {
        Err(JepaError::MissingRuntime {
            reason: format!("{} does not exist", path.display()),
        })
    }
}

static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, loading the library on first use.
pub fn environment() -> Result<Environment, JepaError> {
    let result = ENVIRONMENT.get_or_init(|| {
        let explicit = std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from);
        let path = locate_library(explicit.as_deref(), "python3").map_err(|e| e.to_string())?;
        let builder = ort::init_from(&path).map_err(|e| {
            JepaError::MissingRuntime {
                reason: format!("{}: {e}", path.display()),
            }
            .to_string()
        })?;
        builder
            .with_name("autonet-jepa")
            .build()
            .map_err(|e| JepaError::Ort(e.to_string()).to_string())
    });
    match result {
        Ok(env) => Ok(env.clone()),
        Err(message) => Err(JepaError::Ort(message.clone())),
    }
}

/// Opens a session for serialized ONNX `bytes` on `device`.
pub fn open_session(bytes: &[u8], device: Device, threads: usize) -> Result<Session, JepaError> {
    let env = environment()?;
    let mut builder = Session::builder(&env)?
        .with_optimization_level(GraphOptimizationLevel::Level3)?
        .with_intra_threads(threads.max(1))?;
    if device == Device::Cuda {
        builder = with_cuda(builder)?;
    }
    Ok(builder.commit_from_memory(bytes)?)
}

#[cfg(feature = "cuda")]
fn with_cuda(
    builder: ort::session::builder::SessionBuilder,
) -> Result<ort::session::builder::SessionBuilder, JepaError> {
    // TF32 off: the GPU parity checks compare against CPU float32.
    let cuda = ort::ep::CUDA::default()
        .with_tf32(false)
        .build()
        .error_on_failure();
    builder
        .with_execution_providers([cuda])
        .map_err(|e| JepaError::CudaUnavailable(e.to_string()))
}

#[cfg(not(feature = "cuda"))]
fn with_cuda(
    _builder: ort::session::builder::SessionBuilder,
) -> Result<ort::session::builder::SessionBuilder, JepaError> {
    Err(JepaError::CudaUnavailable(
        "this binary was built without the `cuda` feature of autonet-models".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_library_names_the_install_command() {
        let err = locate_library(Some(Path::new("/nonexistent/libonnxruntime.so")), "python3")
            .unwrap_err();
        assert!(matches!(err, JepaError::MissingRuntime { .. }));
        assert!(
            err.to_string().contains("pip install onnxruntime==1.31.1"),
            "{err}"
        );
        let err = locate_library(None, "/nonexistent/python3").unwrap_err();
        assert!(
            err.to_string().contains("pip install onnxruntime==1.31.1"),
            "{err}"
        );
    }

    #[test]
    fn device_names_parse() {
        assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda);
        assert!("tpu".parse::<Device>().is_err());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_is_an_error_not_a_fallback() {
        let bytes = super::super::manifest::GraphSource::Embedded("tiny")
            .read("vl_infer.onnx")
            .unwrap();
        let err = open_session(&bytes, Device::Cuda, 1).unwrap_err();
        assert!(matches!(err, JepaError::CudaUnavailable(_)), "{err}");
    }
}
