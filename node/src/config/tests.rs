use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use clap::Parser;

use super::*;
use crate::cli::{Cli, LogFormat};

/// One setting: its key, a TOML value other than its default, and a command line that gives it
/// yet another value by flag (with that value as TOML), or none for file-only keys.
struct Case {
    key: &'static str,
    file: &'static str,
    flag: Option<(&'static [&'static str], &'static str)>,
}

const GOV_1: &str = "\"0x0000000000000000000000000000000000000001\"";
const GOV_2: &str = "0x0000000000000000000000000000000000000002";

const fn case(
    key: &'static str,
    file: &'static str,
    flag: Option<(&'static [&'static str], &'static str)>,
) -> Case {
    Case { key, file, flag }
}

/// Every setting; [`every_setting_has_a_case`] checks that none is missing.
const CASES: &[Case] = &[
    case(
        "data_dir",
        "\"/srv/autonet\"",
        Some((&["--data-dir", "/srv/other", "keygen"], "\"/srv/other\"")),
    ),
    case(
        "log.format",
        "\"json\"",
        Some((&["--log-format", "text", "keygen"], "\"text\"")),
    ),
    case(
        "log.level",
        "\"debug\"",
        Some((&["--log-level", "warn", "keygen"], "\"warn\"")),
    ),
    case(
        "log.color",
        "\"never\"",
        Some((&["--color", "always", "keygen"], "\"always\"")),
    ),
    case(
        "log.file",
        "\"/var/log/autonet/node.log\"",
        Some((&["--log-file", "/tmp/n.log", "keygen"], "\"/tmp/n.log\"")),
    ),
    case(
        "log.rotation",
        "\"hourly\"",
        Some((&["--log-rotation", "never", "keygen"], "\"never\"")),
    ),
    case(
        "log.max_files",
        "30",
        Some((&["--log-max-files", "3", "keygen"], "3")),
    ),
    case(
        "network.listen",
        "[\"/ip4/127.0.0.1/tcp/5000\"]",
        Some((
            &["join", "--listen", "/ip4/127.0.0.1/tcp/6000"],
            "[\"/ip4/127.0.0.1/tcp/6000\"]",
        )),
    ),
    case(
        "network.bootstrap",
        "[\"/ip4/127.0.0.1/tcp/5001\", \"/ip4/127.0.0.1/tcp/5002\"]",
        Some((
            &["join", "--bootstrap", "/ip4/127.0.0.1/tcp/6001"],
            "[\"/ip4/127.0.0.1/tcp/6001\"]",
        )),
    ),
    case(
        "network.dht_mode",
        "\"client\"",
        Some((&["join", "--dht-mode", "server"], "\"server\"")),
    ),
    case(
        "network.external_addrs",
        "[\"/ip4/203.0.113.7/tcp/4001\"]",
        Some((
            &["join", "--external-addr", "/ip4/198.51.100.7/tcp/4001"],
            "[\"/ip4/198.51.100.7/tcp/4001\"]",
        )),
    ),
    case(
        "shards.quota_gib",
        "2",
        Some((&["bootstrap", "--shard-quota-gib", "3"], "3")),
    ),
    case(
        "network.summary_secs",
        "0",
        Some((&["join", "--summary-secs", "10"], "10")),
    ),
    case(
        "network.bootstrap_timeout_secs",
        "5",
        Some((&["bootstrap", "--bootstrap-timeout", "9"], "9")),
    ),
    case(
        "network.target_peers",
        "64",
        Some((&["bootstrap", "--target-peers", "100"], "100")),
    ),
    case(
        "network.status",
        "\"127.0.0.1:7000\"",
        Some((
            &["join", "--status", "127.0.0.1:7001"],
            "\"127.0.0.1:7001\"",
        )),
    ),
    case(
        "network.metrics",
        "\"127.0.0.1:9100\"",
        Some((
            &["bootstrap", "--metrics", "127.0.0.1:9101"],
            "\"127.0.0.1:9101\"",
        )),
    ),
    case("network.limits.max_established", "100", None),
    case("network.limits.max_established_per_peer", "3", None),
    case("network.limits.max_pending_incoming", "10", None),
    case("network.limits.max_records", "500", None),
    case("network.limits.max_record_bytes", "4096", None),
    case("network.limits.request_burst", "8", None),
    case("network.limits.requests_per_second", "4", None),
    case("network.limits.channel_capacity", "256", None),
    case("network.nat.relay_server", "false", None),
    case("network.nat.use_relays", "\"always\"", None),
    case("network.nat.hole_punching", "false", None),
    case("network.nat.relay_max_reservations", "16", None),
    case("network.nat.relay_max_reservations_per_peer", "2", None),
    case("network.nat.relay_reservation_secs", "600", None),
    case("network.nat.relay_max_circuits", "8", None),
    case("network.nat.relay_max_circuits_per_peer", "2", None),
    case("network.nat.relay_circuit_secs", "120", None),
    case("network.nat.relay_circuit_bytes", "131072", None),
    case("network.nat.autonat_boot_delay_secs", "2", None),
    case("network.nat.autonat_retry_secs", "5", None),
    case("network.nat.autonat_refresh_secs", "1800", None),
    case("network.nat.autonat_only_global_ips", "false", None),
    // `jepa` is the only model, so the flag can only repeat the file's value.
    case(
        "inference.model",
        "\"jepa\"",
        Some((&["join", "--inference", "jepa"], "\"jepa\"")),
    ),
    case(
        "inference.device",
        "\"cuda\"",
        Some((&["infer", "--model", "jepa", "--device", "cpu"], "\"cpu\"")),
    ),
    case(
        "inference.graphs",
        "\"default\"",
        Some((&["join", "--graphs", "/g"], "\"/g\"")),
    ),
    case(
        "inference.train_steps",
        "7",
        Some((&["infer", "--model", "jepa", "--train-steps", "8"], "8")),
    ),
    case(
        "inference.decoder_steps",
        "9",
        Some((&["bootstrap", "--decoder-steps", "10"], "10")),
    ),
    case(
        "role.role",
        "\"solver\"",
        Some((&["join", "--role", "aggregator"], "\"aggregator\"")),
    ),
    case(
        "role.name",
        "\"s1\"",
        Some((&["join", "--name", "s2"], "\"s2\"")),
    ),
    case(
        "role.plan",
        "\"/p/plan.json\"",
        Some((&["join", "--plan", "/q/plan.json"], "\"/q/plan.json\"")),
    ),
    case(
        "role.tick_ms",
        "250",
        Some((&["join", "--tick-ms", "300"], "300")),
    ),
    // The flag can only switch it on (the gov integration test gives it to `join`).
    case("role.allow_unverified", "true", None),
    case(
        "chain.rpc_url",
        "\"http://127.0.0.1:8545\"",
        Some((
            &["stake", "--role", "solver", "--rpc-url", "http://h:1"],
            "\"http://h:1\"",
        )),
    ),
    case(
        "chain.chain_id",
        "31337",
        Some((&["join", "--chain-id", "5"], "5")),
    ),
    case(
        "chain.governor",
        GOV_1,
        Some((
            &["chain", "info", "--governor", GOV_2],
            "\"0x0000000000000000000000000000000000000002\"",
        )),
    ),
    case(
        "chain.password_file",
        "\"/p/pw\"",
        Some((
            &[
                "key",
                "show",
                "--role",
                "solver",
                "--password-file",
                "/q/pw",
            ],
            "\"/q/pw\"",
        )),
    ),
];

