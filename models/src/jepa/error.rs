//! Errors of the JEPA runtime.

use std::path::PathBuf;

/// The pip command that installs the ONNX Runtime library these graphs were checked against.
pub const INSTALL_HINT: &str = "pip install onnxruntime==1.31.1";

/// Everything that can go wrong loading or running the JEPA graphs.
#[derive(Debug, thiserror::Error)]
pub enum JepaError {
    /// The ONNX Runtime shared library was not found or did not load.
    #[error(
        "ONNX Runtime library not available: {reason}; install it with `{INSTALL_HINT}` or set ORT_DYLIB_PATH to libonnxruntime.so"
    )]
    MissingRuntime {
        /// Why discovery or loading failed.
        reason: String,
    },
    /// `--device cuda` was asked for but no CUDA execution provider could be registered.
    #[error(
        "CUDA execution provider unavailable: {0} (no CPU fallback is made when the GPU is asked for)"
    )]
    CudaUnavailable(String),
    /// A device name other than `cpu` or `cuda`.
    #[error("unknown device {0:?}: expected `cpu` or `cuda`")]
    UnknownDevice(String),
    /// An error reported by ONNX Runtime.
    #[error("ONNX Runtime: {0}")]
    Ort(String),
    /// The manifest or a graph file is missing, malformed or does not match its checksum.
    #[error("graph set {path}: {reason}")]
    Graphs {
        /// Folder or file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Inputs or parameters of the wrong size or shape.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// The committed data set is malformed.
    #[error("data: {0}")]
    Data(String),
}

impl<T> From<ort::Error<T>> for JepaError {
    fn from(e: ort::Error<T>) -> Self {
        JepaError::Ort(e.to_string())
    }
}
