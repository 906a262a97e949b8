//! The built-in tools, which expose the network to an agent: `infer`, `model_status`,
//! `balance`, `post_message`, `delegate`, `submit_trace`. Each has a precise JSON schema (no
//! extra fields) and its arguments are checked against it before the node is asked, so a bad
//! call is a [`ToolError::BadArguments`] and the node sees only valid requests.
//!
//! The node side is the [`NodeApi`] trait (the node implements it; tests may implement it
//! themselves). A node that cannot do something (no chain configured, no runtime to delegate
//! to) answers [`NodeError`], which the agent reads as the tool's error text.

use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::message::{MAX_NAME_BYTES, Priority};
use crate::tools::{ToolError, ToolOutput, ToolSource, ToolSpec};

/// The longest `infer` query, `delegate` task or `post_message` text.
pub const MAX_TEXT_BYTES: usize = 32 * 1024;
/// The longest `submit_trace` text.
pub const MAX_TRACE_BYTES: usize = 256 * 1024;
/// The longest `delegate` target (an agent id or a capability).
pub const MAX_TARGET_BYTES: usize = 256;

/// What the node could not do, in words for the agent.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct NodeError(pub String);

/// Answers of the node's built-in tools: JSON (a string answer is shown as plain text).
pub type NodeResult<'a> = BoxFuture<'a, Result<Value, NodeError>>;

/// What the node offers its agents. Object-safe: used as `Arc<dyn NodeApi>`.
pub trait NodeApi: Send + Sync + std::fmt::Debug {
    /// Answers `query` with the node's local model.
    fn infer<'a>(&'a self, query: &'a str) -> NodeResult<'a>;
    /// What the node knows of the latest model.
    fn model_status(&self) -> NodeResult<'_>;
    /// The node's ATN balance, stake and claimable rewards.
    fn balance(&self) -> NodeResult<'_>;
    /// Posts `text` to agent `to`'s inbox.
    fn post_message<'a>(&'a self, to: &'a str, text: &'a str, priority: Priority)
    -> NodeResult<'a>;
    /// Delegates `task` to an agent (by id) or to one offering a capability.
    fn delegate<'a>(&'a self, target: &'a str, task: &'a str) -> NodeResult<'a>;
    /// Submits an execution trace to train the network.
    fn submit_trace<'a>(&'a self, text: &'a str) -> NodeResult<'a>;
}

/// The tool names, in the order listed.
pub const NAMES: [&str; 6] = [
    "infer",
    "model_status",
    "balance",
    "post_message",
    "delegate",
    "submit_trace",
];

fn schema(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required,
           "additionalProperties": false})
}

fn text_prop(description: &str, max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "description": description})
}

/// The specs of the built-in tools.
pub fn specs() -> Vec<ToolSpec> {
    let spec = |name: &str, description: &str, input_schema: Value| ToolSpec {
        name: name.into(),
        description: description.into(),
        input_schema,
    };
    let name_pattern = "^[A-Za-z0-9._:-]+$";
    vec![
        spec(
            "infer",
            "Ask the node's local model (the world-model substrate) a question; answers JSON.",
            schema(
                json!({"query": text_prop("The question or text to evaluate.", MAX_TEXT_BYTES)}),
                &["query"],
            ),
        ),
        spec(
            "model_status",
            "What this node knows of the latest model (kind, hash, size).",
            schema(json!({}), &[]),
        ),
        spec(
            "balance",
            "This node's ATN balance, stake and claimable rewards on the chain.",
            schema(json!({}), &[]),
        ),
        spec(
            "post_message",
            "Post a message to an agent's inbox (an agent id on this node).",
            schema(
                json!({
                    "to": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_BYTES, "pattern": name_pattern,
                           "description": "The agent id."},
                    "text": text_prop("The message.", MAX_TEXT_BYTES),
                    "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"], "default": "normal",
                                 "description": "high and urgent wake an idle agent."}
                }),
                &["to", "text"],
            ),
        ),
        spec(
            "delegate",
            "Delegate a task to an agent (by id) or to one found by capability; the result arrives in your inbox.",
            schema(
                json!({
                    "target": text_prop("An agent id, or a capability to find an agent by.", MAX_TARGET_BYTES),
                    "task": text_prop("What to do.", MAX_TEXT_BYTES)
                }),
                &["target", "task"],
            ),
        ),
        spec(
            "submit_trace",
            "Submit an execution trace (text) to train the network.",
            schema(
                json!({"text": text_prop("The trace.", MAX_TRACE_BYTES)}),
                &["text"],
            ),
        ),
    ]
}

