//! `--json` output against its documented schema (#23): `docs/json/<command>.schema.json`.
//!
//! The schemas are JSON Schema (draft 2020-12). They use a small subset, which this module
//! checks by hand: `type`, `properties`, `required`, `additionalProperties`, `items`,
//! `prefixItems`, `minItems`/`maxItems`, `enum`, `const`, `pattern`, `minimum`/`maximum`,
//! `oneOf` and `$ref` to `#/$defs/…`. (The `jsonschema` crate would add an HTTP client and a
//! few dozen crates to the build for remote references the schemas never make.) A keyword
//! outside the subset fails the check, so a schema cannot silently claim more than is checked.

use std::path::PathBuf;

use serde_json::{Map, Value};

/// Keywords this checker understands; annotations (`title`, …) are ignored.
const KEYWORDS: [&str; 15] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "enum",
    "const",
    "pattern",
    "minimum",
    "maximum",
    "oneOf",
    "$ref",
];
const ANNOTATIONS: [&str; 5] = ["$schema", "$id", "$defs", "title", "description"];

/// The folder of the schemas.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/json")
}

/// The schema `docs/json/<name>.schema.json`.
pub fn load(name: &str) -> Value {
    let path = dir().join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Panics, listing every violation, unless `value` matches the schema `name`.
pub fn assert_matches(name: &str, value: &Value) {
    let schema = load(name);
    let mut errors = Vec::new();
    check(&schema, &schema, value, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "output does not match docs/json/{name}.schema.json:\n  {}\n{value:#}",
        errors.join("\n  ")
    );
}

/// Parses `text` as one JSON value and checks it against the schema `name`; returns it.
pub fn parse_and_check(name: &str, text: &str) -> Value {
    let value: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("`{name}` output is not one JSON value: {e}\n{text}"));
    assert_matches(name, &value);
    value
}

fn check(schema: &Value, root: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let s = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return errors.push(format!("{at}: not allowed here")),
        Value::Object(s) => s,
        _ => return errors.push(format!("{at}: the schema is not an object")),
    };
    for key in s.keys() {
        if !KEYWORDS.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str()) {
            errors.push(format!("{at}: schema keyword {key:?} is not checked"));
        }
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix("#/$defs/")
            .and_then(|name| root["$defs"].get(name));
        match target {
            Some(t) => check(t, root, value, at, errors),
            None => errors.push(format!("{at}: unresolved $ref {r}")),
        }
    }
    if let Some(types) = s.get("type") {
        let names: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !names.iter().any(|t| has_type(value, t)) {
            return errors.push(format!("{at}: {value} is not of type {types}"));
        }
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(c) = s.get("const")
        && c != value
    {
        errors.push(format!("{at}: {value} is not {c}"));
    }
    if let Some(options) = s.get("oneOf").and_then(Value::as_array) {
        let matching = options
            .iter()
            .filter(|o| {
                let mut sub = Vec::new();
                check(o, root, value, at, &mut sub);
                sub.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!(
                "{at}: matches {matching} of the oneOf schemas, not 1"
            ));
        }
    }
    match value {
        Value::String(text) => check_string(s, text, at, errors),
        Value::Number(n) => check_number(s, n.as_f64().unwrap_or(f64::NAN), at, errors),
        Value::Array(items) => check_array(s, root, items, at, errors),
        Value::Object(fields) => check_object(s, root, fields, at, errors),
        Value::Bool(_) | Value::Null => {}
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_u64() || value.is_i64(),
        _ => false,
    }
}

fn check_string(s: &Map<String, Value>, text: &str, at: &str, errors: &mut Vec<String>) {
    if let Some(p) = s.get("pattern").and_then(Value::as_str) {
        let re = regex::Regex::new(p).unwrap_or_else(|e| panic!("bad pattern {p}: {e}"));
        if !re.is_match(text) {
            errors.push(format!("{at}: {text:?} does not match {p}"));
        }
    }
}

fn check_number(s: &Map<String, Value>, n: f64, at: &str, errors: &mut Vec<String>) {
    if let Some(min) = s.get("minimum").and_then(Value::as_f64)
        && n < min
    {
        errors.push(format!("{at}: {n} is below {min}"));
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_f64)
        && n > max
    {
        errors.push(format!("{at}: {n} is above {max}"));
    }
}

