//! The command line itself: help, bad flags, benchmarks, simulate.

use crate::{autonet, run_ok, stdout};

#[test]
fn help_lists_commands_and_env_vars() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(autonet(dir.path()).arg("--help"));
    let text = stdout(&out);
    for word in [
        "keygen",
        "bench",
        "simulate",
        "AUTONET_DATA_DIR",
        "--dump-config",
    ] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
}

#[test]
fn bad_flag_value_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = autonet(dir.path())
        .args(["--log-format", "xml", "simulate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::stderr(&out).contains("xml"));
}

#[test]
fn store_bench_reports_a_ratio_against_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(
        autonet(dir.path())
            .args(["bench", "--json", "store", "--records", "20", "--dir"])
            .arg(dir.path()),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["name"], "store");
    assert_eq!(v["baseline"]["units"], 20);
    assert!(v["time_ratio"].as_f64().unwrap() > 0.0);
}

#[test]
fn simulate_rejects_impossible_rosters() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["simulate", "--coordinators", "1"],
        vec!["simulate", "--solvers", "33"],
        vec!["simulate", "--solvers", "2", "--byzantine-solvers", "2"],
    ] {
        let out = autonet(dir.path()).args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(
            crate::stderr(&out).contains("--"),
            "{args:?}: {}",
            crate::stderr(&out)
        );
    }
}

/// `simulate | head`: a reader that goes away stops the run with an error instead of a panic in
/// the progress printer that used to leave the peers waiting forever.
#[test]
fn simulate_stops_when_its_stdout_is_closed() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let mut child = autonet(dir.path())
        .args([
            "--log-level",
            "error",
            "simulate",
            "--epochs",
            "1",
            "--seed",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("epoch 1"), "{first}");
    // The reader (and with it the pipe's read end) is dropped here.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("simulate kept running with its stdout closed");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "{err}");
    assert!(err.contains("cannot print"), "{err}");
}

/// Numeric flags have ranges: an out-of-range value is a usage error (exit 2) that names the
/// flag and the range, before any work starts.
#[test]
fn out_of_range_numbers_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let turns = dir.path().join("turns.jsonl");
    std::fs::write(&turns, "").unwrap();
    let turns = turns.to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                "substrate",
                "replay",
                "--turns",
                turns,
                "--epochs",
                "4000000000",
            ],
            "4000000000 is not in 1..=1000",
        ),
        (
            vec!["substrate", "replay", "--turns", turns, "--epochs", "0"],
            "0 is not in 1..=1000",
        ),
        (vec!["simulate", "--epochs", "0"], "0 is not in 1..=10000"),
        (vec!["simulate", "--churn", "2"], "2 is not in 0..=1"),
    ] {
        let out = autonet(dir.path()).args(&args).output().unwrap();
        let err = crate::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let flag = args[args.len() - 2];
        assert!(
            err.contains(flag) && err.contains(needle),
            "{args:?}: {err}"
        );
    }
}

/// `bench --list` (advertised by `bench --help`) lists every benchmark, as text or JSON; `bench`
/// alone says how to find one.
#[test]
fn bench_list_names_every_benchmark() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&run_ok(autonet(dir.path()).args(["bench", "--help"])));
    assert!(help.contains("--list"), "{help}");
    let json = stdout(&run_ok(
        autonet(dir.path()).args(["bench", "--list", "--json"]),
    ));
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    for name in [
        "store",
        "gossip",
        "jepa",
        "substrate",
        "chain",
        "epoch",
        "shards",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    let text = stdout(&run_ok(autonet(dir.path()).args(["bench", "--list"])));
    assert!(text.lines().any(|l| l.starts_with("epoch ")), "{text}");
    crate::run_fails(autonet(dir.path()).arg("bench"), "autonet bench --list");
}

/// `--version` names the git commit of the build (#23), so a bug report says what ran.
#[test]
fn version_names_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let version = stdout(&run_ok(autonet(dir.path()).arg("--version")));
    assert!(version.starts_with("autonet "), "{version}");
    let commit = version
        .split("(commit ")
        .nth(1)
        .and_then(|c| c.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("no commit in {version:?}"));
    // A checkout gives a hex id; a tree without git says so.
    assert!(
        commit == "unknown" || (commit.len() == 12 && hex::decode(commit).is_ok()),
        "{version}"
    );
}

