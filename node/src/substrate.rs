//! `autonet substrate …` and `autonet infer --model substrate`: the world-model substrate from
//! the command line. File reading and printing live here; the engine is `autonet_models::substrate`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use autonet_models::substrate::{
    Bundle, EventCounts, World, infer::infer, keyword::KeywordEmbedder, sample, solver,
};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::Value;

/// Largest turn file accepted.
const MAX_TURN_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// `autonet substrate`.
#[derive(Debug, Args)]
pub struct SubstrateArgs {
    /// What to do with the substrate.
    #[command(subcommand)]
    pub command: SubstrateCommand,
}

/// The `autonet substrate` subcommands; each variant's doc comment is its `--help` text.
#[derive(Debug, Subcommand)]
pub enum SubstrateCommand {
    /// Train a world on a JSONL turn stream (in tasks of at most --task-size turns, as solvers do)
    /// and print its root scores, node count, world hash and event counts.
    Replay(ReplayArgs),
    /// Print a deterministic synthetic turn stream as JSONL (for benchmarks and cross-checks).
    Sample(SampleArgs),
}

/// `autonet substrate replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// JSONL file of turns, one JSON object per line (impact fields or transcript text).
    #[arg(long, env = "AUTONET_SUBSTRATE_TURNS", value_name = "FILE.jsonl")]
    pub turns: PathBuf,
    /// Passes over each task's turns.
    #[arg(long, default_value_t = 1, env = "AUTONET_SUBSTRATE_EPOCHS", value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub epochs: u32,
    /// Most turns per task (each task starts from the world the previous one left).
    #[arg(long, default_value_t = 256, env = "AUTONET_SUBSTRATE_TASK_SIZE", value_parser = crate::cli::bounds::count(1..=1_000_000))]
    pub task_size: usize,
    /// Author recorded in the events.
    #[arg(long, default_value = "cli", env = "AUTONET_SUBSTRATE_AUTHOR")]
    pub author: String,
    /// Start from this world model (CBOR) instead of the charter world.
    #[arg(long, env = "AUTONET_SUBSTRATE_WORLD", value_name = "FILE")]
    pub world: Option<PathBuf>,
    /// Write the resulting world model (CBOR) here.
    #[arg(long, env = "AUTONET_SUBSTRATE_OUT", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, env = "AUTONET_SUBSTRATE_JSON")]
    pub json: bool,
    /// Write the world state after every turn here, one JSON line per turn (the
    /// engine-neutral form `scripts/fuzz-prototype` compares with the prototype's).
    #[arg(long, env = "AUTONET_SUBSTRATE_TRACE", value_name = "FILE.jsonl")]
    pub trace: Option<PathBuf>,
}

/// `autonet substrate sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Number of turns.
    #[arg(long, default_value_t = 200, env = "AUTONET_SUBSTRATE_SAMPLE_TURNS", value_parser = crate::cli::bounds::count(1..=10_000_000))]
    pub count: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 1, env = "AUTONET_SUBSTRATE_SAMPLE_SEED")]
    pub seed: u64,
}

/// What `substrate replay` reports.
#[derive(Debug, Serialize)]
pub struct ReplayReport {
    /// Turns read from the file.
    pub turns: usize,
    /// Passes over each task's turns (`--epochs`).
    pub epochs: u32,
    /// Tasks the turns were split into (`--task-size` turns each, the last one shorter).
    pub tasks: usize,
    /// Root scores keyed by tendency id.
    pub root_scores: BTreeMap<String, f64>,
    /// Distinct nodes, roots included.
    pub unique_nodes: usize,
    /// Σ over trees of tree sizes (a co-parented node counts once per tree).
    pub tree_occurrences: usize,
    /// The resulting world's hash (BLAKE3 of its canonical encoding), hex.
    pub world_hash: String,
    /// Events of all bundles, by kind.
    pub events: EventCounts,
    /// Observation plus sprout events (the prototype's "events total").
    pub events_total: usize,
    /// Content id of each task's bundle, hex, in task order.
    pub bundle_ids: Vec<String>,
    /// Wall-clock seconds spent training (reading the file excluded).
    pub seconds: f64,
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly instead of panicking.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

/// Reads a JSONL turn file: one JSON object per non-blank line.
pub fn read_turns(path: &Path) -> anyhow::Result<Vec<Value>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MAX_TURN_FILE_BYTES {
        bail!(
            "{} is {} bytes; the limit is {MAX_TURN_FILE_BYTES}",
            path.display(),
            meta.len()
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut turns = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not valid JSON", path.display(), i + 1))?;
        if !v.is_object() {
            bail!("{}:{}: a turn must be a JSON object", path.display(), i + 1);
        }
        turns.push(v);
    }
    Ok(turns)
}

fn load_world(path: Option<&Path>) -> anyhow::Result<World> {
    match path {
        None => Ok(World::charter_v1()),
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            World::decode(&bytes).with_context(|| format!("{} is not a world model", p.display()))
        }
    }
}

/// Trains `world` on `turns` in tasks of at most `task_size` turns.
pub fn train_in_tasks(
    world: &mut World,
    turns: &[Value],
    task_size: usize,
    epochs: u32,
    author: &str,
) -> anyhow::Result<Vec<Bundle>> {
    train_in_tasks_traced(world, turns, task_size, epochs, author, &mut |_, _, _| {})
}

