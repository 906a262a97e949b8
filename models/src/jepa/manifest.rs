//! The generator's manifest (`models/graphs/<config>/manifest.json`) and the graph files.
//!
//! The committed graph sets are compiled into the binary, so a node needs no files at run time;
//! a set generated elsewhere (for example into `target/`) loads from its folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::JepaError;

/// Model sizes of one config (see scripts/jepa-graphs/models.py).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Image side in pixels.
    pub image: usize,
    /// Patch side in pixels.
    pub patch: usize,
    /// Image channels.
    pub channels: usize,
    /// Embedding width D.
    pub dim: usize,
    /// Number of latent plan vectors K.
    pub latents: usize,
    /// Text length T (tokens per caption, padded).
    pub text_len: usize,
    /// Vocabulary size (4 specials + 256 bytes).
    pub vocab: usize,
    /// Batch size of the loss, gradient and train-step graphs.
    pub batch: usize,
}

impl Config {
    /// Patches per image.
    pub fn patches(&self) -> usize {
        (self.image / self.patch).pow(2)
    }
}

/// How a parameter is initialised.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Init {
    /// Normal with mean 0.
    Normal {
        /// Standard deviation.
        std: f64,
    },
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// FiLM bias: first half ones (gamma), second half zeros (beta).
    Film,
}

/// One parameter tensor, in the order of the flat buffer.
#[derive(Debug, Clone, Deserialize)]
pub struct ParamSpec {
    /// Name, also the graph input name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Initialisation rule.
    pub init: Init,
    /// Whether the inference graph reads it (the TextJEPA predictor's parameters are not).
    pub in_infer: bool,
}

/// One graph file.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphFile {
    /// File name inside the set's folder.
    pub file: String,
}

/// One model (`vl`, `txt`, `dec`): parameters and graphs by kind (`infer`, `loss`, `grad`,
/// `grad_f64`, `train_step`).
#[derive(Debug, Clone, Deserialize)]
pub struct ModelManifest {
    /// Name of the inference graph's output.
    pub infer_output: String,
    /// Parameters in flat-buffer order.
    pub params: Vec<ParamSpec>,
    /// Graph files by kind.
    pub graphs: BTreeMap<String, GraphFile>,
}

/// A whole manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// Config name (`tiny`, `default`).
    pub config_name: String,
    /// Sizes.
    pub config: Config,
    /// Models by name.
    pub models: BTreeMap<String, ModelManifest>,
}

/// Where a graph set's bytes come from.
#[derive(Debug, Clone)]
pub enum GraphSource {
    /// Compiled into the binary (the committed `tiny` and `default` sets).
    Embedded(&'static str),
    /// A folder holding manifest.json and the graph files.
    Dir(PathBuf),
}

/// Committed graph files, by config.
fn embedded(config: &str) -> Option<&'static [(&'static str, &'static [u8])]> {
    macro_rules! files {
        ($c:literal; $($m:literal),*) => {
            &[
                ("manifest.json", include_bytes!(concat!("../../graphs/", $c, "/manifest.json")) as &[u8]),
                $(
                    (concat!($m, "_infer.onnx"), include_bytes!(concat!("../../graphs/", $c, "/", $m, "_infer.onnx")) as &[u8]),
                    (concat!($m, "_loss.onnx"), include_bytes!(concat!("../../graphs/", $c, "/", $m, "_loss.onnx")) as &[u8]),
                    (concat!($m, "_grad.onnx"), include_bytes!(concat!("../../graphs/", $c, "/", $m, "_grad.onnx")) as &[u8]),
                    (concat!($m, "_train_step.onnx"), include_bytes!(concat!("../../graphs/", $c, "/", $m, "_train_step.onnx")) as &[u8]),
                )*
            ]
        };
    }
    const TINY: &[(&str, &[u8])] = files!("tiny"; "vl", "txt", "dec");
    const TINY_F64: &[(&str, &[u8])] = &[
        (
            "vl_grad_f64.onnx",
            include_bytes!("../../graphs/tiny/vl_grad_f64.onnx"),
        ),
        (
            "txt_grad_f64.onnx",
            include_bytes!("../../graphs/tiny/txt_grad_f64.onnx"),
        ),
        (
            "dec_grad_f64.onnx",
            include_bytes!("../../graphs/tiny/dec_grad_f64.onnx"),
        ),
    ];
    const DEFAULT: &[(&str, &[u8])] = files!("default"; "vl", "txt", "dec");
    match config {
        "tiny" => Some(TINY),
        "tiny-f64" => Some(TINY_F64),
        "default" => Some(DEFAULT),
        _ => None,
    }
}

impl GraphSource {
    /// Reads one file of the set.
    pub fn read(&self, file: &str) -> Result<Vec<u8>, JepaError> {
        match self {
            GraphSource::Embedded(config) => {
                let sets = [embedded(config), embedded(&format!("{config}-f64"))];
                sets.iter()
                    .flatten()
                    .flat_map(|set| set.iter())
                    .find(|(name, _)| *name == file)
                    .map(|(_, bytes)| bytes.to_vec())
                    .ok_or_else(|| JepaError::Graphs {
                        path: PathBuf::from(format!("<embedded {config}>/{file}")),
                        reason: "no such embedded graph".to_string(),
                    })
            }
            GraphSource::Dir(dir) => {
                let path = dir.join(file);
                std::fs::read(&path).map_err(|e| JepaError::Graphs {
                    path,
                    reason: e.to_string(),
                })
            }
        }
    }

    /// Parses the set's manifest.
    pub fn manifest(&self) -> Result<Manifest, JepaError> {
        let bytes = self.read("manifest.json")?;
        serde_json::from_slice(&bytes).map_err(|e| JepaError::Graphs {
            path: self.describe().join("manifest.json"),
            reason: e.to_string(),
        })
    }

    fn describe(&self) -> PathBuf {
        match self {
            GraphSource::Embedded(config) => PathBuf::from(format!("<embedded {config}>")),
            GraphSource::Dir(dir) => dir.clone(),
        }
    }

    /// A source for a config name (`tiny`, `default`) or a folder path.
    pub fn parse(spec: &str) -> Result<GraphSource, JepaError> {
        match spec {
            "tiny" => Ok(GraphSource::Embedded("tiny")),
            "default" => Ok(GraphSource::Embedded("default")),
            path if Path::new(path).join("manifest.json").is_file() => {
                Ok(GraphSource::Dir(PathBuf::from(path)))
            }
            other => Err(JepaError::Graphs {
                path: PathBuf::from(other),
                reason: "neither `tiny`, `default` nor a folder with manifest.json".to_string(),
            }),
        }
    }
}
