//! `autonet model publish|fetch|status|rebuild`.
//!
//! Offline, `publish FILE --out DIR` shards a model file with `models::sharding` and writes the
//! manifest (`manifest.cbor`, canonical CBOR) and one file per shard (`shard-NNN.bin`) into a new
//! folder; `status DIR` checks every shard file against its Merkle leaf and says whether the
//! model can be rebuilt; `rebuild DIR --out FILE` rebuilds it from whichever shards check out.
//! Over the network ([`crate::model_net`]), `publish FILE` (no `--out`) registers the model on
//! chain and places its shards on peers, `fetch ID --out FILE` fetches and checks it, and
//! `status ID` lists the live holders of every shard.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use autonet_models::sharding::{self, ShardManifest, ShardParams, ShardingError};
use clap::{Args, Subcommand};
use serde::Serialize;

const MANIFEST_FILE: &str = "manifest.cbor";

/// `autonet model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Print the result as one JSON object (ids as 64 hex digits, as everywhere): publish
    /// `{"model", "version", "size", "id", "root", "k", "m", …}` with `"out"` (offline) or
    /// `"holders"` (per shard); fetch `{"id", "out", "bytes", "fetched", "resumed",
    /// "rejected"}`; status (see its help); rebuild `{"out", "bytes"}`.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do with the model or its shards.
    #[command(subcommand)]
    pub command: ModelCommand,
}

/// The `autonet model` subcommands; each variant's doc comment is its `--help` text.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Shard FILE into k data + m parity shards: with --out, into a new folder (offline);
    /// otherwise register it on chain and hand the shards to peers of the overlay.
    Publish(PublishArgs),
    /// Fetch a published model from the overlay, checked against its registered root.
    Fetch(crate::model_net::FetchArgs),
    /// A shard folder (DIR): each shard against its Merkle leaf and whether k good ones remain;
    /// a model id (ID, with --bootstrap): the live holders of every shard.
    Status(StatusArgs),
    /// Rebuild the model from a shard folder's good shards and check it against the model hash.
    Rebuild(RebuildArgs),
}

/// `autonet model publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The model file.
    pub file: PathBuf,
    /// Folder to create for the manifest and shards (must not exist or be empty); without it
    /// the model is published over the network.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Model name recorded in the manifest [default: the file name].
    #[arg(long)]
    pub name: Option<String>,
    /// Model version recorded in the manifest (`--version` is autonet's own version flag).
    #[arg(long, env = "AUTONET_MODEL_VERSION", default_value_t = 0, value_parser = clap::value_parser!(u64).range(..=u64::from(u32::MAX)))]
    pub model_version: u64,
    /// Data shards.
    #[arg(long, default_value_t = 10, env = "AUTONET_SHARDS_K", value_parser = crate::cli::bounds::count(1..=255))]
    pub k: usize,
    /// Parity shards.
    #[arg(long, default_value_t = 4, env = "AUTONET_SHARDS_M", value_parser = crate::cli::bounds::count(0..=255))]
    pub m: usize,
    /// Overlay, chain and key to publish with (ignored with --out).
    #[command(flatten)]
    pub net: crate::model_net::NetPublishOpts,
}

/// `autonet model status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A folder written by `autonet model publish --out`, or a model id (64 hex digits).
    pub target: String,
    /// Overlay to ask for a model id's holders (unused for a folder).
    #[command(flatten)]
    pub join: crate::model_net::JoinOpts,
    /// Seconds to keep asking while no holder of the manifest can be found yet (a peer that
    /// just joined the overlay may not reach the DHT records at once); 0 asks once.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub wait: u64,
}

/// `autonet model rebuild`.
#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// A folder written by `autonet model publish`.
    pub dir: PathBuf,
    /// Where to write the model (must not exist).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs a `model` subcommand; `data_dir` holds fetch progress and the publisher's staging.
pub fn run(args: &ModelArgs, data_dir: &Path) -> anyhow::Result<()> {
    match &args.command {
        ModelCommand::Publish(a) => match &a.out {
            Some(out) => publish(a, out, args.json),
            None => {
                let params = ShardParams::new(a.k, a.m)?;
                crate::model_net::publish_file(
                    data_dir,
                    &a.file,
                    model_name(a),
                    a.model_version,
                    params,
                    &a.net,
                    args.json,
                )
            }
        },
        ModelCommand::Fetch(a) => crate::model_net::fetch_model(data_dir, a, args.json),
        ModelCommand::Status(a) => {
            let dir = PathBuf::from(&a.target);
            let id = a.target.trim_start_matches("0x");
            if !dir.is_dir() && autonet_p2p::records::id_from_hex(id).is_some() {
                crate::model_net::network_status(&a.target, &a.join, a.wait, args.json)
            } else {
                status(&dir, args.json)
            }
        }
        ModelCommand::Rebuild(a) => rebuild(a, args.json),
    }
}