fn check_array(
    s: &Map<String, Value>,
    root: &Value,
    items: &[Value],
    at: &str,
    errors: &mut Vec<String>,
) {
    let count = |key: &str| s.get(key).and_then(Value::as_u64).map(|n| n as usize);
    if count("minItems").is_some_and(|n| items.len() < n) {
        errors.push(format!("{at}: {} items, fewer than minItems", items.len()));
    }
    if count("maxItems").is_some_and(|n| items.len() > n) {
        errors.push(format!("{at}: {} items, more than maxItems", items.len()));
    }
    let prefix = s
        .get("prefixItems")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for (i, item) in items.iter().enumerate() {
        let here = format!("{at}[{i}]");
        match (prefix.get(i), s.get("items")) {
            (Some(p), _) => check(p, root, item, &here, errors),
            (None, Some(rest)) => check(rest, root, item, &here, errors),
            (None, None) => {}
        }
    }
}

fn check_object(
    s: &Map<String, Value>,
    root: &Value,
    fields: &Map<String, Value>,
    at: &str,
    errors: &mut Vec<String>,
) {
    for key in s
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !fields.contains_key(key) {
            errors.push(format!("{at}: missing {key:?}"));
        }
    }
    let properties = s.get("properties").and_then(Value::as_object);
    for (key, field) in fields {
        let here = format!("{at}.{key}");
        match (
            properties.and_then(|p| p.get(key)),
            s.get("additionalProperties"),
        ) {
            (Some(p), _) => check(p, root, field, &here, errors),
            (None, Some(extra)) => check(extra, root, field, &here, errors),
            (None, None) => {}
        }
    }
}

/// Commands whose `--json` output another command's schema documents.
const SHARED: [(&str, &str); 5] = [
    ("stake", "balance"),
    ("testnet-drive", "simulate"),
    ("gov-propose", "gov-status"),
    ("gov-queue", "gov-status"),
    ("gov-execute", "gov-status"),
];

/// Outputs with `--json` that are not a command of their own.
const EXTRA: [&str; 2] = ["bench-list", "dump-config"];

/// Every command (`key-create`, `model-fetch`, …) that takes `--json`, with its schema's name:
/// its own, else its parent command's (`key`, `bench`), else the one in [`SHARED`].
fn json_commands() -> Vec<(String, String)> {
    use clap::CommandFactory;
    let mut cli = autonet_node::cli::Cli::command();
    cli.build();
    let mut found = Vec::new();
    walk(&cli, "", &mut found);
    found
        .into_iter()
        .map(|name| {
            let schema = schema_for(&name).unwrap_or_else(|| {
                panic!("`{name}` takes --json but docs/json has no schema for it")
            });
            (name, schema)
        })
        .collect()
}

fn walk(cmd: &clap::Command, prefix: &str, found: &mut Vec<String>) {
    for sub in cmd.get_subcommands() {
        let name = match prefix {
            "" => sub.get_name().to_owned(),
            p => format!("{p}-{}", sub.get_name()),
        };
        // A command with subcommands (`chain`, `model`) only passes `--json` on to them.
        if !sub.has_subcommands() && sub.get_arguments().any(|a| a.get_id() == "json") {
            found.push(name.clone());
        }
        walk(sub, &name, found);
    }
}

fn schema_for(command: &str) -> Option<String> {
    if let Some((_, shared)) = SHARED.iter().find(|(c, _)| *c == command) {
        return Some((*shared).to_owned());
    }
    let mut name = command;
    loop {
        if dir().join(format!("{name}.schema.json")).is_file() {
            return Some(name.to_owned());
        }
        name = name.rsplit_once('-')?.0;
    }
}

