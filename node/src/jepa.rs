//! The JEPA pipeline as the node uses it: the flags that choose the graph set, device and
//! training length (shared by `autonet infer --model jepa` and inference peers started with
//! `--inference jepa`), and the trained pipeline they describe, kept as a checkpoint in the
//! data dir so that a later call loads it instead of training again, and resumes from it when
//! asked for more steps.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use autonet_models::jepa::checkpoint::{encode, restore};
use autonet_models::jepa::pipeline::TrainReport;
use autonet_models::jepa::verify::layout_fingerprint;
use autonet_models::jepa::{Device, GraphSource, Pipeline};
use clap::Args;

use crate::config::InferenceConfig;

/// Which JEPA graphs run where, and how long they train before answering. Each flag is also a
/// key of the config file's `[inference]` table.
#[derive(Debug, Clone, Args)]
pub struct JepaArgs {
    /// `cpu` or `cuda` (an error when the CUDA provider is unusable; never a silent fallback)
    /// [default: cpu].
    #[arg(long, env = "AUTONET_JEPA_DEVICE")]
    pub device: Option<String>,
    /// Graph set: `tiny`, `default`, or a folder written by scripts/jepa-graphs/generate.py
    /// [default: tiny].
    #[arg(long, env = "AUTONET_JEPA_GRAPHS")]
    pub graphs: Option<String>,
    /// VL-JEPA training steps before answering (a checkpoint with fewer resumes to this many)
    /// [default: 100].
    #[arg(long, env = "AUTONET_JEPA_TRAIN_STEPS", value_parser = crate::cli::bounds::count(0..=1_000_000))]
    pub train_steps: Option<usize>,
    /// Decoder training steps before answering [default: 400].
    #[arg(long, env = "AUTONET_JEPA_DECODER_STEPS", value_parser = crate::cli::bounds::count(0..=1_000_000))]
    pub decoder_steps: Option<usize>,
}

/// Seed of the node's pipeline: every node that trains the same graphs for the same steps
/// holds the same model, so a peer's plans decode with the local decoder.
pub const PIPELINE_SEED: u64 = 1;
/// Seed of the training batches.
pub const TRAIN_SEED: u64 = 2;
/// Folder of checkpoints inside the data dir.
pub const CHECKPOINT_DIR: &str = "jepa";

/// How the pipeline came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Trained from scratch (then saved).
    Trained,
    /// Loaded from the checkpoint as it was.
    Loaded,
    /// Loaded, trained on to the asked steps, saved again.
    Resumed,
}

impl Origin {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Trained => "trained",
            Origin::Loaded => "loaded",
            Origin::Resumed => "resumed",
        }
    }
}

/// A ready pipeline.
#[derive(Debug)]
pub struct Prepared {
    /// The trained VL-JEPA encoder and FiLM decoder, at least at the asked steps.
    pub pipeline: Pipeline,
    /// What this call's training did (no steps when loaded as it was).
    pub report: TrainReport,
    /// Whether the checkpoint was trained from scratch, loaded, or loaded and trained on.
    pub origin: Origin,
    /// The checkpoint file.
    pub checkpoint: PathBuf,
}

/// The checkpoint file of a pipeline's graph set (named by its layouts) in `data_dir`.
pub fn checkpoint_path(data_dir: &Path, pipeline: &Pipeline) -> PathBuf {
    let mut h = blake3::Hasher::new();
    h.update(&layout_fingerprint(&pipeline.vl.model.layout));
    h.update(&layout_fingerprint(&pipeline.decoder.model.layout));
    h.update(&PIPELINE_SEED.to_le_bytes());
    let name = format!(
        "vl-jepa-{}.ckpt",
        &hex::encode(h.finalize().as_bytes())[..16]
    );
    data_dir.join(CHECKPOINT_DIR).join(name)
}

/// Loads the pipeline's checkpoint from `data_dir` if there is one, trains (on) to the steps
/// `args` asks for, and saves the checkpoint atomically when training happened. A checkpoint
/// that cannot be read is an error that names the file, which is left untouched. `json`: the
/// caller prints JSON, so no progress bar either.
pub fn load_or_train(
    args: &InferenceConfig,
    data_dir: &Path,
    json: bool,
) -> anyhow::Result<Prepared> {
    let device: Device = args.device.parse()?;
    let source = GraphSource::parse(&args.graphs)?;
    let mut pipeline = Pipeline::new(&source, device, PIPELINE_SEED)?;
    let path = checkpoint_path(data_dir, &pipeline);
    let restored = match std::fs::read(&path) {
        Ok(bytes) => {
            restore(&mut pipeline, &bytes).with_context(|| {
                format!(
                    "checkpoint {} cannot be used (move it away to train from scratch)",
                    path.display()
                )
            })?;
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let done = pipeline.progress;
    let more =
        done.vl_steps < args.train_steps as u64 || done.dec_steps < args.decoder_steps as u64;
    let vl = args.train_steps.max(done.vl_steps as usize);
    let dec = args.decoder_steps.max(done.dec_steps as usize);
    // Minutes for the default graphs: a bar on a terminal (hidden elsewhere and with --json).
    let bar = crate::progress::bar(
        (vl + dec) as u64,
        "training the served model {bar:40} {pos}/{len} steps (eta {eta}) {msg}",
        json,
    );
    let report = pipeline.train_with_progress(vl, dec, TRAIN_SEED, &mut |p| {
        bar.set_position(p.vl_steps + p.dec_steps);
    })?;
    bar.finish_and_clear();
    if more || !restored {
        write_atomically(&path, &encode(&pipeline))?;
    }
    let origin = match (restored, more) {
        (false, _) => Origin::Trained,
        (true, false) => Origin::Loaded,
        (true, true) => Origin::Resumed,
    };
    Ok(Prepared {
        pipeline,
        report,
        origin,
        checkpoint: path,
    })
}

/// Writes `bytes` to `path` through a synced temporary file and a rename, so a crash leaves
/// either the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("checkpoint path has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path)
        .with_context(|| format!("cannot save {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
