//! A fetch killed with SIGKILL resumes from its progress folder and transfers only the shards it
//! had not verified. The fetcher is a child process (this test binary re-executed on the ignored
//! test [`fetch_child`]) that joins the parent's in-process network through its bootstrap peer.
//! Holders are upload-rate-limited and the child fetches one shard at a time, so the kill lands
//! after some shards and before the last.

use std::process::Stdio;
use std::time::Duration;

use alloy::primitives::B256;
use autonet_actors::shards::{FetchEvent, FetchOptions, KnownRoot, RegisteredRoot, fetch};
use autonet_contracts::Chain;
use autonet_models::sharding::ShardParams;
use autonet_p2p::Keypair;
use autonet_p2p::records::{id_from_hex, to_hex};
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::shard_net::{ShardNet, model_bytes};

const MIB: usize = 1 << 20;
const CHILD_ENV: &str = "AUTONET_SHARD_CHILD";

fn parse_list(line: &str) -> Vec<u16> {
    line.split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The child: fetch with progress in `$AUTONET_SHARD_CHILD_DIR`, one shard at a time, printing
/// each verified shard; at the end print what was resumed and fetched, and write the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of fetch_killed_by_sigkill_resumes_without_refetching"]
async fn fetch_child() -> anyhow::Result<()> {
    let Ok(boot) = std::env::var(CHILD_ENV) else {
        return Ok(());
    };
    let var = |name: &str| std::env::var(format!("{CHILD_ENV}_{name}"));
    let model = id_from_hex(&var("MODEL")?).expect("model id");
    let root = id_from_hex(&var("ROOT")?).expect("root");
    let k: u16 = var("K")?.parse()?;
    let m: u16 = var("M")?.parse()?;
    let peers: usize = var("PEERS")?.parse()?;
    let config = local_config(Keypair::generate_ed25519(), vec![boot.parse()?]);
    let peer = Peer::start(config, accept_all()).await?;
    poll_until(
        Duration::from_secs(60),
        Duration::from_millis(200),
        || async { (peer.client.known_peers().await.ok()?.len() >= peers).then_some(()) },
    )
    .await
    .expect("joined the network");
    let roots = KnownRoot {
        model,
        root: RegisteredRoot { root, k, m },
    };
    let options = FetchOptions {
        concurrency: 1,
        progress_dir: Some(var("DIR")?.into()),
        on_event: Some(std::sync::Arc::new(|event: &FetchEvent| {
            if let FetchEvent::Verified { index, .. } = event {
                println!("AUTONET-VERIFIED {index}");
            }
        })),
    };
    let fetched = fetch(&peer.client, &roots, model, options).await?;
    std::fs::write(var("OUT")?, &fetched.bytes)?;
    let list = |v: Vec<u16>| v.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
    println!("AUTONET-RESUMED {}", list(fetched.report.resumed.clone()));
    println!(
        "AUTONET-FETCHED {}",
        list(fetched.report.fetched.iter().map(|(i, _)| *i).collect())
    );
    peer.stop().await;
    Ok(())
}

fn child(net: &ShardNet, vars: &[(&str, String)]) -> anyhow::Result<tokio::process::Child> {
    let boot = net.bootstrap.tcp_addr().expect("bootstrap address");
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .args([
            "shard_resume::fetch_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, boot.to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in vars {
        command.env(format!("{CHILD_ENV}_{name}"), value);
    }
    Ok(command.spawn()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_killed_by_sigkill_resumes_without_refetching() -> anyhow::Result<()> {
    // Holders send at most 2 MiB/s; the publisher (peer 0) is not limited.
    let net = ShardNet::start(6, |i, c| {
        if i > 0 {
            c.upload_bytes_per_sec = Some(2 * MIB as u64);
        }
    })
    .await?;
    let model = model_bytes(8 * MIB, 4);
    let mut options = autonet_actors::shards::PublishOptions::new("world", 1);
    options.params = ShardParams::new(4, 2)?;
    let published = net.publish(0, model.clone(), &options).await?;
    let id = published.manifest.id().0;
    let info = net.chain.model_info(B256::from(id)).await?;
    let work = tempfile::tempdir()?;
    let out = work.path().join("model.bin");
    let vars = vec![
        ("MODEL", to_hex(&id)),
        ("ROOT", to_hex(info.root.as_slice())),
        ("K", info.k.to_string()),
        ("M", info.m.to_string()),
        ("PEERS", "6".to_string()),
        ("DIR", work.path().join("progress").display().to_string()),
        ("OUT", out.display().to_string()),
    ];

    // First run: kill it after two verified shards.
    let mut first = child(&net, &vars)?;
    let mut lines = BufReader::new(first.stdout.take().expect("stdout")).lines();
    let mut verified_before_kill = Vec::new();
    let read = async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix("AUTONET-VERIFIED ") {
                verified_before_kill.extend(parse_list(rest));
                if verified_before_kill.len() == 2 {
                    return anyhow::Ok(());
                }
            }
        }
        anyhow::bail!("child ended before verifying two shards")
    };
    tokio::time::timeout(Duration::from_secs(180), read).await??;
    first.start_kill()?;
    let status = first.wait().await?;
    assert!(!status.success(), "the first child was killed");
    assert!(!out.exists(), "the killed child had not finished");
    let served_before: u64 = net.hosts.iter().flatten().map(|h| h.bytes_served()).sum();

    // Second run: resumes and finishes.
    let second = child(&net, &vars)?;
    let output =
        tokio::time::timeout(Duration::from_secs(180), second.wait_with_output()).await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "second child failed: {stdout}");
    let field = |tag: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(tag).map(parse_list))
            .unwrap_or_default()
    };
    let (resumed, fetched) = (field("AUTONET-RESUMED "), field("AUTONET-FETCHED "));
    let mut expected = verified_before_kill.clone();
    expected.sort_unstable();
    // Every shard reported verified before the kill is reused (a shard verified in the instant
    // between the report and the kill would be reused too).
    assert!(
        expected.iter().all(|i| resumed.contains(i)) && resumed.len() < 4,
        "resumed {resumed:?}, verified before the kill {expected:?}"
    );
    assert_eq!(
        fetched.len(),
        4 - resumed.len(),
        "only the missing shards are fetched"
    );
    assert!(fetched.iter().all(|i| !resumed.contains(i)));
    assert!(
        std::fs::read(&out)? == model,
        "resumed fetch is bit-identical"
    );
    // Bytes the holders served to the second run: the missing shards only (plus at most the
    // chunks the killed child had in flight when the snapshot was taken: one shard download,
    // at most 4 chunks).
    let served_after: u64 = net.hosts.iter().flatten().map(|h| h.bytes_served()).sum();
    let shard = published.manifest.shard_size;
    let delta = served_after - served_before;
    let missing = fetched.len() as u64 * shard;
    assert!(
        delta >= missing && delta <= missing + 4 * MIB as u64,
        "served {delta} bytes for {} missing shards of {shard}",
        fetched.len()
    );
    net.stop_all().await;
    Ok(())
}
