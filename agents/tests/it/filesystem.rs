//! `@modelcontextprotocol/server-filesystem` over stdio, rooted in a temporary directory.

use std::sync::Arc;
use std::time::Duration;

use autonet_agents::mcp::McpTools;
use autonet_agents::{ToolBox, ToolError};
use serde_json::json;

use crate::support::servers;

#[tokio::test]
async fn filesystem_writes_reads_lists_and_refuses_outside_its_root() {
    let Some(dir) = servers() else { return };
    let root = tempfile::tempdir().unwrap();
    let root_path = root.path().canonicalize().unwrap();
    let script = dir
        .join("server-filesystem/dist/index.js")
        .display()
        .to_string();
    let tools = McpTools::stdio("node", &[script, root_path.display().to_string()], &[])
        .await
        .expect("server-filesystem over stdio");
    let mut tb = ToolBox::new(Duration::from_secs(20));
    tb.add(Arc::new(tools));
    for name in ["write_file", "read_text_file", "list_directory"] {
        assert!(tb.has(name), "{name}");
    }

    let file = root_path.join("note.txt").display().to_string();
    let out = tb
        .call(
            "write_file",
            json!({"path": file, "content": "hello from autonet\n"}),
        )
        .await
        .unwrap();
    assert!(!out.is_error, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(root_path.join("note.txt")).unwrap(),
        "hello from autonet\n"
    );

    let out = tb
        .call("read_text_file", json!({"path": file}))
        .await
        .unwrap();
    assert!(!out.is_error, "{out:?}");
    assert!(out.text.contains("hello from autonet"), "{}", out.text);

    let out = tb
        .call(
            "list_directory",
            json!({"path": root_path.display().to_string()}),
        )
        .await
        .unwrap();
    assert!(out.text.contains("[FILE] note.txt"), "{}", out.text);

    // Outside the root: the tool runs and says no (an answer for the agent, not a transport
    // failure).
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "not yours").unwrap();
    let out = tb
        .call(
            "read_text_file",
            json!({"path": secret.display().to_string()}),
        )
        .await
        .unwrap();
    assert!(out.is_error, "{out:?}");
    assert!(
        out.text.to_lowercase().contains("access denied"),
        "{}",
        out.text
    );
    assert!(!out.text.contains("not yours"));

    // A missing argument.
    match tb.call("read_text_file", json!({})).await {
        Err(ToolError::BadArguments { .. }) => {}
        Ok(out) => assert!(out.is_error, "{out:?}"),
        Err(e) => panic!("missing path gave {e}"),
    }
}