/// [`train_in_tasks`], calling `on_turn(world, epoch, turn index in its task)` after every turn.
pub fn train_in_tasks_traced(
    world: &mut World,
    turns: &[Value],
    task_size: usize,
    epochs: u32,
    author: &str,
    on_turn: &mut dyn FnMut(&World, u32, usize),
) -> anyhow::Result<Vec<Bundle>> {
    anyhow::ensure!(task_size > 0, "--task-size must be at least 1");
    let emb = KeywordEmbedder::new()?;
    let mut bundles = Vec::new();
    for (i, task) in turns.chunks(task_size).enumerate() {
        let b = solver::train_traced(world, task, epochs, author, &emb, on_turn)
            .with_context(|| format!("task {i} (turns {}..)", i * task_size))?;
        bundles.push(b);
    }
    Ok(bundles)
}

/// Trains with a per-turn state dump into `path` (see `--trace`).
fn train_with_trace(
    world: &mut World,
    turns: &[Value],
    args: &ReplayArgs,
    path: &Path,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Vec<Bundle>> {
    use std::io::Write;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut failed: Option<std::io::Error> = None;
    let bundles = train_in_tasks_traced(
        world,
        turns,
        args.task_size,
        args.epochs,
        &args.author,
        &mut |w, epoch, i| {
            bar.inc(1);
            let line = autonet_models::substrate::trace::trace_state(w, epoch, i);
            if let Err(e) = writeln!(out, "{line}")
                && failed.is_none()
            {
                failed = Some(e);
            }
        },
    )?;
    if let Some(e) = failed {
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(bundles)
}

/// `autonet substrate replay`: trains the world on the turn file and prints the report (text,
/// or JSON with `--json`), writing the world to `--out` when given.
pub fn replay(args: &ReplayArgs) -> anyhow::Result<()> {
    let turns = read_turns(&args.turns)?;
    let mut world = load_world(args.world.as_deref())?;
    let start = Instant::now();
    // Thousands of turns take minutes: a bar on a terminal (hidden elsewhere and with --json).
    let bar = crate::progress::bar(
        turns.len() as u64 * u64::from(args.epochs),
        "replaying {bar:40} {pos}/{len} turns × epochs (eta {eta})",
        args.json,
    );
    let bundles = match &args.trace {
        Some(path) => train_with_trace(&mut world, &turns, args, path, &bar),
        None => train_in_tasks_traced(
            &mut world,
            &turns,
            args.task_size,
            args.epochs,
            &args.author,
            &mut |_, _, _| bar.inc(1),
        ),
    };
    bar.finish_and_clear();
    let bundles = bundles?;
    let seconds = start.elapsed().as_secs_f64();
    let mut events = EventCounts::default();
    for b in &bundles {
        let c = EventCounts::of(&b.events);
        events.observations += c.observations;
        events.sprouts += c.sprouts;
        events.epoch_ends += c.epoch_ends;
    }
    let report = ReplayReport {
        turns: turns.len(),
        epochs: args.epochs,
        tasks: bundles.len(),
        root_scores: world.root_scores().into_iter().collect(),
        unique_nodes: world.unique_node_count(),
        tree_occurrences: world.tree_occurrences(),
        world_hash: world.hash().to_hex(),
        events,
        events_total: events.prototype_total(),
        bundle_ids: bundles.iter().map(|b| b.id().to_hex()).collect(),
        seconds,
    };
    if let Some(out) = &args.out {
        std::fs::write(out, world.encode())
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if args.json {
        return emit(&serde_json::to_string_pretty(&report)?);
    }
    let mut text = format!(
        "turns {} × {} epochs in {} tasks ({seconds:.3} s)\n",
        report.turns, report.epochs, report.tasks
    );
    for (id, s) in world.root_scores() {
        text += &format!("  {id:<28} {s}\n");
    }
    text += &format!(
        "unique nodes {} (tree occurrences {})\nevents: {} observations, {} sprouts, {} epoch ends\nworld hash {}",
        report.unique_nodes,
        report.tree_occurrences,
        events.observations,
        events.sprouts,
        events.epoch_ends,
        report.world_hash
    );
    emit(&text)
}

/// `autonet substrate sample`: prints `--count` synthetic turns from `--seed` as JSONL.
pub fn sample(args: &SampleArgs) -> anyhow::Result<()> {
    let lines: Vec<String> = sample::synthetic_turns(args.seed, args.count)
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()?;
    emit(&lines.join("\n"))
}

/// Runs an `autonet substrate` subcommand.
pub fn run(args: &SubstrateArgs) -> anyhow::Result<()> {
    match &args.command {
        SubstrateCommand::Replay(a) => replay(a),
        SubstrateCommand::Sample(a) => sample(a),
    }
}

/// `autonet infer --model substrate`: the answer as JSON.
pub fn infer_cmd(
    world: Option<&Path>,
    input: Option<&str>,
    input_file: Option<&Path>,
) -> anyhow::Result<()> {
    let text = match (input, input_file) {
        (Some(s), None) => s.to_string(),
        (None, Some(p)) => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        _ => bail!("give the substrate's input with --input JSON or --input-file FILE"),
    };
    let input: Value = serde_json::from_str(&text).context("the input is not valid JSON")?;
    let world = load_world(world)?;
    let answer = infer(&world, &input, &KeywordEmbedder::new()?)?;
    emit(&serde_json::to_string_pretty(&answer)?)
}