/// Every command that takes `--json` has a schema, every schema is a well-formed schema of the
/// checked subset and belongs to a command (#23: `--json` on every command that reports
/// something, with a documented schema).
#[test]
fn every_json_output_has_a_schema() {
    let commands = json_commands();
    for expected in [
        "keygen",
        "key-show",
        "chain-info",
        "balance",
        "simulate",
        "model-fetch",
    ] {
        assert!(
            commands.iter().any(|(c, _)| c == expected),
            "{expected} not found among {commands:?}"
        );
    }
    let mut used: Vec<String> = commands.into_iter().map(|(_, s)| s).collect();
    used.extend(EXTRA.iter().map(|s| (*s).to_owned()));
    for entry in std::fs::read_dir(dir()).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        if file == "README.md" {
            continue;
        }
        let name = file
            .strip_suffix(".schema.json")
            .unwrap_or_else(|| panic!("docs/json/{file} is not a schema"));
        assert!(
            used.iter().any(|u| u == name),
            "docs/json/{file} documents no command"
        );
        // A schema of the subset: checking any value reports no unknown keyword.
        let schema = load(name);
        let mut errors = Vec::new();
        check(&schema, &schema, &Value::Null, "$", &mut errors);
        assert!(
            errors
                .iter()
                .all(|e| !e.contains("is not checked") && !e.contains("unresolved")),
            "{file}: {errors:?}"
        );
    }
}

/// The quick commands' `--json` output matches its schema; the others are checked where their
/// tests run them (chain: `chain`, `key`, `stake`, `unstake`, `balance`; `simulate`, `testnet`,
/// `infer`, `substrate`, `model`, `keygen`, `gov`, `llm`: their own test files).
#[test]
fn quick_commands_print_json_that_matches_their_schema() {
    use crate::{autonet, run_ok, stdout};
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pw\n").unwrap();
    let key = |args: &[&str]| {
        let out = run_ok(
            autonet(dir.path())
                .arg("key")
                .args(args)
                .args(["--json", "--password-file"])
                .arg(&pw),
        );
        parse_and_check("key", &stdout(&out))
    };
    assert_eq!(
        key(&["create", "--role", "coordinator"])["action"],
        "created"
    );
    assert_eq!(key(&["show", "--role", "coordinator"])["action"], "show");
    let private = dir.path().join("private");
    std::fs::write(&private, format!("0x{}\n", "11".repeat(32))).unwrap();
    let imported = run_ok(
        autonet(dir.path())
            .args([
                "key",
                "import",
                "--role",
                "deployer",
                "--json",
                "--password-file",
            ])
            .arg(&pw)
            .arg("--private-key-file")
            .arg(&private),
    );
    parse_and_check("key", &stdout(&imported));
    let dump = run_ok(autonet(dir.path()).args(["--dump-config", "--json", "join"]));
    parse_and_check("dump-config", &stdout(&dump));
    let list = run_ok(autonet(dir.path()).args(["bench", "--list", "--json"]));
    parse_and_check("bench-list", &stdout(&list));
    let bench = run_ok(autonet(dir.path()).args(["bench", "--json", "store", "--records", "5"]));
    assert_eq!(parse_and_check("bench", &stdout(&bench))["name"], "store");
    let text = stdout(&run_ok(autonet(dir.path()).args(["keygen", "--json"])));
    parse_and_check("keygen", &text);
    // Without a chain only the local fingerprints (the chain case: `gov`'s test).
    let text = stdout(&run_ok(autonet(dir.path()).args(["integrity", "--json"])));
    assert_eq!(parse_and_check("integrity", &text)["status"], "unchecked");
}

/// The checker itself: what it must refuse.
#[test]
fn the_checker_refuses_what_the_schema_does_not_allow() {
    let schema = serde_json::json!({
        "type": "object",
        "required": ["a", "b"],
        "additionalProperties": false,
        "properties": {
            "a": {"type": "string", "pattern": "^0x[0-9a-f]+$"},
            "b": {"type": "array", "items": {"enum": ["x", "y"]}, "minItems": 1},
            "c": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "null"}]}
        }
    });
    let errors = |v: Value| {
        let mut e = Vec::new();
        check(&schema, &schema, &v, "$", &mut e);
        e
    };
    assert!(errors(serde_json::json!({"a": "0x1f", "b": ["x"], "c": 3})).is_empty());
    for bad in [
        serde_json::json!({"a": "1f", "b": ["x"]}),
        serde_json::json!({"a": "0x1f", "b": []}),
        serde_json::json!({"a": "0x1f", "b": ["z"]}),
        serde_json::json!({"a": "0x1f"}),
        serde_json::json!({"a": "0x1f", "b": ["x"], "d": 1}),
        serde_json::json!({"a": "0x1f", "b": ["x"], "c": -1}),
        serde_json::json!({"a": 1, "b": ["x"]}),
    ] {
        assert!(!errors(bad.clone()).is_empty(), "{bad} was accepted");
    }
}
