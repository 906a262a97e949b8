//! The built-in tools' schemas and argument checks, over a node that records what it is asked.

use std::sync::{Arc, Mutex};

use autonet_agents::builtin::{NAMES, NodeError, NodeResult};
use autonet_agents::{BuiltinTools, NodeApi, Priority, ToolError, ToolSource};
use serde_json::{Value, json};

/// Records every request; `balance` answers as a node without a chain does.
#[derive(Debug, Default)]
pub struct RecordingNode {
    pub asked: Mutex<Vec<String>>,
}

impl RecordingNode {
    fn note(&self, what: String) -> NodeResult<'_> {
        self.asked.lock().unwrap().push(what.clone());
        Box::pin(async move { Ok(json!({ "done": what })) })
    }
}

impl NodeApi for RecordingNode {
    fn infer<'a>(&'a self, query: &'a str) -> NodeResult<'a> {
        self.asked.lock().unwrap().push(format!("infer {query}"));
        Box::pin(async move { Ok(Value::String(format!("answer to {query}"))) })
    }
    fn model_status(&self) -> NodeResult<'_> {
        self.note("model_status".into())
    }
    fn balance(&self) -> NodeResult<'_> {
        Box::pin(async { Err(NodeError("no chain configured".into())) })
    }
    fn post_message<'a>(&'a self, to: &'a str, text: &'a str, p: Priority) -> NodeResult<'a> {
        self.note(format!("post {to} {p:?} {text}"))
    }
    fn delegate<'a>(&'a self, target: &'a str, task: &'a str) -> NodeResult<'a> {
        self.note(format!("delegate {target} {task}"))
    }
    fn submit_trace<'a>(&'a self, text: &'a str) -> NodeResult<'a> {
        self.note(format!("trace {text}"))
    }
}

#[tokio::test]
async fn every_tool_has_a_closed_object_schema() {
    let tools = BuiltinTools::new(Arc::new(RecordingNode::default()));
    let specs = tools.specs();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, NAMES);
    for spec in &specs {
        assert_eq!(spec.input_schema["type"], "object", "{}", spec.name);
        assert_eq!(
            spec.input_schema["additionalProperties"], false,
            "{}",
            spec.name
        );
        assert!(!spec.description.is_empty());
    }
}

#[tokio::test]
async fn valid_calls_reach_the_node() {
    let node = Arc::new(RecordingNode::default());
    let tools = BuiltinTools::new(node.clone());
    let out = tools
        .call("infer", json!({"query": "what is 2+2?"}))
        .await
        .unwrap();
    assert_eq!(out.text, "answer to what is 2+2?");
    let out = tools
        .call(
            "post_message",
            json!({"to": "worker-1", "text": "hi", "priority": "urgent"}),
        )
        .await
        .unwrap();
    assert!(!out.is_error);
    assert_eq!(
        serde_json::from_str::<Value>(&out.text).unwrap()["done"],
        "post worker-1 Urgent hi"
    );
    tools
        .call("post_message", json!({"to": "w", "text": "x"}))
        .await
        .unwrap();
    tools
        .call(
            "delegate",
            json!({"target": "capability:summarize", "task": "t"}),
        )
        .await
        .unwrap();
    tools
        .call("submit_trace", json!({"text": "a trace"}))
        .await
        .unwrap();
    tools.call("model_status", json!({})).await.unwrap();
    let out = tools.call("balance", json!({})).await.unwrap();
    assert!(out.is_error);
    assert_eq!(out.text, "no chain configured");
    assert_eq!(
        *node.asked.lock().unwrap(),
        [
            "infer what is 2+2?",
            "post worker-1 Urgent hi",
            "post w Normal x",
            "delegate capability:summarize t",
            "trace a trace",
            "model_status"
        ]
    );
}

#[tokio::test]
async fn bad_arguments_never_reach_the_node() {
    let node = Arc::new(RecordingNode::default());
    let tools = BuiltinTools::new(node.clone());
    let long = "x".repeat(autonet_agents::builtin::MAX_TEXT_BYTES + 1);
    let cases = [
        ("infer", json!({}), "missing \"query\""),
        ("infer", json!({"query": ""}), "is empty"),
        ("infer", json!({"query": 7}), "must be a string"),
        ("infer", json!({"query": long}), "the limit is"),
        (
            "infer",
            json!({"query": "q", "extra": 1}),
            "unknown argument \"extra\"",
        ),
        ("infer", json!(["q"]), "must be a JSON object"),
        ("model_status", json!({"x": 1}), "unknown argument"),
        (
            "post_message",
            json!({"to": "a b", "text": "x"}),
            "not an agent id",
        ),
        (
            "post_message",
            json!({"to": "a", "text": "x", "priority": "now"}),
            "priority",
        ),
        ("post_message", json!({"text": "x"}), "missing \"to\""),
        ("delegate", json!({"target": "a"}), "missing \"task\""),
        ("submit_trace", json!({"text": null}), "must be a string"),
    ];
    for (tool, args, expected) in cases {
        match tools.call(tool, args.clone()).await {
            Err(ToolError::BadArguments { reason, .. }) => {
                assert!(reason.contains(expected), "{tool} {args}: {reason}")
            }
            other => panic!("{tool} {args}: {other:?}"),
        }
    }
    assert!(matches!(
        tools.call("rm", json!({})).await,
        Err(ToolError::Unknown(_))
    ));
    assert!(node.asked.lock().unwrap().is_empty());
}
