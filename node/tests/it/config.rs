//! Config precedence, seen through `--dump-config`: flag > env > file > default.

use std::fs;

use crate::{autonet, run_fails, run_ok, stdout};

fn dumped_level(cmd: &mut std::process::Command) -> String {
    let out = run_ok(cmd.args(["--dump-config", "-", "simulate"]));
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
            .arg("--dump-config")
            .arg(&dump)
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
