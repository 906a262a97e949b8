//! Tools an agent can call: one interface for every source of tools (MCP servers over stdio or
//! streamable HTTP, the node's built-in tools), and [`ToolBox`], which routes a call by name to
//! the source that offers it and bounds it in time.
//!
//! A tool's result is text (MCP's text content joined) plus whether the tool itself reported an
//! error: a tool that runs and says "no such file" is an answer the agent reads, not a failure of
//! the runtime. [`ToolError`] is for calls that produced no answer (unknown tool, bad arguments,
//! transport lost, timeout).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// The longest a tool's text answer may be; longer answers are cut (and say so).
pub const MAX_TOOL_OUTPUT_BYTES: usize = 64 * 1024;

/// What a tool is: its name, what it does and the JSON schema of its arguments (as MCP's
/// `tools/list` gives it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Unique within a [`ToolBox`].
    pub name: String,
    /// For the model's prompt.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub input_schema: serde_json::Value,
}

/// A tool's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    /// The text content (cut to [`MAX_TOOL_OUTPUT_BYTES`]).
    pub text: String,
    /// The tool ran and reported an error (MCP's `isError`).
    pub is_error: bool,
}

impl ToolOutput {
    /// A successful answer.
    pub fn ok(text: impl Into<String>) -> Self {
        ToolOutput {
            text: cut(text.into()),
            is_error: false,
        }
    }

    /// An answer in which the tool reports an error.
    pub fn error(text: impl Into<String>) -> Self {
        ToolOutput {
            text: cut(text.into()),
            is_error: true,
        }
    }
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_TOOL_OUTPUT_BYTES {
        let mut end = MAX_TOOL_OUTPUT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(" [cut]");
    }
    text
}

/// Why a call produced no answer.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ToolError {
    /// No source offers a tool of this name.
    #[error("unknown tool {0:?}")]
    Unknown(String),
    /// The arguments are not what the tool takes.
    #[error("tool {tool}: bad arguments: {reason}")]
    BadArguments {
        /// The tool.
        tool: String,
        /// What is wrong.
        reason: String,
    },
    /// The source failed (a server that exited, answered garbage, or refused the call).
    #[error("tool {tool} failed: {reason}")]
    Failed {
        /// The tool.
        tool: String,
        /// What went wrong.
        reason: String,
    },
    /// No answer in time.
    #[error("tool {tool} gave no answer within {after:?}")]
    Timeout {
        /// The tool.
        tool: String,
        /// The limit.
        after: Duration,
    },
}

/// A source of tools: an MCP server connection, or the node's built-in tools.
pub trait ToolSource: Send + Sync + std::fmt::Debug {
    /// The tools it offers (read once when the source is added to a [`ToolBox`]).
    fn specs(&self) -> Vec<ToolSpec>;
    /// Calls one of its tools.
    fn call<'a>(
        &'a self,
        name: &'a str,
        arguments: serde_json::Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// The tools one agent may use, routed by name, each call bounded by a timeout.
#[derive(Debug, Clone)]
pub struct ToolBox {
    routes: BTreeMap<String, (ToolSpec, Arc<dyn ToolSource>)>,
    timeout: Duration,
}

impl Default for ToolBox {
    fn default() -> Self {
        ToolBox::new(Duration::from_secs(30))
    }
}

impl ToolBox {
    /// An empty box whose calls time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        ToolBox {
            routes: BTreeMap::new(),
            timeout,
        }
    }

    /// Adds every tool of `source`; a name already present keeps its first source (the
    /// returned names are those skipped).
    pub fn add(&mut self, source: Arc<dyn ToolSource>) -> Vec<String> {
        let mut skipped = Vec::new();
        for spec in source.specs() {
            if self.routes.contains_key(&spec.name) {
                skipped.push(spec.name);
            } else {
                self.routes
                    .insert(spec.name.clone(), (spec, Arc::clone(&source)));
            }
        }
        skipped
    }

    /// Keeps only the tools named in `allowed` (an agent definition's `tools`; empty keeps all).
    pub fn restrict(&mut self, allowed: &[String]) {
        if !allowed.is_empty() {
            self.routes.retain(|name, _| allowed.contains(name));
        }
    }

    /// The tools, sorted by name.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.routes.values().map(|(s, _)| s.clone()).collect()
    }

    /// Whether a tool of this name is in the box.
    pub fn has(&self, name: &str) -> bool {
        self.routes.contains_key(name)
    }

    /// Calls `name` with `arguments` (which must be a JSON object), within the box's timeout.
    pub async fn call(
        &self,
        name: &str,
        arguments: serde_json::Value,
    ) -> Result<ToolOutput, ToolError> {
        let (_, source) = self
            .routes
            .get(name)
            .ok_or_else(|| ToolError::Unknown(name.to_string()))?;
        if !arguments.is_object() {
            return Err(ToolError::BadArguments {
                tool: name.to_string(),
                reason: "arguments must be a JSON object".into(),
            });
        }
        match tokio::time::timeout(self.timeout, source.call(name, arguments)).await {
            Ok(result) => result,
            Err(_) => Err(ToolError::Timeout {
                tool: name.to_string(),
                after: self.timeout,
            }),
        }
    }
}
