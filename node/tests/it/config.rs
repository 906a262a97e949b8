//! Config precedence, seen through `--dump-config`: flag > env > file > default.

use std::fs;

use crate::{autonet, run_fails, run_ok, stdout};

fn dumped_level(cmd: &mut std::process::Command) -> String {
    let out = run_ok(cmd.args(["--dump-config", "simulate"]));
    let table: toml::Table = toml::from_str(&stdout(&out)).expect("dump is TOML");
    table["log"]["level"]
        .as_str()
        .expect("log.level")
        .to_owned()
}

#[test]
fn flag_beats_env_beats_file_beats_default() {
    let dir = tempfile::tempdir().unwrap();
    // Default.
    assert_eq!(dumped_level(&mut autonet(dir.path())), "info");
    // File (found in the data dir).
    fs::write(dir.path().join("config.toml"), "[log]\nlevel = \"debug\"\n").unwrap();
    assert_eq!(dumped_level(&mut autonet(dir.path())), "debug");
    // Env beats file.
    assert_eq!(
        dumped_level(autonet(dir.path()).env("AUTONET_LOG_LEVEL", "warn")),
        "warn"
    );
    // Flag beats env.
    assert_eq!(
        dumped_level(
            autonet(dir.path())
                .env("AUTONET_LOG_LEVEL", "warn")
                .args(["--log-level", "error"])
        ),
        "error"
    );
}

#[test]
fn explicit_config_file_and_dump_to_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("other.toml");
    fs::write(&cfg, "[log]\nformat = \"json\"\n").unwrap();
    let dump = dir.path().join("effective.toml");
    run_ok(
        autonet(dir.path())
            .arg("--config")
            .arg(&cfg)
            .arg(format!("--dump-config={}", dump.display()))
            .arg("keygen"),
    );
    let table: toml::Table = toml::from_str(&fs::read_to_string(&dump).unwrap()).unwrap();
    assert_eq!(table["log"]["format"].as_str(), Some("json"));
    assert_eq!(
        table["data_dir"].as_str(),
        Some(dir.path().to_str().unwrap())
    );
    // --dump-config exits before running the command: no key was created.
    assert!(!dir.path().join("node_key").exists());
}

#[test]
fn bad_config_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("config.toml"), "[log]\nlevle = 3\n").unwrap();
    let err = run_fails(autonet(dir.path()).arg("simulate"), "config.toml");
    assert!(err.contains("levle"), "{err}");
}

/// Settings of `join` from the file, overridden by flags and variables; the dump reads back as
/// the same configuration, as TOML and as JSON.
#[test]
fn join_settings_come_from_the_file_and_the_dump_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("config.toml"),
        "[network]\nbootstrap = [\"/ip4/127.0.0.1/tcp/4001\"]\ntarget_peers = 40\n\
         status = \"127.0.0.1:7000\"\n\n[role]\nrole = \"solver\"\ntick_ms = 250\n\n\
         [chain]\nrpc_url = \"http://127.0.0.1:8545\"\n",
    )
    .unwrap();
    let out = run_ok(autonet(dir.path()).env("AUTONET_TARGET_PEERS", "50").args([
        "--dump-config",
        "join",
        "--tick-ms",
        "300",
    ]));
    let text = stdout(&out);
    let table: toml::Table = toml::from_str(&text).expect("dump is TOML");
    assert_eq!(
        table["network"]["target_peers"].as_integer(),
        Some(50),
        "env beats file"
    );
    assert_eq!(table["network"]["status"].as_str(), Some("127.0.0.1:7000"));
    assert_eq!(table["role"]["role"].as_str(), Some("solver"));
    assert_eq!(
        table["role"]["tick_ms"].as_integer(),
        Some(300),
        "flag beats file"
    );
    assert_eq!(
        table["chain"]["rpc_url"].as_str(),
        Some("http://127.0.0.1:8545")
    );
    assert!(
        text.contains("# metrics ="),
        "unset settings are listed:\n{text}"
    );

    // Read the dump back as the only source: the same dump comes out.
    let dumped = dir.path().join("dumped.toml");
    fs::write(&dumped, &text).unwrap();
    let again = run_ok(
        autonet(dir.path())
            .arg("--config")
            .arg(&dumped)
            .args(["--dump-config", "join"]),
    );
    assert_eq!(stdout(&again), text);

    let json = run_ok(autonet(dir.path()).arg("--config").arg(&dumped).args([
        "--dump-config",
        "--json",
        "join",
    ]));
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("dump is JSON");
    assert_eq!(v["role"]["tick_ms"], 300);
    assert_eq!(v["network"]["metrics"], serde_json::Value::Null);
}

#[test]
fn bad_value_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("config.toml"),
        "[network]\nstatus = \"not an address\"\n",
    )
    .unwrap();
    let err = run_fails(autonet(dir.path()).arg("keygen"), "config.toml");
    assert!(err.contains("network.status"), "{err}");
}

#[test]
fn join_without_bootstrap_peers_says_where_to_give_them() {
    let dir = tempfile::tempdir().unwrap();
    run_fails(autonet(dir.path()).arg("join"), "network.bootstrap");
}

/// `docs/config.example.toml` names every setting (a key missing there is a setting nobody can
/// find) and is a valid config file as shipped.
#[test]
fn the_example_config_names_every_setting_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/config.example.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    let dump = crate::stdout(&crate::run_ok(
        crate::autonet(dir.path())
            .arg("--config")
            .arg(&example)
            .args(["--dump-config", "--json", "join"])
            .args([
                "--bootstrap",
                "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWHzEKB5ZneaLS6Yn6FEWU7Jd5NycMuXjYSDQaTYCmn7pb",
            ]),
    ));
    let json: serde_json::Value = serde_json::from_str(&dump).unwrap();
    let mut keys = Vec::new();
    collect_keys(&json, "", &mut keys);
    let mut section = String::new();
    let mut present = std::collections::BTreeSet::new();
    for line in text.lines() {
        let line = line.trim_start_matches('#').trim();
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = format!("{s}.");
        } else if let Some((key, _)) = line.split_once(" = ") {
            present.insert(format!("{section}{}", key.trim()));
        }
    }
    let missing: Vec<_> = keys.iter().filter(|k| !present.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "settings missing from the example: {missing:?}"
    );
}

fn collect_keys(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match v.as_object() {
        Some(map) => {
            for (k, v) in map {
                collect_keys(v, &format!("{prefix}{k}."), out);
            }
        }
        None => out.push(prefix.trim_end_matches('.').to_string()),
    }
}