fn model_name(args: &PublishArgs) -> String {
    match &args.name {
        Some(n) => n.clone(),
        None => args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".to_string()),
    }
}

fn shard_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("shard-{index:03}.bin"))
}

fn publish(args: &PublishArgs, out: &Path, json: bool) -> anyhow::Result<()> {
    let params = ShardParams::new(args.k, args.m)?;
    if out.exists()
        && fs::read_dir(out)
            .with_context(|| format!("cannot read {}", out.display()))?
            .next()
            .is_some()
    {
        bail!("{} exists and is not empty", out.display());
    }
    // A model of gigabytes takes a while to read, encode and write: a bar per shard written.
    let bar = crate::progress::bar(
        params.total() as u64,
        "{spinner} [{elapsed_precise}] {msg} {bar:30} {pos}/{len} shards",
        json,
    );
    bar.set_message(format!("reading and sharding {}", args.file.display()));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let bytes =
        fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let name = model_name(args);
    let encoded = sharding::encode(&name, args.model_version, &bytes, params)?;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    bar.set_message(format!("writing into {}", out.display()));
    for (i, shard) in encoded.shards.iter().enumerate() {
        let path = shard_path(out, i);
        fs::write(&path, shard).with_context(|| format!("cannot write {}", path.display()))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    // The manifest goes last, so a folder with a manifest always has all its shards written.
    let path = out.join(MANIFEST_FILE);
    fs::write(&path, encoded.manifest.to_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let m = &encoded.manifest;
    let value = serde_json::json!({
        "model": m.model, "version": m.version, "size": m.size, "id": m.id().to_hex(),
        "root": m.root.to_hex(), "k": m.k, "m": m.m, "shard_size": m.shard_size,
        "shards": m.leaves.len(), "out": out,
    });
    let text = format!(
        "model      {} v{} ({} bytes)\nid         {}\nroot       {}\n\
         shards     {} x {} bytes (k={}, m={}) in {}\n\
         note       offline only (publish without --out to register and place it)",
        m.model,
        m.version,
        m.size,
        m.id(),
        m.root,
        m.leaves.len(),
        m.shard_size,
        m.k,
        m.m,
        out.display()
    );
    crate::output::emit(json, &value, &text)
}

fn read_manifest(dir: &Path) -> anyhow::Result<ShardManifest> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    ShardManifest::from_bytes(&bytes).with_context(|| format!("bad manifest {}", path.display()))
}

/// Health of one shard file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum ShardHealth {
    Ok,
    Missing,
    Corrupt(String),
}

/// Reads and checks every shard; returns each one's health and the good ones' bytes.
fn check_shards(dir: &Path, manifest: &ShardManifest) -> (Vec<ShardHealth>, Vec<(usize, Vec<u8>)>) {
    let mut health = Vec::new();
    let mut good = Vec::new();
    for index in 0..manifest.leaves.len() {
        match fs::read(shard_path(dir, index)) {
            Err(_) => health.push(ShardHealth::Missing),
            Ok(bytes) => match sharding::verify_shard(manifest, index, &bytes) {
                Ok(()) => {
                    health.push(ShardHealth::Ok);
                    good.push((index, bytes));
                }
                Err(e) => health.push(ShardHealth::Corrupt(e.to_string())),
            },
        }
    }
    (health, good)
}

#[derive(Debug, Serialize)]
struct StatusReport {
    manifest: String,
    model: String,
    version: u64,
    size: u64,
    k: u16,
    m: u16,
    shards: Vec<ShardHealth>,
    good: usize,
    rebuildable: bool,
}

