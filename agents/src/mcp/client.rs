//! [`McpTools`]: the tools of one MCP server (over stdio or streamable HTTP) as a
//! [`ToolSource`].
//!
//! A server is untrusted: the handshake and the tool listing are bounded in time, the listing
//! in size (tools, pages, schema and name checks), every message in bytes, and a call's answer
//! is cut to [`MAX_TOOL_OUTPUT_BYTES`](crate::tools::MAX_TOOL_OUTPUT_BYTES). A server that
//! exits, hangs or prints garbage gives a [`McpError`] or [`ToolError`] naming what it did.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ErrorCode, Implementation,
    PaginatedRequestParams, ProtocolVersion,
};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use tokio::sync::oneshot;

use super::content::{output_of, spec_of};
use super::process::{self, Diagnostics};
use crate::tools::{ToolError, ToolOutput, ToolSource, ToolSpec};

/// Bounds on what a server may do.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connecting and the `initialize` handshake.
    pub init: Duration,
    /// Each `tools/list` page.
    pub list: Duration,
    /// A call, as a backstop ([`ToolBox`](crate::ToolBox) usually bounds calls tighter).
    pub call: Duration,
    /// The most tools a server may offer.
    pub max_tools: usize,
    /// The most `tools/list` pages.
    pub max_pages: usize,
    /// The largest message (a stdio line, an HTTP body or SSE event) read from the server.
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            init: Duration::from_secs(20),
            list: Duration::from_secs(20),
            call: Duration::from_secs(600),
            max_tools: 256,
            max_pages: 16,
            max_message_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Why a server could not be used.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The server process could not be started.
    #[error("cannot start MCP server {server}: {reason}")]
    Spawn {
        /// The command.
        server: String,
        /// The OS's reason.
        reason: String,
    },
    /// No answer to `initialize` in time.
    #[error(
        "MCP server {server} did not complete the initialize handshake within {after:?}{detail}"
    )]
    InitTimeout {
        /// The command or URL.
        server: String,
        /// The limit.
        after: Duration,
        /// What the server did meanwhile (exit, stray output, stderr).
        detail: String,
    },
    /// The handshake failed (connection refused or closed, the process exited, a wrong answer).
    #[error("MCP server {server} failed the initialize handshake: {reason}{detail}")]
    Initialize {
        /// The command or URL.
        server: String,
        /// rmcp's reason.
        reason: String,
        /// What the server did (exit, stray output, stderr).
        detail: String,
    },
    /// Listing the tools failed, or the list is not acceptable.
    #[error("MCP server {server}: bad tool list: {reason}")]
    Tools {
        /// The command or URL.
        server: String,
        /// What is wrong.
        reason: String,
    },
}

/// The tools of one connected MCP server. Dropping it closes the connection (and kills a
/// stdio server).
#[derive(Debug)]
pub struct McpTools {
    server: String,
    client: RunningService<RoleClient, ClientConfig>,
    specs: Vec<ToolSpec>,
    limits: Limits,
    diagnostics: Option<Arc<Diagnostics>>,
    _kill: Option<oneshot::Sender<()>>,
}

/// Shortens rmcp's error texts, which may embed a whole (hostile) message.
fn brief(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    match text.char_indices().nth(500) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

fn handler() -> ClientConfig {
    let mut config = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("autonet", env!("CARGO_PKG_VERSION")),
    );
    // The newest version that starts with `initialize`, which every server deployed today
    // understands; the server may answer with an older one.
    config.protocol_version = ProtocolVersion::LATEST_WITH_INITIALIZE;
    config
}

impl McpTools {
    /// Starts `command args…` (with `env` added) and connects over its stdin and stdout.
    pub async fn stdio(
        command: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Self, McpError> {
        Self::stdio_with(command, args, env, Limits::default()).await
    }

    /// [`stdio`](Self::stdio) with other limits.
    pub async fn stdio_with(
        command: &str,
        args: &[String],
        env: &[(String, String)],
        limits: Limits,
    ) -> Result<Self, McpError> {
        let server = command.to_string();
        let proc = process::spawn(command, args, env).map_err(|e| McpError::Spawn {
            server: server.clone(),
            reason: e.to_string(),
        })?;
        let transport = AsyncRwTransport::new_client(proc.stdout, proc.stdin)
            .with_max_line_length(limits.max_message_bytes);
        let diagnostics = proc.diagnostics;
        let started = tokio::time::timeout(limits.init, handler().serve(transport)).await;
        let client = match started {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                // The process is usually exiting: let its status and stderr arrive.
                diagnostics.settle(Duration::from_secs(2)).await;
                return Err(McpError::Initialize {
                    server,
                    reason: brief(e),
                    detail: diagnostics.describe(),
                });
            }
            Err(_) => {
                return Err(McpError::InitTimeout {
                    server,
                    after: limits.init,
                    detail: diagnostics.describe(),
                });
            }
        };
        Self::list(server, client, limits, Some(diagnostics), Some(proc.kill)).await
    }