/// The config of `autonet --config FILE ARGV` (FILE holds `text`).
fn resolve_with(dir: &Path, text: &str, argv: &[&str]) -> Result<Config, ConfigError> {
    let path = dir.join("config.toml");
    fs::write(&path, text).unwrap();
    let mut full = vec!["autonet", "--config", path.to_str().unwrap()];
    full.extend_from_slice(argv);
    let cli = Cli::try_parse_from(&full).unwrap();
    Config::resolve(&cli.global, &cli.command)
}

/// `key = value` under its table.
fn file_line(key: &str, value: &str) -> String {
    match key.rsplit_once('.') {
        Some((table, name)) => format!("[{table}]\n{name} = {value}\n"),
        None => format!("{key} = {value}\n"),
    }
}

/// The setting at a dotted key, as JSON.
fn json_at(config: &Config, key: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(config).unwrap();
    for part in key.split('.') {
        v = v[part].take();
    }
    v
}

/// A TOML value as JSON.
fn toml_as_json(value: &str) -> serde_json::Value {
    let table: toml::Table = toml::from_str(&format!("v = {value}")).unwrap();
    serde_json::to_value(&table["v"]).unwrap()
}

fn leaf_keys(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value.as_object() {
        Some(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_keys(v, &key, out);
            }
        }
        None => {
            out.insert(prefix.to_owned());
        }
    }
}