fn status(dir: &Path, json: bool) -> anyhow::Result<()> {
    let manifest = read_manifest(dir)?;
    let (shards, good) = check_shards(dir, &manifest);
    let report = StatusReport {
        manifest: manifest.id().to_hex(),
        model: manifest.model.clone(),
        version: manifest.version,
        size: manifest.size,
        k: manifest.k,
        m: manifest.m,
        good: good.len(),
        rebuildable: good.len() >= usize::from(manifest.k),
        shards,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return not_rebuildable(dir, &report);
    }
    println!(
        "model {} v{} ({} bytes), manifest {}",
        report.model, report.version, report.size, report.manifest
    );
    for (i, h) in report.shards.iter().enumerate() {
        match h {
            ShardHealth::Ok => println!("  shard {i:3}  ok"),
            ShardHealth::Missing => println!("  shard {i:3}  missing"),
            ShardHealth::Corrupt(why) => println!("  shard {i:3}  corrupt: {why}"),
        }
    }
    println!(
        "{} of {} shards good, {} needed: {}",
        report.good,
        report.shards.len(),
        report.k,
        if report.rebuildable {
            "rebuildable"
        } else {
            "NOT rebuildable"
        }
    );
    not_rebuildable(dir, &report)
}

/// `model status` exits non-zero when the model cannot be rebuilt, after printing the report.
fn not_rebuildable(dir: &Path, report: &StatusReport) -> anyhow::Result<()> {
    if report.rebuildable {
        return Ok(());
    }
    bail!(
        "model {} in {} is NOT rebuildable: {} of {} shards are good, {} needed",
        report.model,
        dir.display(),
        report.good,
        report.shards.len(),
        report.k
    )
}

fn rebuild(args: &RebuildArgs, json: bool) -> anyhow::Result<()> {
    if args.out.exists() {
        bail!("{} exists; refusing to overwrite it", args.out.display());
    }
    let manifest = read_manifest(&args.dir)?;
    let (_, good) = check_shards(&args.dir, &manifest);
    let model = sharding::rebuild(&manifest, good).map_err(|e| match e {
        ShardingError::TooFewShards { have, need } => {
            anyhow::anyhow!(
                "only {have} good shards in {}, {need} needed",
                args.dir.display()
            )
        }
        other => other.into(),
    })?;
    fs::write(&args.out, &model).with_context(|| format!("cannot write {}", args.out.display()))?;
    let value = serde_json::json!({ "out": args.out, "bytes": model.len() });
    let text = format!(
        "rebuilt {} bytes into {} (model hash checked)",
        model.len(),
        args.out.display()
    );
    crate::output::emit(json, &value, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_status_and_rebuild_survive_lost_and_corrupt_shards() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("weights.bin");
        let bytes: Vec<u8> = (0..10_007u32).map(|i| (i * 31 % 251) as u8).collect();
        fs::write(&file, &bytes).unwrap();
        let out = dir.path().join("shards");
        let args = PublishArgs {
            file,
            out: Some(out.clone()),
            name: None,
            model_version: 2,
            k: 4,
            m: 2,
            net: crate::model_net::NetPublishOpts {
                join: crate::model_net::JoinOpts { bootstrap: vec![] },
                replication: 1,
                rpc_url: None,
                chain_id: None,
                governor: None,
                role: crate::peer::RoleArg::Aggregator,
                password_file: None,
            },
        };
        publish(&args, &out, false).unwrap();
        assert!(
            publish(&args, &out, false)
                .unwrap_err()
                .to_string()
                .contains("not empty")
        );

        let manifest = read_manifest(&out).unwrap();
        assert_eq!(manifest.model, "weights.bin");
        fs::remove_file(shard_path(&out, 0)).unwrap();
        let mut corrupt = fs::read(shard_path(&out, 3)).unwrap();
        corrupt[0] ^= 1;
        fs::write(shard_path(&out, 3), corrupt).unwrap();
        let (health, good) = check_shards(&out, &manifest);
        assert_eq!(health[0], ShardHealth::Missing);
        assert!(matches!(&health[3], ShardHealth::Corrupt(why) if why.contains("shard 3")));
        assert_eq!(good.len(), 4);

        let rebuilt = dir.path().join("rebuilt.bin");
        rebuild(
            &RebuildArgs {
                dir: out.clone(),
                out: rebuilt.clone(),
            },
            false,
        )
        .unwrap();
        assert_eq!(fs::read(&rebuilt).unwrap(), bytes);

        fs::remove_file(shard_path(&out, 1)).unwrap();
        let err = rebuild(
            &RebuildArgs {
                dir: out,
                out: dir.path().join("again.bin"),
            },
            false,
        )
        .unwrap_err();
        assert!(err.to_string().contains("only 3 good shards"), "{err}");
    }
}
