//! `autonet agent mcp`: the node's built-in tools over MCP, checked with the official `mcp`
//! Python client (scripts/mcp/mcp-client-check.py), over stdio and streamable HTTP; the message
//! it posts is read back from the node's inbox.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use autonet_agents::{Inbox, Priority};
use autonet_store::Store;
use serde_json::Value;

use crate::{autonet, run_fails, stdout};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scripts/mcp/mcp-client-check.py"
);

fn have_python_mcp() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import mcp"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIP: the mcp Python package is not installed \
             (python3 -m pip install -r scripts/mcp/requirements.txt; scripts/test does)"
        );
    }
    ok
}

/// Runs the Python check and returns the JSON line it printed.
fn check(args: &[&str]) -> Value {
    let out = Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(seen["infer_mode"], "general", "{seen}");
    assert!(
        seen["balance_error"]
            .as_str()
            .unwrap()
            .contains("no chain configured"),
        "{seen}"
    );
    // Bad arguments: a JSON-RPC error (invalid params), not a tool result.
    assert_eq!(seen["bad_arguments"]["code"], -32602, "{seen}");
    assert!(
        seen["bad_arguments"]["message"]
            .as_str()
            .unwrap()
            .contains("\"query\" must be a string"),
        "{seen}"
    );
    seen
}

/// The message the check posted, read from the inbox the server kept.
fn posted_message(data: &Path, seen: &Value) {
    let store = Store::open(data.join("agents.redb")).unwrap();
    let pending = Inbox::new(Arc::new(store)).pending("worker-1").unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let (seq, message) = &pending[0];
    assert_eq!(Value::from(*seq), seen["posted"]["seq"]);
    assert_eq!(message.id, seen["posted"]["id"].as_str().unwrap());
    assert_eq!(message.data["text"], "hello from python");
    assert_eq!(message.priority, Priority::High);
    assert_eq!(message.source, "mcp");
}

#[test]
fn python_mcp_client_over_stdio() {
    if !have_python_mcp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let seen = check(&[
        "stdio",
        env!("CARGO_BIN_EXE_autonet"),
        "--data-dir",
        data,
        "agent",
        "mcp",
        "--stdio",
    ]);
    // The client closed stdin: the server has exited and released the store.
    posted_message(dir.path(), &seen);
}

#[test]
fn python_mcp_client_over_http_with_a_token() {
    if !have_python_mcp() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "test-token-123\n").unwrap();
    let mut server = autonet(dir.path())
        .args(["agent", "mcp", "--listen", "127.0.0.1:0", "--token-file"])
        .arg(&token_file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{line}"
    );

    let seen = check(&["http", &url, "test-token-123"]);
    // A wrong token is refused before any tool runs.
    let out = Command::new("python3")
        .arg(SCRIPT)
        .args(["http", &url, "wrong"])
        .output()
        .unwrap();
    server.kill().unwrap();
    let _ = server.wait();
    assert!(!out.status.success());
    // The client reports the refusal as a 401 or as an error response, by version.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("401") || stderr.contains("error response"),
        "{stderr}"
    );
    posted_message(dir.path(), &seen);
}

#[test]
fn serving_off_loopback_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    run_fails(
        autonet(dir.path()).args(["agent", "mcp", "--listen", "0.0.0.0:0"]),
        "needs --token-file",
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    run_fails(
        autonet(dir.path())
            .args(["agent", "mcp", "--listen", "127.0.0.1:0", "--token-file"])
            .arg(&empty),
        "is empty",
    );
}
