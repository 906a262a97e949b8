//! The network half of `autonet model`: `publish FILE` (without `--out`), `fetch ID --out FILE`
//! and `status ID`.
//!
//! Each command starts a short-lived overlay peer (a fresh identity, DHT client mode) that joins
//! through `--bootstrap`. `publish` shards the file, registers its root on `ModelShardRegistry`
//! with the `aggregator` key, and hands the shards to the long-lived peers (`autonet join` runs a
//! shard host) that placement picks; the command returns once they hold them. `fetch` reads the
//! registered root from the chain (or takes `--root/--k/--m` read from it earlier), fetches any
//! k shards in parallel with a progress bar, and resumes from `<data dir>/fetch` after an
//! interruption. `status` lists the live holders of every shard.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Context, bail};
use autonet_actors::shards::fetch::get_manifest;
use autonet_actors::shards::repair::live_holders;
use autonet_actors::shards::{
    ChainRoots, FetchEvent, FetchOptions, HostConfig, KnownRoot, PublishOptions, RegisteredRoot,
    ShardHost, fetch, publish,
};
use autonet_contracts::pending::PendingStore;
use autonet_contracts::{RpcChain, RpcConfig, discover};
use autonet_models::sharding::{ShardManifest, ShardParams};
use autonet_p2p::records::{id_from_hex, to_hex};
use autonet_p2p::testnet::poll_until;
use autonet_p2p::{Client, DhtMode, Keypair, Multiaddr, NetworkConfig};
use clap::Args;
use indicatif::ProgressBar;
use prometheus_client::registry::Registry;

use crate::chain::suite;
use crate::config::ChainConfig;

/// How to join the overlay.
#[derive(Debug, Args)]
pub struct JoinOpts {
    /// Bootstrap peers, each ending in /p2p/<peer id>.
    #[arg(
        long,
        env = "AUTONET_BOOTSTRAP",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    pub bootstrap: Vec<Multiaddr>,
}

/// `autonet model fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Model id, 64 hex digits: BLAKE3 of the model's bytes, as registered on
    /// `ModelShardRegistry` and named by an epoch's final mint root (`simulate` and `testnet`
    /// reports list each epoch's).
    pub id: String,
    /// Where to write the model (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// Overlay to fetch the manifest and shards from.
    #[command(flatten)]
    pub join: JoinOpts,
    /// JSON-RPC endpoint of the chain (reads the registered root).
    #[arg(long, env = "AUTONET_RPC_URL", value_name = "URL")]
    pub rpc_url: Option<String>,
    /// Governor address (the discovery root of the contract suite).
    #[arg(long, env = "AUTONET_GOVERNOR")]
    pub governor: Option<Address>,
    /// The registered Merkle root, if already read from the chain (instead of --rpc-url).
    #[arg(long, requires_all = ["k", "m"])]
    pub root: Option<String>,
    /// Data shards of the registered model (with --root).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=255))]
    pub k: Option<u16>,
    /// Parity shards of the registered model (with --root).
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=255))]
    pub m: Option<u16>,
    /// Shards downloaded at once [default: k].
    #[arg(long, default_value_t = 0, value_parser = crate::cli::bounds::count(0..=256))]
    pub concurrency: usize,
    /// Seconds to keep trying while no holder of the manifest, or too few holders of shards,
    /// can be found yet (a model registered moments ago is still being placed); 0 tries once.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub wait: u64,
}

