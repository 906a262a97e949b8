//! `autonet infer --model jepa`: answer a query with the local JEPA pipeline and report which
//! path of two-speed inference answered. `autonet infer --model substrate` answers from a
//! world-model substrate (see `crate::substrate`).
//!
//! The node trains VL-JEPA and the FiLM decoder on the committed digits (deterministic seeds; a
//! few seconds for the tiny config), encodes the chosen held-out digit with the prompt, routes
//! the plan through the two-speed cache and decodes it locally. The slow path asks inference
//! peers over the overlay's request-response protocol; until the overlay is wired in, no peer
//! is reachable, so the fast path answers with the local plan and says so.

use anyhow::Context;
use autonet_models::jepa::data::{caption, committed_digits};
use autonet_models::jepa::two_speed::Offline;
use autonet_models::jepa::{Device, GraphSource, Pipeline};
use clap::{Args, ValueEnum};

/// Which model answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InferModel {
    /// VL-JEPA plan + local FiLM decoder (ONNX Runtime).
    Jepa,
    /// World-model substrate: alignment mode for turn-shaped input, general mode otherwise.
    Substrate,
}

#[derive(Debug, Args)]
pub struct InferArgs {
    /// The model to ask.
    #[arg(long, value_enum, env = "AUTONET_INFER_MODEL")]
    pub model: InferModel,
    /// Index of the held-out digit image to describe (0..297).
    #[arg(long, default_value_t = 0, env = "AUTONET_INFER_DIGIT")]
    pub digit: usize,
    /// Prompt given to the text encoder with the image.
    #[arg(long, default_value = "digit", env = "AUTONET_INFER_PROMPT")]
    pub prompt: String,
    /// `cpu` or `cuda` (an error when the CUDA provider is unusable; never a silent fallback).
    #[arg(long, default_value = "cpu", env = "AUTONET_JEPA_DEVICE")]
    pub device: String,
    /// Graph set: `tiny`, `default`, or a folder written by scripts/jepa-graphs/generate.py.
    #[arg(long, default_value = "tiny", env = "AUTONET_JEPA_GRAPHS")]
    pub graphs: String,
    /// VL-JEPA training steps before answering.
    #[arg(long, default_value_t = 100, env = "AUTONET_JEPA_TRAIN_STEPS")]
    pub train_steps: usize,
    /// Decoder training steps before answering.
    #[arg(long, default_value_t = 400, env = "AUTONET_JEPA_DECODER_STEPS")]
    pub decoder_steps: usize,
    /// Print the answer as JSON.
    #[arg(long, env = "AUTONET_INFER_JSON")]
    pub json: bool,
    /// Substrate: world model (CBOR) to answer from [default: the charter world].
    #[arg(long, env = "AUTONET_INFER_WORLD", value_name = "FILE")]
    pub world: Option<std::path::PathBuf>,
    /// Substrate: the input as JSON ({"turns": [...]}, a turn or impact fields for alignment mode;
    /// anything else, e.g. {"text": "..."}, for general mode).
    #[arg(long, env = "AUTONET_INFER_INPUT", conflicts_with = "input_file")]
    pub input: Option<String>,
    /// Substrate: read the JSON input from this file instead.
    #[arg(long, env = "AUTONET_INFER_INPUT_FILE", value_name = "FILE")]
    pub input_file: Option<std::path::PathBuf>,
}

pub fn run(args: &InferArgs) -> anyhow::Result<()> {
    match args.model {
        InferModel::Jepa => run_jepa(args),
        InferModel::Substrate => crate::substrate::infer_cmd(
            args.world.as_deref(),
            args.input.as_deref(),
            args.input_file.as_deref(),
        ),
    }
}

fn run_jepa(args: &InferArgs) -> anyhow::Result<()> {
    let device: Device = args.device.parse()?;
    let source = GraphSource::parse(&args.graphs)?;
    let (_, held_out) = committed_digits()?;
    let digit = held_out.get(args.digit).with_context(|| {
        format!(
            "--digit {} is out of range (0..{})",
            args.digit,
            held_out.len()
        )
    })?;
    let mut pipeline = Pipeline::new(&source, device, 1)?;
    let report = pipeline.train(args.train_steps, args.decoder_steps, 2)?;
    let answer = pipeline.answer(digit, &args.prompt, &mut Offline)?;
    let truth = caption(digit.label);
    if args.json {
        let out = serde_json::json!({
            "answer": answer.text,
            "path": answer.path.to_string(),
            "label_caption": truth,
            "decoder_loss": [report.dec_first, report.dec_last],
            "vl_loss": [report.vl_first.map(|p| p.loss), report.vl_last.map(|p| p.loss)],
        });
        println!("{out}");
    } else {
        println!("answer: {}", answer.text);
        println!("path: {}", answer.path);
        println!("label caption: {truth}");
        println!(
            "decoder loss: {:.3} -> {:.3}",
            report.dec_first, report.dec_last
        );
    }
    Ok(())
}
