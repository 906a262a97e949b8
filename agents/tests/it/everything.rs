//! `@modelcontextprotocol/server-everything` over stdio and streamable HTTP.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use autonet_agents::mcp::McpTools;
use autonet_agents::{ToolBox, ToolError, ToolSource};
use serde_json::json;

use crate::support::{everything_stdio, free_port, servers};

/// Calls every behaviour the tests need of one connection to the everything server.
async fn exercise(tools: McpTools) {
    let names: Vec<String> = tools.specs().into_iter().map(|s| s.name).collect();
    for expected in ["echo", "get-sum", "trigger-long-running-operation"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let echo = tools
        .specs()
        .into_iter()
        .find(|s| s.name == "echo")
        .unwrap();
    assert_eq!(echo.input_schema["properties"]["message"]["type"], "string");

    let mut tb = ToolBox::new(Duration::from_secs(2));
    assert!(tb.add(Arc::new(tools)).is_empty());

    let out = tb
        .call("echo", json!({"message": "hi there"}))
        .await
        .unwrap();
    assert!(!out.is_error);
    assert_eq!(out.text, "Echo: hi there");

    let out = tb.call("get-sum", json!({"a": 2, "b": 40})).await.unwrap();
    assert!(!out.is_error, "{out:?}");
    assert!(out.text.contains("42"), "{}", out.text);

    // The server checks its arguments: a string where a number goes.
    match tb.call("get-sum", json!({"a": "two", "b": 1})).await {
        Err(ToolError::BadArguments { reason, .. }) => assert!(!reason.is_empty()),
        Ok(out) => assert!(out.is_error, "bad arguments accepted: {out:?}"),
        Err(e) => panic!("bad arguments gave {e}"),
    }

    match tb.call("no-such-tool", json!({})).await {
        Err(ToolError::Unknown(name)) => assert_eq!(name, "no-such-tool"),
        other => panic!("unknown tool gave {other:?}"),
    }

    // A 30 s operation against the box's 2 s limit.
    match tb
        .call(
            "trigger-long-running-operation",
            json!({"duration": 30, "steps": 3}),
        )
        .await
    {
        Err(ToolError::Timeout { tool, after }) => {
            assert_eq!(tool, "trigger-long-running-operation");
            assert_eq!(after, Duration::from_secs(2));
        }
        other => panic!("a long operation gave {other:?}"),
    }
    // The connection still works after a timed-out call.
    let out = tb
        .call("echo", json!({"message": "still here"}))
        .await
        .unwrap();
    assert_eq!(out.text, "Echo: still here");
}

#[tokio::test]
async fn everything_over_stdio() {
    let Some(dir) = servers() else { return };
    exercise(everything_stdio(&dir).await).await;
}

#[tokio::test]
async fn everything_over_streamable_http() {
    let Some(dir) = servers() else { return };
    let port = free_port();
    let mut server = tokio::process::Command::new("node")
        .arg(dir.join("server-everything/dist/index.js"))
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start server-everything");
    let url = format!("http://127.0.0.1:{port}/mcp");
    // Poll until it answers (node takes a moment to start).
    let mut tools = None;
    for _ in 0..200 {
        match McpTools::http(&url, None).await {
            Ok(t) => {
                tools = Some(t);
                break;
            }
            Err(_) => {
                assert!(server.try_wait().unwrap().is_none(), "the server exited");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let tools = tools.expect("server-everything answered over HTTP");
    exercise(tools).await;
    server.kill().await.unwrap();
}

#[tokio::test]
async fn http_to_nothing_is_a_clear_error() {
    let url = format!("http://127.0.0.1:{}/mcp", free_port());
    let err = McpTools::http(&url, None).await.unwrap_err().to_string();
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("initialize"), "{err}");
}