/// The generated CLI reference (`docs/cli.md`) matches the CLI; completions and man pages are
/// generated for every command (#23 packaging).
#[test]
fn cli_reference_completions_and_man_pages_are_current() {
    let dir = tempfile::tempdir().unwrap();
    // Without the data dir variable, which `--help` would show as the flag's current value.
    let reference = stdout(&run_ok(
        autonet(dir.path())
            .env_remove("AUTONET_DATA_DIR")
            .args(["man", "--markdown"]),
    ));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md");
    if std::env::var_os("AUTONET_BLESS").is_some() {
        std::fs::write(&path, &reference).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == reference,
        "docs/cli.md is out of date: run AUTONET_BLESS=1 cargo nextest run -p autonet-node -E 'test(cli_reference)'"
    );
    for command in [
        "autonet join",
        "autonet simulate",
        "autonet bench epoch",
        "autonet model fetch",
    ] {
        assert!(reference.contains(&format!("## `{command}`")), "{command}");
    }
    let pages = tempfile::tempdir().unwrap();
    let out = pages.path().to_str().unwrap();
    let written = stdout(&run_ok(autonet(dir.path()).args(["man", "--out", out])));
    assert!(written.lines().count() > 20, "{written}");
    let join = std::fs::read_to_string(pages.path().join("autonet-join.1")).unwrap();
    assert!(join.contains("\\-\\-bootstrap"), "{join}");
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&run_ok(autonet(dir.path()).args(["completions", shell])));
        assert!(script.contains("simulate"), "{shell}: {script}");
    }
}

/// Without a password file or variable, a script (no terminal on stdin) is told the ways to
/// give the keystore password; a person at a terminal would be asked for it (#23).
#[test]
fn a_missing_keystore_password_names_every_way_to_give_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = crate::run_fails(
        autonet(dir.path())
            .env_remove("AUTONET_KEY_PASSWORD")
            .stdin(std::process::Stdio::null())
            .args(["key", "create", "--role", "solver"]),
        "no keystore password",
    );
    assert!(
        err.contains("--password-file") && err.contains("in a terminal"),
        "{err}"
    );
}

/// `--data-dir` typed for a command that keeps nothing there is refused with a usage error
/// (status 2) that names the command and where its files go instead (#23); the same data dir
/// from `AUTONET_DATA_DIR` (as `autonet()` passes it) is tolerated, and commands that use the
/// data dir take the flag, before or after the command name.
#[test]
fn a_typed_data_dir_is_refused_where_it_would_be_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let refused: &[(&[&str], &str)] = &[
        (&["--data-dir", d, "simulate"], "`autonet simulate`"),
        (
            &["bench", "store", "--data-dir", d],
            "`autonet bench store`",
        ),
        (
            &["substrate", "sample", "--data-dir", d],
            "`autonet substrate sample`",
        ),
        (
            &["--data-dir", d, "testnet", "drive", "--dir", d],
            "`autonet testnet drive`",
        ),
        (
            &["--data-dir", d, "model", "status", d],
            "`autonet model status`",
        ),
        (
            &["--data-dir", d, "completions", "bash"],
            "`autonet completions`",
        ),
    ];
    for (args, name) in refused {
        let out = autonet(dir.path()).args(*args).output().unwrap();
        let err = crate::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("{name} does not use --data-dir"))
                && err.contains("Remove --data-dir"),
            "{args:?}: {err}"
        );
    }
    // From the environment: tolerated.
    let sample = stdout(&run_ok(autonet(dir.path()).args([
        "substrate",
        "sample",
        "--count",
        "1",
    ])));
    assert_eq!(sample.lines().count(), 1, "{sample}");
    // A command that keeps its key there takes the flag, after the command name too.
    let keys = dir.path().join("keys");
    let out = run_ok(
        autonet(dir.path())
            .args(["keygen", "--json", "--data-dir"])
            .arg(&keys),
    );
    assert!(stdout(&out).contains("peer_id"));
    assert!(keys.join("node_key").is_file());
}

/// Every `--role` takes a fixed list (#23): `--help` lists the choices, and a typo is a usage
/// error (status 2) naming them, before any key or chain is touched.
#[test]
fn roles_are_a_fixed_list() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&run_ok(
        autonet(dir.path()).args(["key", "create", "--help"]),
    ));
    assert!(
        help.contains("- deployer:") && help.contains("- aggregator:"),
        "{help}"
    );
    for args in [
        &["key", "create", "--role", "solvr"][..],
        &["balance", "--role", "deployer"][..],
        &[
            "join",
            "--bootstrap",
            "/ip4/127.0.0.1/tcp/1",
            "--role",
            "miner",
        ][..],
        &["model", "publish", "f", "--role", "admin"][..],
    ] {
        let out = autonet(dir.path()).args(args).output().unwrap();
        let err = crate::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("invalid value") && err.contains("[possible values: "),
            "{args:?}: {err}"
        );
    }
}

/// A missing anvil is a run-time error (status 1) that names the path tried and every way to
/// give one (#23: anvil was looked up only at a path fixed at build time).
#[test]
fn a_missing_anvil_says_where_it_is_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-anvil");
    let err = crate::run_fails(
        autonet(dir.path())
            .args(["bench", "chain", "--rounds", "1", "--anvil"])
            .arg(&missing),
        &format!("anvil not found at {}", missing.display()),
    );
    assert!(
        err.contains("AUTONET_ANVIL") && err.contains("PATH"),
        "{err}"
    );
}
