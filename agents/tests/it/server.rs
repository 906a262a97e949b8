//! The MCP server over streamable HTTP, from this crate's own client (the Python client's test
//! is in the node's suite).

use std::sync::Arc;
use std::time::Duration;

use autonet_agents::mcp::{HttpOptions, McpError, McpTools, router};
use autonet_agents::{BuiltinTools, ToolBox, ToolError, ToolSource};
use serde_json::json;

use crate::builtin::RecordingNode;

async fn serve(token: Option<&str>) -> String {
    let mut tb = ToolBox::new(Duration::from_secs(5));
    tb.add(Arc::new(BuiltinTools::new(Arc::new(
        RecordingNode::default(),
    ))));
    let app = router(
        Arc::new(tb),
        HttpOptions {
            token: token.map(String::from),
            allowed_hosts: vec![],
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/mcp")
}

#[tokio::test]
async fn builtin_tools_served_over_http_with_a_token() {
    let url = serve(Some("s3cret")).await;
    let tools = McpTools::http(&url, Some("s3cret".into())).await.unwrap();
    let names: Vec<String> = tools.specs().into_iter().map(|s| s.name).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(names.contains(&"post_message".to_string()));
    let out = tools
        .call("infer", json!({"query": "hello"}))
        .await
        .unwrap();
    assert_eq!(out.text, "answer to hello");
    let out = tools.call("balance", json!({})).await.unwrap();
    assert!(out.is_error);
    assert_eq!(out.text, "no chain configured");
    match tools.call("infer", json!({"query": 1})).await {
        Err(ToolError::BadArguments { reason, .. }) => {
            assert!(reason.contains("must be a string"), "{reason}")
        }
        other => panic!("{other:?}"),
    }

    for wrong in [None, Some("guess".to_string())] {
        let err = McpTools::http(&url, wrong.clone()).await.unwrap_err();
        assert!(
            matches!(err, McpError::Initialize { .. }),
            "{wrong:?}: {err}"
        );
    }
}
