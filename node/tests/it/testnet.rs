//! Multi-process networks on anvil: `autonet join --role` (stakes and binds itself once, serves
//! its status, stops cleanly, resumes from its data dir), `scripts/local-testnet` reaching the
//! same model ids and rewards as `autonet simulate` with the same seed and roster, and peers
//! SIGKILLed right after their commit, right after their reveal and during aggregation that
//! resume and lose nothing.
//!
//! Every wait polls with a deadline; nothing sleeps for a fixed time to let something happen.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use autonet_contracts::anvil::{AnvilProcess, default_binary};
use serde_json::Value;

use crate::{INSECURE_KDF, autonet, model_ids, run_fails, run_ok, stderr, stdout};

fn local_testnet(args: &[&str]) -> Value {
    local_testnet_with_log(args).0
}

/// The report and the script's own log lines (stderr).
fn local_testnet_with_log(args: &[&str]) -> (Value, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/local-testnet");
    let out = Command::new(script)
        .args(args)
        .arg("--json")
        .env("AUTONET_BIN", env!("CARGO_BIN_EXE_autonet"))
        .env("AUTONET_ANVIL", default_binary())
        .env("AUTONET_LOG_LEVEL", "warn")
        .env(INSECURE_KDF.0, INSECURE_KDF.1)
        // The conductor moves a stalled chain on after this long, as a real chain would; on a
        // loaded CI machine a peer fetching a model can wait longer than the 20 s default,
        // miss its deadline and (correctly) change the outcome, which this comparison with
        // `simulate` must not mistake for a divergence.
        .env(STALL.0, STALL.1)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "local-testnet failed: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    // `testnet drive --json` prints the same report as `simulate --json`.
    let report = crate::schema::parse_and_check("simulate", &stdout(&out));
    (report, stderr(&out))
}

/// Stall timeouts of the conductors in these comparisons (see [`local_testnet_with_log`]).
const STALL: (&str, &str) = ("AUTONET_TESTNET_STALL_MS", "300000");

fn simulate(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(
        autonet(dir.path())
            .env("AUTONET_SIM_STALL_MS", STALL.1)
            .arg("simulate")
            .arg("--json")
            .args(args),
    );
    crate::schema::parse_and_check("simulate", &stdout(&out))
}

/// `autonet simulate` with the roster `scripts/local-testnet 6` runs: one proposer, two solvers,
/// two coordinators, one aggregator.
fn simulate_six(seed: &str, epochs: &str) -> Value {
    simulate(&[
        "--proposers",
        "1",
        "--solvers",
        "2",
        "--coordinators",
        "2",
        "--aggregators",
        "1",
        "--seed",
        seed,
        "--epochs",
        epochs,
    ])
}

/// (name, rewards, mint, slashed) per peer.
fn payouts(r: &Value) -> Vec<(String, String, String, String)> {
    r["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["rewards_wei"].to_string(),
                p["mint_wei"].to_string(),
                p["slashed_wei"].to_string(),
            )
        })
        .collect()
}

fn assert_sound(r: &Value) {
    assert_eq!(r["complete"], true, "{r:#}");
    assert_eq!(r["payouts_unique"], true, "{r:#}");
    for p in r["peers"].as_array().unwrap() {
        assert_eq!(p["balances_match_chain"], true, "{p:#}");
    }
}

/// `scripts/local-testnet 6` (separate processes on anvil) reaches the same model ids and the
/// same per-peer rewards, mint and slashes as `autonet simulate` with the same seed and roster;
/// then, with the peers still running, `autonet model fetch <on-chain id>` gets each epoch's
/// model from its shards.
#[test]
fn local_testnet_reaches_the_same_models_as_simulate() {
    let (testnet, log) =
        local_testnet_with_log(&["6", "--seed", "11", "--epochs", "2", "--fetch-models"]);
    for (epoch, id) in model_ids(&testnet).iter().enumerate() {
        let line = format!("fetched the model of epoch {}: {id} (", epoch + 1);
        assert!(log.contains(&line), "{line}\n{log}");
        // The script reads `model fetch --json`, and repeats it in its log.
        let report = log
            .lines()
            .find_map(|l| l.split_once(&format!("fetch report of epoch {}: ", epoch + 1)))
            .unwrap_or_else(|| panic!("no fetch report\n{log}"))
            .1;
        let report = crate::schema::parse_and_check("model-fetch", report);
        assert_eq!(report["id"], id.as_str(), "{report}");
        let status = log
            .lines()
            .find_map(|l| l.split_once(&format!("status report of epoch {}: ", epoch + 1)))
            .unwrap_or_else(|| panic!("no status report\n{log}"))
            .1;
        let status = crate::schema::parse_and_check("model-status", status);
        assert_eq!(status["id"], id.as_str(), "{status}");
        assert_eq!(status["rebuildable"], true, "{status}");
    }
    assert_sound(&testnet);
    let sim = simulate_six("11", "2");
    assert_sound(&sim);
    assert_eq!(model_ids(&testnet).len(), 2, "{testnet:#}");
    assert_eq!(
        model_ids(&testnet),
        model_ids(&sim),
        "testnet:\n{testnet:#}\nsimulate:\n{sim:#}\ntestnet log:\n{log}"
    );
    assert_eq!(payouts(&testnet), payouts(&sim));
    assert_eq!(testnet["total_rewards_wei"], sim["total_rewards_wei"]);
}