/// Fetches `model`, trying again while its holders cannot be found yet, until `wait` is over.
async fn fetch_until(
    client: &Client,
    roots: &impl autonet_actors::shards::RootSource,
    model: [u8; 32],
    options: FetchOptions,
    wait: Duration,
) -> Result<autonet_actors::shards::Fetched, autonet_actors::shards::ShardError> {
    use autonet_actors::shards::ShardError;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match fetch(client, roots, model, options.clone()).await {
            Err(ShardError::ManifestNotFound(_) | ShardError::NotEnoughShards { .. })
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}

/// The manifest of `model`, asking again while no holder can be found yet, until `wait` is over.
async fn manifest_until(
    client: &Client,
    model: [u8; 32],
    wait: Duration,
) -> Result<ShardManifest, autonet_actors::shards::ShardError> {
    use autonet_actors::shards::ShardError;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match get_manifest(client, model).await {
            Err(ShardError::ManifestNotFound(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}

/// Network options of `autonet model publish` (used when `--out` is not given).
#[derive(Debug, Args)]
pub struct NetPublishOpts {
    /// Overlay whose peers receive the shards.
    #[command(flatten)]
    pub join: JoinOpts,
    /// Holders per shard.
    #[arg(long, default_value_t = 1, env = "AUTONET_SHARDS_REPLICATION", value_parser = crate::cli::bounds::count(1..=64))]
    pub replication: usize,
    /// JSON-RPC endpoint of the chain the model is registered on.
    #[arg(long, env = "AUTONET_RPC_URL", value_name = "URL")]
    pub rpc_url: Option<String>,
    /// Refuse to talk to a node that reports another chain id.
    #[arg(long, env = "AUTONET_CHAIN_ID", value_parser = clap::value_parser!(u64).range(1..))]
    pub chain_id: Option<u64>,
    /// Governor address (the discovery root).
    #[arg(long, env = "AUTONET_GOVERNOR")]
    pub governor: Option<Address>,
    /// Key that registers the model (an active aggregator).
    #[arg(
        long,
        env = "AUTONET_KEY_ROLE",
        value_enum,
        default_value = "aggregator"
    )]
    pub role: crate::peer::RoleArg,
    /// File whose first line is the keystore password [default: $AUTONET_KEY_PASSWORD].
    #[arg(long, env = "AUTONET_KEY_PASSWORD_FILE", value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Starts an ephemeral overlay peer and waits until it knows some peers.
async fn join(opts: &JoinOpts) -> anyhow::Result<Client> {
    if opts.bootstrap.is_empty() {
        bail!("--bootstrap is required for network model commands");
    }
    let mut network = NetworkConfig::new(Keypair::generate_ed25519());
    network.listen = vec!["/ip4/0.0.0.0/tcp/0".parse()?];
    network.bootstrap = opts.bootstrap.clone();
    network.dht_mode = DhtMode::Client;
    let (client, mut events, event_loop) = autonet_p2p::new(network, &mut Registry::default())?;
    tokio::spawn(event_loop.run());
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    poll_until(
        Duration::from_secs(30),
        Duration::from_millis(200),
        || async { (!client.known_peers().await.ok()?.is_empty()).then_some(()) },
    )
    .await
    .context("could not reach any bootstrap peer")?;
    Ok(client)
}

fn parse_id(text: &str, what: &str) -> anyhow::Result<[u8; 32]> {
    id_from_hex(text.trim_start_matches("0x"))
        .with_context(|| format!("{what} {text:?} is not 64 hex digits"))
}

/// `autonet model publish FILE` over the network.
pub fn publish_file(
    data_dir: &Path,
    file: &Path,
    name: String,
    version: u64,
    params: ShardParams,
    opts: &NetPublishOpts,
    json: bool,
) -> anyhow::Result<()> {
    let (Some(rpc_url), Some(governor)) = (&opts.rpc_url, opts.governor) else {
        bail!(
            "publishing over the network needs --rpc-url and --governor (or --out DIR for an offline shard folder)"
        );
    };
    let chain_config = ChainConfig {
        rpc_url: Some(rpc_url.clone()),
        chain_id: opts.chain_id,
        governor: Some(governor),
        password_file: opts.password_file.clone(),
    };
    // Sharding a large model and waiting for every holder to pull its shards takes a while.
    let spinner = crate::progress::spinner(json);
    spinner.set_message(format!("reading {}", file.display()));
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let result = runtime()?.block_on(async {
        spinner.set_message("unlocking the key and discovering the contracts");
        let (chain, me) = suite(data_dir, &chain_config, opts.role.name()).await?;
        spinner.set_message("joining the overlay");
        let client = join(&opts.join).await?;
        let mut config = HostConfig::new(data_dir);
        config.repair_interval = None;
        let host = ShardHost::start(client.clone(), config).await?;
        let mut options = PublishOptions::new(name, version);
        options.params = params;
        options.replication = opts.replication;
        spinner.set_message(format!(
            "sharding {} bytes into {} shards, registering the root, placing each shard on {} \
             peer(s)",
            bytes.len(),
            params.total(),
            opts.replication
        ));
        let published = publish(&host, &chain, me, bytes, &options).await;
        spinner.finish_and_clear();
        let published = published?;
        let m = &published.manifest;
        let holders: Vec<Vec<String>> = published
            .holders
            .iter()
            .map(|h| h.iter().map(ToString::to_string).collect())
            .collect();
        let value = serde_json::json!({
            "model": m.model, "version": m.version, "size": m.size, "id": m.id().to_hex(),
            "root": m.root.to_hex(), "k": m.k, "m": m.m, "holders": holders,
        });
        let mut text = format!(
            "model      {} v{} ({} bytes)\nid         {}\nroot       {} (registered on ModelShardRegistry)",
            m.model,
            m.version,
            m.size,
            m.id(),
            m.root
        );
        for (index, list) in holders.iter().enumerate() {
            text += &format!("\nshard {index:3}  {}", list.join(", "));
        }
        crate::output::emit(json, &value, &text)?;
        host.shutdown().await;
        let _ = client.shutdown().await;
        anyhow::Ok(())
    });
    spinner.finish_and_clear();
    result
}

fn progress_bar(json: bool) -> ProgressBar {
    crate::progress::bar(
        0,
        "{spinner} [{elapsed_precise}] {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}",
        json,
    )
}

/// `autonet model fetch ID --out FILE`.
pub fn fetch_model(data_dir: &Path, args: &FetchArgs, json: bool) -> anyhow::Result<()> {
    if args.out.exists() {
        bail!("{} exists; refusing to overwrite it", args.out.display());
    }
    let model = parse_id(&args.id, "model id")?;
    let bar = progress_bar(json);
    let sink_bar = bar.clone();
    let options = FetchOptions {
        concurrency: args.concurrency,
        progress_dir: Some(data_dir.join("fetch")),
        on_event: Some(Arc::new(move |event: &FetchEvent| match event {
            FetchEvent::Manifest { k, shard_size, .. } => {
                sink_bar.set_length(u64::from(*k) * shard_size);
            }
            FetchEvent::Bytes { bytes, .. } => sink_bar.inc(*bytes as u64),
            FetchEvent::Resumed { index } => {
                sink_bar.println(format!("shard {index} resumed from an earlier run"));
            }
            FetchEvent::Corrupt { index, from } => {
                sink_bar.println(format!(
                    "shard {index} from {from} is corrupt; provider penalized"
                ));
            }
            FetchEvent::Verified { .. } | FetchEvent::Failed { .. } => {}
        })),
    };
    let wait = Duration::from_secs(args.wait);
    let fetched = runtime()?.block_on(async {
        let client = join(&args.join).await?;
        let fetched = match (&args.root, &args.rpc_url, &args.governor) {
            (Some(root), _, _) => {
                let roots = KnownRoot {
                    model,
                    root: RegisteredRoot {
                        root: parse_id(root, "root")?,
                        k: args.k.unwrap_or_default(),
                        m: args.m.unwrap_or_default(),
                    },
                };
                fetch_until(&client, &roots, model, options, wait).await?
            }
            (None, Some(url), Some(governor)) => {
                let chain =
                    RpcChain::connect(url, vec![], PendingStore::in_memory(), RpcConfig::default())
                        .await?;
                let suite = discover(chain, *governor).await?;
                fetch_until(&client, &ChainRoots(&suite), model, options, wait).await?
            }
            _ => bail!("give --rpc-url and --governor (or --root, --k and --m) to check the model against its registered root"),
        };
        let _ = client.shutdown().await;
        anyhow::Ok(fetched)
    })?;
    bar.finish();
    std::fs::write(&args.out, &fetched.bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let r = &fetched.report;
    let value = serde_json::json!({
        "id": to_hex(&model), "out": args.out, "bytes": fetched.bytes.len(),
        "fetched": r.fetched.len(), "resumed": r.resumed.len(), "rejected": r.corrupt.len(),
    });
    let text = format!(
        "fetched {} bytes into {} (root and model hash checked): {} shards downloaded, {} resumed, {} bad shards rejected",
        fetched.bytes.len(),
        args.out.display(),
        r.fetched.len(),
        r.resumed.len(),
        r.corrupt.len()
    );
    crate::output::emit(json, &value, &text)
}

/// `autonet model status ID`: live holders of every shard.
pub fn network_status(id: &str, join_opts: &JoinOpts, wait: u64, json: bool) -> anyhow::Result<()> {
    let model = parse_id(id, "model id")?;
    runtime()?.block_on(async {
        let client = join(join_opts).await?;
        let manifest = manifest_until(&client, model, Duration::from_secs(wait)).await?;
        let live = live_holders(&client, &manifest, &[]).await;
        let available = live.iter().filter(|l| !l.is_empty()).count();
        let rebuildable = available >= usize::from(manifest.k);
        if json {
            let shards: Vec<Vec<String>> = live
                .iter()
                .map(|l| l.iter().map(ToString::to_string).collect())
                .collect();
            let out = serde_json::json!({
                "id": to_hex(&model),
                "model": manifest.model,
                "version": manifest.version,
                "k": manifest.k,
                "m": manifest.m,
                "holders": shards,
                "available": available,
                "rebuildable": rebuildable,
            });
            println!("{out}");
        } else {
            println!(
                "model {} v{} ({} bytes), id {}, root {}",
                manifest.model,
                manifest.version,
                manifest.size,
                to_hex(&model),
                manifest.root
            );
            for (index, holders) in live.iter().enumerate() {
                let list: Vec<String> = holders.iter().map(ToString::to_string).collect();
                println!(
                    "  shard {index:3}  {} live  {}",
                    holders.len(),
                    list.join(", ")
                );
            }
            println!(
                "{available} of {} shards have a live holder, {} needed: {}",
                live.len(),
                manifest.k,
                if rebuildable {
                    "rebuildable"
                } else {
                    "NOT rebuildable"
                }
            );
        }
        let _ = client.shutdown().await;
        anyhow::ensure!(
            rebuildable,
            "model {} is NOT rebuildable: {available} of {} shards have a live holder, {} needed",
            to_hex(&model),
            live.len(),
            manifest.k
        );
        Ok(())
    })
}