#[test]
fn every_setting_has_a_case() {
    let dir = tempfile::tempdir().unwrap();
    let c = resolve_with(dir.path(), "", &["keygen"]).unwrap();
    let mut keys = BTreeSet::new();
    leaf_keys(&serde_json::to_value(&c).unwrap(), "", &mut keys);
    let cased: BTreeSet<String> = CASES.iter().map(|c| c.key.to_owned()).collect();
    assert_eq!(
        keys, cased,
        "a setting without a test case, or a case without a setting"
    );
}

#[test]
fn the_file_sets_each_setting() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = resolve_with(dir.path(), "", &["keygen"]).unwrap();
    for case in CASES {
        let want = toml_as_json(case.file);
        assert_ne!(
            json_at(&defaults, case.key),
            want,
            "{}: pick a non-default value",
            case.key
        );
        let c = resolve_with(dir.path(), &file_line(case.key, case.file), &["keygen"])
            .unwrap_or_else(|e| panic!("{}: {e}", case.key));
        assert_eq!(json_at(&c, case.key), want, "{}", case.key);
    }
}

#[test]
fn flags_beat_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for case in CASES {
        let Some((argv, value)) = case.flag else {
            continue;
        };
        let c = resolve_with(dir.path(), &file_line(case.key, case.file), argv)
            .unwrap_or_else(|e| panic!("{}: {e}", case.key));
        assert_eq!(json_at(&c, case.key), toml_as_json(value), "{}", case.key);
    }
}

/// A file setting every key at once, as a person would group it.
fn full_file() -> String {
    let mut text = String::new();
    let mut tables: Vec<(&str, Vec<String>)> = Vec::new();
    for case in CASES {
        match case.key.rsplit_once('.') {
            None => text.push_str(&format!("{} = {}\n", case.key, case.file)),
            Some((table, name)) => {
                let line = format!("{name} = {}", case.file);
                match tables.iter_mut().find(|(t, _)| *t == table) {
                    Some((_, lines)) => lines.push(line),
                    None => tables.push((table, vec![line])),
                }
            }
        }
    }
    for (table, lines) in tables {
        text.push_str(&format!("\n[{table}]\n{}\n", lines.join("\n")));
    }
    text
}

#[test]
fn dumped_config_reads_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let full = resolve_with(dir.path(), &full_file(), &["keygen"]).unwrap();
    for case in CASES {
        assert_eq!(
            json_at(&full, case.key),
            toml_as_json(case.file),
            "{}",
            case.key
        );
    }
    let defaults = resolve_with(dir.path(), "", &["join"]).unwrap();
    for config in [full, defaults] {
        let toml = config.to_toml().unwrap();
        let back = resolve_with(dir.path(), &toml, &["keygen"]).unwrap();
        assert_eq!(back, config, "TOML dump:\n{toml}");
        let json: Config = serde_json::from_str(&config.to_json().unwrap()).unwrap();
        assert_eq!(json, config);
    }
}

#[test]
fn unset_settings_are_listed_as_comments() {
    let dir = tempfile::tempdir().unwrap();
    let c = resolve_with(dir.path(), "", &["bootstrap"]).unwrap();
    let toml = c.to_toml().unwrap();
    assert!(toml.contains("# metrics =  (not set)"), "{toml}");
    assert!(toml.contains("# rpc_url =  (not set)"), "{toml}");
    assert!(
        toml.contains("/ip4/0.0.0.0/tcp/4001"),
        "bootstrap's listen default: {toml}"
    );
    let json = c.to_json().unwrap();
    assert!(json.contains("\"metrics\": null"), "{json}");
}