/// A solver SIGKILLed right after it sent its commit, another right after it sent its reveal,
/// and the aggregator during aggregation are each restarted from their data dirs: the epoch
/// finalizes, both solvers are paid exactly once, nobody is paid twice, the aggregator posts
/// the mint root and publishes — the same outcome as an undisturbed run.
#[test]
fn peers_killed_after_commit_after_reveal_and_during_aggregation_lose_nothing() {
    let r = local_testnet(&[
        "6",
        "--seed",
        "12",
        "--epochs",
        "1",
        "--kill",
        "solver-1@commit",
        "--kill",
        "solver-2@reveal",
        "--kill",
        "aggregator-1@aggregate",
    ]);
    assert_sound(&r);
    let faults: Vec<String> = r["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f[0].as_str().unwrap(), f[1].as_str().unwrap()))
        .collect();
    for want in ["solver-1 ", "solver-2 ", "aggregator-1 "] {
        assert!(
            faults
                .iter()
                .any(|f| f.starts_with(want) && f.contains("SIGKILL")),
            "{want}: {faults:?}"
        );
    }
    let epoch = &r["epochs"][0];
    assert_eq!(epoch["accepted"].as_array().unwrap().len(), 2, "{r:#}");
    assert_ne!(
        epoch["mint_root"].as_str().unwrap(),
        "0".repeat(64),
        "{r:#}"
    );
    for p in r["peers"].as_array().unwrap() {
        if p["role"] == "solver" {
            assert_ne!(p["rewards_wei"], "0x0", "{p:#}");
            assert_eq!(p["slashed_wei"], "0x0", "{p:#}");
        }
    }
    let calm = simulate_six("12", "1");
    assert_eq!(model_ids(&r), model_ids(&calm));
    assert_eq!(payouts(&r), payouts(&calm));
}

/// A running `autonet join --role` process.
struct Joined {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Joined {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn join(data: &Path, net: &Path, url: &str, boot: &str) -> Joined {
    join_with(data, net, url, boot, &[])
}

fn join_with(data: &Path, net: &Path, url: &str, boot: &str, extra: &[&str]) -> Joined {
    let mut child = autonet(data)
        .args(["join", "--role", "solver", "--name", "solver-1"])
        .args(extra)
        .args(["--bootstrap", boot, "--listen", "/ip4/127.0.0.1/tcp/0"])
        .args(["--rpc-url", url])
        .arg("--plan")
        .arg(net.join("plan.json"))
        .arg("--password-file")
        .arg(net.join("password"))
        .env("AUTONET_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out_lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    while let Some(line) = out_lines.next() {
        let line = line.unwrap();
        let done = line.ends_with("running (Ctrl-C stops)");
        lines.push(line);
        if done {
            // Keep draining stdout so the peer never blocks on a full pipe.
            std::thread::spawn(move || for _ in out_lines {});
            return Joined { child, lines };
        }
    }
    let _ = child.kill();
    let status = child.wait();
    panic!("join exited before it ran ({status:?}): {lines:?}");
}

fn interrupt(j: &mut Joined) {
    let pid = j.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = j.child.try_wait().unwrap() {
            assert!(status.success(), "join exited with {status}");
            return;
        }
        assert!(Instant::now() < end, "join did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Anvil and a dev network written by `autonet testnet setup` (one epoch) under `dir/net`.
fn dev_network(dir: &Path) -> (AnvilProcess, PathBuf) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let anvil = rt
        .block_on(AnvilProcess::spawn(&default_binary(), None, None))
        .unwrap();
    let net = dir.join("net");
    let setup = stdout(&run_ok(autonet(&dir.join("tool")).args([
        "testnet",
        "setup",
        "--rpc-url",
        &anvil.url,
        "--dir",
        net.to_str().unwrap(),
        "--epochs",
        "1",
        "--json",
    ])));
    let setup = crate::schema::parse_and_check("testnet-setup", &setup);
    assert!(
        setup["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "solver-1" && p["role"] == "solver"),
        "{setup:#}"
    );
    (anvil, net)
}

/// The value of the first series in `text` that starts with `series` (name and labels).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// `join --role solver --metrics ADDR` serves its role metrics (phase, epoch, stake and
/// rewards, restarts) next to the overlay's, with the values the chain holds.
#[test]
fn join_with_a_role_serves_role_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (anvil, net) = dev_network(dir.path());
    let data = net.join("solver-1");
    let boot = crate::overlay::start(&["bootstrap", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    let mut peer = join_with(
        &data,
        &net,
        &anvil.url,
        &boot.peer_addr,
        &["--metrics", "127.0.0.1:0"],
    );
    let host = peer
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("metrics: http://")?.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics line: {:?}", peer.lines))
        .to_owned();
    // The first update lands within a second of the start; the head is set last.
    let text = crate::overlay::poll("role metrics", Duration::from_secs(30), || {
        let text = crate::overlay::get_text(&host, "/metrics")?;
        (metric(&text, "autonet_role_chain_head")? > 0.0).then_some(text)
    });
    // Every metric the shipped Grafana dashboard plots is served under that name.
    let dashboard = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../packaging/grafana-dashboard.json"),
    )
    .unwrap();
    let mut plotted: Vec<&str> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| {
            ["autonet_", "process_", "gossipsub_", "libp2p_"]
                .iter()
                .any(|p| w.starts_with(p))
        })
        .collect();
    plotted.sort_unstable();
    plotted.dedup();
    assert!(plotted.len() > 10, "{plotted:?}");
    for name in plotted {
        // A labelled counter has no sample line before its first event, only its `# TYPE`.
        let base = name.strip_suffix("_total").unwrap_or(name);
        assert!(
            text.lines()
                .any(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
                || text.contains(&format!("# TYPE {base} ")),
            "the dashboard plots {name}, which the node does not serve:\n{text}"
        );
    }
    // Staked now by the peer itself; no task yet, so epoch 0 and phase `waiting`.
    assert_eq!(
        metric(&text, "autonet_role_stake_atn"),
        Some(50.0),
        "{text}"
    );
    assert_eq!(metric(&text, "autonet_role_epoch"), Some(0.0), "{text}");
    assert_eq!(
        metric(&text, "autonet_role_phase{phase=\"waiting\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "autonet_role_phase{phase=\"commit\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "autonet_role_restarts_total"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "autonet_role_claimable_atn"),
        Some(0.0),
        "{text}"
    );
    assert!(
        metric(&text, "autonet_role_balance_atn").is_some(),
        "{text}"
    );
    for kind in ["earned", "slashed", "claimed", "mint"] {
        let series = format!("autonet_role_rewards_atn_total{{kind=\"{kind}\"}}");
        assert_eq!(metric(&text, &series), Some(0.0), "{text}");
    }
    // The overlay's own metrics are in the same registry.
    assert!(text.contains("autonet_p2p_"), "{text}");
    interrupt(&mut peer);
}

/// `join --role solver` stakes from its keystore and binds its PeerId once, serves its status,
/// stops on Ctrl-C, and a restart from the same data dir finds both done; missing flags are
/// clear errors.
#[test]
fn join_with_a_role_stakes_once_serves_status_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (anvil, net) = dev_network(dir.path());
    let data = net.join("solver-1");
    // No chain, no plan: a clear error before anything starts.
    run_fails(
        autonet(&data).args([
            "join",
            "--role",
            "solver",
            "--bootstrap",
            "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp",
        ]),
        "--role needs --rpc-url",
    );
    let boot = crate::overlay::start(&["bootstrap", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    let boot_addr = boot.peer_addr.clone();

    let mut first = join(&data, &net, &anvil.url, &boot_addr);
    let text = first.lines.join("\n");
    assert!(text.contains("stake: 50.000000 ATN (staked now)"), "{text}");
    assert!(text.contains("peer binding: registered"), "{text}");
    let status_addr = std::fs::read_to_string(data.join("status.addr")).unwrap();
    let status = crate::overlay::get_json(status_addr.trim(), "/role").unwrap();
    assert_eq!(status["role"], "solver", "{status}");
    assert_eq!(status["name"], "solver-1", "{status}");
    assert_eq!(status["pid"], first.child.id(), "{status}");
    // One status server: the overlay's `/status` is served beside the role's `/role`.
    let overlay = crate::overlay::get_json(status_addr.trim(), "/status").unwrap();
    assert!(overlay["peer_id"].is_string(), "{overlay}");
    // The role routes sit behind the same guard: a page of another site (a foreign Host, as a
    // DNS-rebinding page sends) is refused.
    let (code, _) = crate::overlay::http_with(
        status_addr.trim(),
        "GET",
        "/role",
        &[("Host", "evil.example:80")],
        b"",
    )
    .unwrap();
    assert_eq!(code, 403);
    interrupt(&mut first);

    let mut second = join(&data, &net, &anvil.url, &boot_addr);
    let text = second.lines.join("\n");
    assert!(text.contains("(already staked)"), "{text}");
    assert!(text.contains("peer binding: on chain already"), "{text}");
    interrupt(&mut second);
}