/// Checked arguments of one call.
struct Args<'a> {
    tool: &'a str,
    map: Map<String, Value>,
}

impl<'a> Args<'a> {
    fn new(tool: &'a str, arguments: Value, allowed: &[&str]) -> Result<Self, ToolError> {
        let Value::Object(map) = arguments else {
            return Err(bad(tool, "arguments must be a JSON object".into()));
        };
        if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            let extra: String = extra.chars().take(64).collect();
            return Err(bad(
                tool,
                format!("unknown argument {extra:?} (takes {allowed:?})"),
            ));
        }
        Ok(Args { tool, map })
    }

    /// A required string of 1 to `max` bytes.
    fn text(&self, key: &str, max: usize) -> Result<&str, ToolError> {
        match self.map.get(key) {
            None => Err(bad(self.tool, format!("missing {key:?}"))),
            Some(Value::String(s)) if s.is_empty() => {
                Err(bad(self.tool, format!("{key:?} is empty")))
            }
            Some(Value::String(s)) if s.len() > max => Err(bad(
                self.tool,
                format!("{key:?} is {} bytes; the limit is {max}", s.len()),
            )),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(bad(self.tool, format!("{key:?} must be a string"))),
        }
    }
}

fn bad(tool: &str, reason: String) -> ToolError {
    ToolError::BadArguments {
        tool: tool.into(),
        reason,
    }
}

fn render(answer: Result<Value, NodeError>) -> ToolOutput {
    match answer {
        Ok(Value::String(text)) => ToolOutput::ok(text),
        Ok(value) => ToolOutput::ok(value.to_string()),
        Err(e) => ToolOutput::error(e.0),
    }
}

/// The built-in tools over a [`NodeApi`].
#[derive(Debug, Clone)]
pub struct BuiltinTools {
    node: std::sync::Arc<dyn NodeApi>,
}

impl BuiltinTools {
    /// The tools, answered by `node`.
    pub fn new(node: std::sync::Arc<dyn NodeApi>) -> Self {
        BuiltinTools { node }
    }

    async fn call_inner(&self, name: &str, arguments: Value) -> Result<ToolOutput, ToolError> {
        let node = &*self.node;
        let answer = match name {
            "infer" => {
                let a = Args::new(name, arguments, &["query"])?;
                node.infer(a.text("query", MAX_TEXT_BYTES)?).await
            }
            "model_status" => {
                Args::new(name, arguments, &[])?;
                node.model_status().await
            }
            "balance" => {
                Args::new(name, arguments, &[])?;
                node.balance().await
            }
            "post_message" => {
                let a = Args::new(name, arguments, &["to", "text", "priority"])?;
                let to = a.text("to", MAX_NAME_BYTES)?;
                let valid = to
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
                if !valid {
                    return Err(bad(
                        name,
                        format!("\"to\" {to:?} is not an agent id ([A-Za-z0-9._:-])"),
                    ));
                }
                let priority = match a.map.get("priority") {
                    None => Priority::Normal,
                    Some(p) => serde_json::from_value(p.clone()).map_err(|_| {
                        bad(
                            name,
                            "\"priority\" must be one of low, normal, high, urgent".into(),
                        )
                    })?,
                };
                node.post_message(to, a.text("text", MAX_TEXT_BYTES)?, priority)
                    .await
            }
            "delegate" => {
                let a = Args::new(name, arguments, &["target", "task"])?;
                let target = a.text("target", MAX_TARGET_BYTES)?;
                node.delegate(target, a.text("task", MAX_TEXT_BYTES)?).await
            }
            "submit_trace" => {
                let a = Args::new(name, arguments, &["text"])?;
                node.submit_trace(a.text("text", MAX_TRACE_BYTES)?).await
            }
            _ => return Err(ToolError::Unknown(name.into())),
        };
        Ok(render(answer))
    }
}

impl ToolSource for BuiltinTools {
    fn specs(&self) -> Vec<ToolSpec> {
        specs()
    }

    fn call<'a>(
        &'a self,
        name: &'a str,
        arguments: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.call_inner(name, arguments))
    }
}