    /// Connects to a streamable HTTP server at `url`, sending `Authorization: Bearer <bearer>`
    /// when given.
    pub async fn http(url: &str, bearer: Option<String>) -> Result<Self, McpError> {
        Self::http_with(url, bearer, Limits::default()).await
    }

    /// [`http`](Self::http) with other limits.
    pub async fn http_with(
        url: &str,
        bearer: Option<String>,
        limits: Limits,
    ) -> Result<Self, McpError> {
        let server = url.to_string();
        let mut config = StreamableHttpClientTransportConfig::with_uri(url)
            .max_sse_event_size(limits.max_message_bytes)
            .max_json_response_size(limits.max_message_bytes);
        if let Some(token) = bearer {
            config = config.auth_header(token);
        }
        let transport = StreamableHttpClientTransport::from_config(config);
        let client = match tokio::time::timeout(limits.init, handler().serve(transport)).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(McpError::Initialize {
                    server,
                    reason: brief(error_chain(&e)),
                    detail: String::new(),
                });
            }
            Err(_) => {
                return Err(McpError::InitTimeout {
                    server,
                    after: limits.init,
                    detail: String::new(),
                });
            }
        };
        Self::list(server, client, limits, None, None).await
    }

    async fn list(
        server: String,
        client: RunningService<RoleClient, ClientConfig>,
        limits: Limits,
        diagnostics: Option<Arc<Diagnostics>>,
        kill: Option<oneshot::Sender<()>>,
    ) -> Result<Self, McpError> {
        let bad = |reason: String| McpError::Tools {
            server: server.clone(),
            reason,
        };
        let mut specs: Vec<ToolSpec> = Vec::new();
        let mut cursor = None;
        for page in 0.. {
            if page == limits.max_pages {
                return Err(bad(format!("more than {} pages", limits.max_pages)));
            }
            let params = cursor.map(|c| PaginatedRequestParams::default().with_cursor(Some(c)));
            let listed = tokio::time::timeout(limits.list, client.list_tools(params))
                .await
                .map_err(|_| bad(format!("no answer within {:?}", limits.list)))?
                .map_err(|e| bad(brief(e)))?;
            for tool in &listed.tools {
                let spec = spec_of(tool).map_err(&bad)?;
                if specs.iter().any(|s| s.name == spec.name) {
                    return Err(bad(format!("tool {} is listed twice", spec.name)));
                }
                specs.push(spec);
            }
            if specs.len() > limits.max_tools {
                return Err(bad(format!("more than {} tools", limits.max_tools)));
            }
            match listed.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(McpTools {
            server,
            client,
            specs,
            limits,
            diagnostics,
            _kill: kill,
        })
    }

    /// The command or URL this connection was made to.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// What a stdio server did, once it has had a moment to exit (a closed connection
    /// usually means it is exiting).
    async fn detail(&self) -> String {
        match &self.diagnostics {
            Some(d) => {
                d.settle(Duration::from_secs(2)).await;
                d.describe()
            }
            None => String::new(),
        }
    }

    async fn call_inner(
        &self,
        name: &str,
        arguments: serde_json::Value,
    ) -> Result<ToolOutput, ToolError> {
        let tool = name.to_string();
        if !self.specs.iter().any(|s| s.name == name) {
            return Err(ToolError::Unknown(tool));
        }
        let serde_json::Value::Object(arguments) = arguments else {
            return Err(ToolError::BadArguments {
                tool,
                reason: "arguments must be a JSON object".into(),
            });
        };
        let mut params = CallToolRequestParams::new(tool.clone());
        params.arguments = Some(arguments);
        let answer = tokio::time::timeout(self.limits.call, self.client.call_tool(params)).await;
        match answer {
            Err(_) => Err(ToolError::Timeout {
                tool,
                after: self.limits.call,
            }),
            Ok(Ok(result)) => Ok(output_of(&result)),
            Ok(Err(ServiceError::McpError(e))) if e.code == ErrorCode::INVALID_PARAMS => {
                Err(ToolError::BadArguments {
                    tool,
                    reason: brief(&e.message),
                })
            }
            Ok(Err(ServiceError::McpError(e))) => Err(ToolError::Failed {
                tool,
                reason: format!(
                    "the server {} refused the call: {} (JSON-RPC error {})",
                    self.server,
                    brief(&e.message),
                    e.code.0
                ),
            }),
            Ok(Err(e)) => Err(ToolError::Failed {
                tool,
                reason: format!(
                    "the server {}: {}{}",
                    self.server,
                    brief(error_chain(&e)),
                    self.detail().await
                ),
            }),
        }
    }
}

/// An error with its causes ("error sending request" alone says nothing).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl ToolSource for McpTools {
    fn specs(&self) -> Vec<ToolSpec> {
        self.specs.clone()
    }

    fn call<'a>(
        &'a self,
        name: &'a str,
        arguments: serde_json::Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.call_inner(name, arguments))
    }
}
