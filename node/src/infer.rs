//! `autonet infer --model jepa`: answer a query with the local JEPA pipeline and report which
//! path of two-speed inference answered. `autonet infer --model substrate` answers from a
//! world-model substrate (see `crate::substrate`).
//!
//! The node trains VL-JEPA and the FiLM decoder on the committed digits (deterministic seeds; a
//! few seconds for the tiny config), encodes the chosen held-out digit with the prompt, routes
//! the plan through the two-speed cache and decodes it locally. A new query goes to the slow
//! path: the inference peers given by `--peer` are asked over the overlay's RPC protocol
//! ([`crate::overlay::plan_client`]) and the first answer's plan is decoded locally. With no
//! peer given, or none answering, the fast path answers with the local plan and says why.

use anyhow::Context;
use autonet_models::jepa::data::{caption, committed_digits};
use autonet_models::jepa::two_speed::Offline;
use autonet_p2p::Multiaddr;
use clap::{Args, ValueEnum};

use crate::config::Config;
use crate::jepa::JepaArgs;
use crate::overlay::plan_client::OverlayPlans;

/// Which model answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InferModel {
    /// VL-JEPA plan + local FiLM decoder (ONNX Runtime).
    Jepa,
    /// World-model substrate: alignment mode for turn-shaped input, general mode otherwise.
    Substrate,
}

/// Flags of `autonet infer`.
#[derive(Debug, Args)]
pub struct InferArgs {
    /// The model to ask.
    #[arg(long, value_enum, env = "AUTONET_INFER_MODEL")]
    pub model: InferModel,
    /// Index of the held-out digit image to describe (0..297).
    #[arg(long, default_value_t = 0, env = "AUTONET_INFER_DIGIT", value_parser = crate::cli::bounds::count(0..=296))]
    pub digit: usize,
    /// Prompt given to the text encoder with the image.
    #[arg(long, default_value = "digit", env = "AUTONET_INFER_PROMPT")]
    pub prompt: String,
    /// JEPA: graph set, device and training steps of the local pipeline.
    #[command(flatten)]
    pub jepa: JepaArgs,
    /// Inference peers to ask for an updated plan (slow path), each ending in /p2p/<peer id>
    /// (repeat the flag for several); without any, only the local fast path answers.
    #[arg(
        long = "peer",
        env = "AUTONET_INFER_PEERS",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    pub peers: Vec<Multiaddr>,
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

/// Runs `autonet infer`: answers with the model `args.model` names and prints the answer and
/// the path that gave it (text, or JSON with `--json`).
pub fn run(args: &InferArgs, config: &Config) -> anyhow::Result<()> {
    match args.model {
        InferModel::Jepa => run_jepa(args, config),
        InferModel::Substrate => crate::substrate::infer_cmd(
            args.world.as_deref(),
            args.input.as_deref(),
            args.input_file.as_deref(),
        ),
    }
}

fn run_jepa(args: &InferArgs, config: &Config) -> anyhow::Result<()> {
    let (_, held_out) = committed_digits()?;
    let digit = held_out.get(args.digit).with_context(|| {
        format!(
            "--digit {} is out of range (0..{})",
            args.digit,
            held_out.len()
        )
    })?;
    let prepared = crate::jepa::load_or_train(&config.inference, &config.data_dir, args.json)?;
    let (mut pipeline, report) = (prepared.pipeline, prepared.report);
    let (answer, peers) = if args.peers.is_empty() {
        (pipeline.answer(digit, &args.prompt, &mut Offline)?, None)
    } else {
        let mut peers = OverlayPlans::start(&args.peers, pipeline.vl.config.clone())?;
        let answer = pipeline.answer(digit, &args.prompt, &mut peers);
        let answered = peers.answered.clone();
        let failures = std::mem::take(&mut peers.failures);
        peers.shutdown();
        (answer?, Some((answered, failures)))
    };
    let (answered, failures) = peers.unwrap_or_default();
    for failure in &failures {
        eprintln!("inference peer did not answer: {failure}");
    }
    let truth = caption(digit.label);
    if args.json {
        let out = serde_json::json!({
            "answer": answer.text,
            "path": answer.path.to_string(),
            "peer": answered.as_ref().map(|a| a.peer.to_string()),
            "peer_model": answered.as_ref().map(|a| hex::encode(a.model)),
            "local_model": hex::encode(pipeline.model_id()),
            "peer_failures": failures,
            "label_caption": truth,
            "checkpoint": prepared.origin.name(),
            "checkpoint_file": prepared.checkpoint,
            "trained_steps": [pipeline.progress.vl_steps, pipeline.progress.dec_steps],
            "decoder_loss": [report.dec_first, report.dec_last],
            "vl_loss": [report.vl_first.map(|p| p.loss), report.vl_last.map(|p| p.loss)],
        });
        println!("{out}");
    } else {
        println!("answer: {}", answer.text);
        match &answered {
            Some(a) => println!(
                "path: {} {} (model {})",
                answer.path,
                a.peer,
                hex::encode(a.model)
            ),
            None => println!("path: {}", answer.path),
        }
        println!("label caption: {truth}");
        println!(
            "model: {} steps (encoder), {} (decoder); checkpoint {} {}",
            pipeline.progress.vl_steps,
            pipeline.progress.dec_steps,
            prepared.origin.name(),
            prepared.checkpoint.display()
        );
        if !report.dec_first.is_nan() {
            println!(
                "decoder loss this call: {:.3} -> {:.3}",
                report.dec_first, report.dec_last
            );
        }
    }
    Ok(())
}