#[test]
fn bad_values_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[network]\nstatus = \"nope\"\n", "network.status"),
        ("[network]\nstatus = \"0.0.0.0:80\"\n", "network.status"),
        ("[network]\nmetrics = \"nope\"\n", "network.metrics"),
        ("[network]\ntarget_peers = 7\n", "network.target_peers"),
        (
            "[network]\nlisten = [\"not a multiaddr\"]\n",
            "network.listen",
        ),
        ("[network]\ndht_mode = \"full\"\n", "network.dht_mode"),
        (
            "[network.limits]\nmax_records = 0\n",
            "network.limits.max_records",
        ),
        (
            "[network.limits]\nrequest_burst = -1\n",
            "network.limits.request_burst",
        ),
        (
            "[network.nat]\nrelay_circuit_secs = 0\n",
            "network.nat.relay_circuit_secs",
        ),
        (
            "[network.nat]\nuse_relays = \"sometimes\"\n",
            "network.nat.use_relays",
        ),
        (
            "[inference]\ntrain_steps = 1000001\n",
            "inference.train_steps",
        ),
        ("[inference]\ndevice = \"tpu\"\n", "inference.device"),
        ("[role]\nrole = \"miner\"\n", "role.role"),
        ("[role]\ntick_ms = 0\n", "role.tick_ms"),
        ("[chain]\nchain_id = 0\n", "chain.chain_id"),
        ("[chain]\ngovernor = \"0x12\"\n", "chain.governor"),
        ("[log]\nlevel = \"info,=[\"\n", "log.level"),
        ("[log]\nmax_files = 10001\n", "log.max_files"),
        ("[log]\nrotation = \"weekly\"\n", "log.rotation"),
        ("[network]\nlisten_addr = []\n", "listen_addr"),
        ("[networks]\n", "networks"),
    ];
    for (text, key) in cases {
        let err = resolve_with(dir.path(), text, &["keygen"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(key),
            "{text:?}: the error must name {key}: {err}"
        );
    }
}

fn args(dir: &Path) -> GlobalArgs {
    GlobalArgs {
        data_dir: Some(dir.to_path_buf()),
        ..Default::default()
    }
}

fn keygen() -> Command {
    Command::Keygen(crate::cli::KeygenArgs { json: false })
}

#[test]
fn defaults_apply_without_file() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::resolve(&args(dir.path()), &keygen()).unwrap();
    assert_eq!(c.log.level, "info");
    assert_eq!(c.log.format, LogFormat::Text);
    assert_eq!(c.data_dir, dir.path());
    assert_eq!(c.network.listen, NetConfig::join_listen());
}

#[test]
fn file_in_data_dir_is_read_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join(CONFIG_FILE_NAME),
        "[log]\nlevel = \"debug\"\nformat = \"json\"\n",
    )
    .unwrap();
    let mut a = args(dir.path());
    let c = Config::resolve(&a, &keygen()).unwrap();
    assert_eq!(
        (c.log.level.as_str(), c.log.format),
        ("debug", LogFormat::Json)
    );
    a.log_level = Some("warn".into());
    assert_eq!(Config::resolve(&a, &keygen()).unwrap().log.level, "warn");
}

#[test]
fn unknown_keys_and_bad_filters_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    fs::write(&path, "[log]\nlevle = \"debug\"\n").unwrap();
    let a = GlobalArgs {
        config: Some(path),
        ..args(dir.path())
    };
    let err = Config::resolve(&a, &keygen()).unwrap_err().to_string();
    assert!(err.contains("levle"), "{err}");
    let a = GlobalArgs {
        log_level: Some("info,=[".into()),
        ..args(dir.path())
    };
    assert!(matches!(
        Config::resolve(&a, &keygen()),
        Err(ConfigError::LogFilter { .. })
    ));
}

#[test]
fn rust_log_sets_the_filter_unless_a_flag_does() {
    let mut a = GlobalArgs::default();
    assert_eq!(super::log_level(&a, None), None);
    assert_eq!(super::log_level(&a, Some("  ".into())), None);
    assert_eq!(
        super::log_level(&a, Some("debug,libp2p=warn".into())).as_deref(),
        Some("debug,libp2p=warn")
    );
    a.log_level = Some("warn".into());
    assert_eq!(
        super::log_level(&a, Some("debug".into())).as_deref(),
        Some("warn")
    );
}
