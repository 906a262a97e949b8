//! Tools over MCP (the Model Context Protocol), with `rmcp`, the official Rust SDK.
//!
//! - [`McpTools`]: an agent's connection to one MCP server, over stdio (a child process) or
//!   streamable HTTP, offering the server's tools as a [`ToolSource`](crate::ToolSource);
//! - [`server`]: any [`ToolBox`](crate::ToolBox) offered as an MCP server, over streamable HTTP
//!   or stdio (the node serves its built-in tools this way: `autonet agent mcp`).

pub mod client;
pub mod content;
mod process;
pub mod server;

pub use client::{Limits, McpError, McpTools};
pub use server::{HttpOptions, ToolServer, router, serve_stdio};
