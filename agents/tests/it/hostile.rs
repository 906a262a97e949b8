//! Servers that misbehave: each gives a clear error within its bound, never a panic or a hang.

use std::sync::Arc;
use std::time::Duration;

use autonet_agents::mcp::{McpError, McpTools};
use autonet_agents::{ToolBox, ToolError, ToolSource};
use serde_json::json;

use crate::support::{fixture, short_limits};

fn sh(script: &str) -> Vec<String> {
    vec!["-c".into(), script.into()]
}

async fn hostile(mode: &str) -> Result<McpTools, McpError> {
    let args = vec![fixture("hostile_mcp_server.py"), mode.into()];
    McpTools::stdio_with("python3", &args, &[], short_limits()).await
}

#[tokio::test]
async fn a_missing_command_cannot_start() {
    let err = McpTools::stdio("/nonexistent/mcp-server", &[], &[])
        .await
        .unwrap_err();
    assert!(matches!(err, McpError::Spawn { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/mcp-server"), "{err}");
}

#[tokio::test]
async fn a_server_printing_garbage_times_out_and_says_what_it_printed() {
    let args = sh("echo 'Welcome to my server!'; echo 'garbage, not JSON'; exec sleep 600");
    let err = McpTools::stdio_with("sh", &args, &[], short_limits())
        .await
        .unwrap_err();
    assert!(matches!(err, McpError::InitTimeout { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("2 line(s) on stdout that are not JSON-RPC"),
        "{text}"
    );
    assert!(text.contains("garbage, not JSON"), "{text}");
}

#[tokio::test]
async fn a_server_that_never_answers_initialize_times_out() {
    let err = McpTools::stdio_with("sh", &sh("exec sleep 600"), &[], short_limits())
        .await
        .unwrap_err();
    assert!(
        matches!(err, McpError::InitTimeout { after, .. } if after == Duration::from_secs(3)),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_that_exits_reports_its_status_and_stderr() {
    let args = sh("echo 'fatal: no config file' >&2; exit 3");
    let err = McpTools::stdio_with("sh", &args, &[], short_limits())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, McpError::Initialize { .. }), "{text}");
    assert!(text.contains("exit status: 3"), "{text}");
    assert!(text.contains("fatal: no config file"), "{text}");
}

#[tokio::test]
async fn a_server_crashing_mid_call_fails_the_call_with_its_exit() {
    let tools = hostile("calls").await.unwrap();
    match tools.call("boom", json!({})).await {
        Err(ToolError::Failed { tool, reason }) => {
            assert_eq!(tool, "boom");
            assert!(reason.contains("exit status: 7"), "{reason}");
            assert!(reason.contains("crashing as asked"), "{reason}");
        }
        other => panic!("a crash gave {other:?}"),
    }
    // Later calls fail the same way, at once.
    assert!(matches!(
        tools.call("big", json!({})).await,
        Err(ToolError::Failed { .. })
    ));
}

#[tokio::test]
async fn huge_output_is_cut_and_a_hanging_call_times_out() {
    let tools = hostile("calls").await.unwrap();
    let mut tb = ToolBox::new(Duration::from_secs(2));
    tb.add(Arc::new(tools));
    let out = tb.call("big", json!({})).await.unwrap();
    assert!(out.text.len() <= autonet_agents::tools::MAX_TOOL_OUTPUT_BYTES + 10);
    assert!(out.text.ends_with("[cut]"));
    assert!(matches!(
        tb.call("wait", json!({})).await,
        Err(ToolError::Timeout { .. })
    ));
    assert!(matches!(
        tb.call("big", json!("not an object")).await,
        Err(ToolError::BadArguments { .. })
    ));
}

#[tokio::test]
async fn tool_lists_are_bounded_and_checked() {
    for (mode, expected) in [
        ("many-tools", "more than 256 tools"),
        ("endless-pages", "more than 16 pages"),
        ("bad-name", "\"rm -rf\""),
    ] {
        let err = hostile(mode).await.unwrap_err();
        assert!(matches!(err, McpError::Tools { .. }), "{mode}: {err}");
        assert!(err.to_string().contains(expected), "{mode}: {err}");
    }
}
