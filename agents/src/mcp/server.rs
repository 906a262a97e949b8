//! Any [`ToolBox`] as an MCP server: over streamable HTTP ([`router`], an axum router to serve
//! or mount, bearer-token protected) and over stdio ([`serve_stdio`]).
//!
//! Errors follow MCP: an unknown tool or bad arguments is a JSON-RPC error (`-32602`, invalid
//! params), which clients raise as a protocol error; a tool that ran and failed, or timed out,
//! is a result with `isError`, which the calling model reads.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::ErrorData;
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::tools::{ToolBox, ToolError};

/// The largest request body the HTTP server reads.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// A [`ToolBox`] speaking MCP's server side.
#[derive(Debug, Clone)]
pub struct ToolServer {
    tools: Arc<ToolBox>,
}

impl ToolServer {
    /// Serves `tools`.
    pub fn new(tools: Arc<ToolBox>) -> Self {
        ToolServer { tools }
    }

    fn listed(&self) -> Vec<Tool> {
        self.tools
            .specs()
            .into_iter()
            .map(|spec| {
                let schema = match spec.input_schema {
                    serde_json::Value::Object(map) => map,
                    _ => serde_json::Map::new(),
                };
                Tool::new(spec.name, spec.description, schema)
            })
            .collect()
    }
}

impl rmcp::ServerHandler for ToolServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("autonet", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "The tools of an autonet node (a peer of a decentralized AI network).",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.listed()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = serde_json::Value::Object(request.arguments.unwrap_or_default());
        match self.tools.call(&request.name, arguments).await {
            Ok(out) => {
                let content = vec![ContentBlock::text(out.text)];
                Ok(if out.is_error {
                    CallToolResult::error(content)
                } else {
                    CallToolResult::success(content)
                }
                .into())
            }
            Err(e @ (ToolError::Unknown(_) | ToolError::BadArguments { .. })) => {
                Err(ErrorData::invalid_params(e.to_string(), None))
            }
            Err(e @ (ToolError::Failed { .. } | ToolError::Timeout { .. })) => {
                Ok(CallToolResult::error(vec![ContentBlock::text(e.to_string())]).into())
            }
        }
    }
}

/// Serves `tools` over this process's stdin and stdout until the client closes stdin.
pub async fn serve_stdio(tools: Arc<ToolBox>) -> std::io::Result<()> {
    let running = ToolServer::new(tools)
        .serve((tokio::io::stdin(), tokio::io::stdout()))
        .await
        .map_err(|e| std::io::Error::other(format!("MCP initialize failed: {e}")))?;
    running
        .waiting()
        .await
        .map_err(|e| std::io::Error::other(format!("the MCP server task failed: {e}")))?;
    Ok(())
}

/// How the HTTP server is reached.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// When set, every request needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// The `Host` headers accepted (DNS-rebinding protection); empty: loopback names only.
    pub allowed_hosts: Vec<String>,
}

/// The MCP endpoint at `/mcp`, ready to serve or to merge into a bigger router.
pub fn router(tools: Arc<ToolBox>, options: HttpOptions) -> Router {
    let mut config = StreamableHttpServerConfig::default();
    config.max_request_body_bytes = MAX_REQUEST_BYTES;
    if !options.allowed_hosts.is_empty() {
        config = config.with_allowed_hosts(options.allowed_hosts);
    }
    let service = StreamableHttpService::new(
        move || Ok(ToolServer::new(Arc::clone(&tools))),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn_with_state(
            Arc::new(options.token),
            bearer,
        ))
}

async fn bearer(
    State(token): State<Arc<Option<String>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = token.as_deref() else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Compare every byte, so the time taken does not tell how much of a guess was right.
    let ok = given.is_some_and(|g| {
        g.len() == token.len()
            && g.bytes()
                .zip(token.bytes())
                .fold(0, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if ok {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Bearer")],
            "missing or wrong bearer token",
        )
            .into_response()
    }
}
