//! Integration tests of the agent crate's tools: MCP interop with the npm reference servers
//! (stdio and streamable HTTP), hostile servers, the built-in tools and the MCP server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers fail loudly.

mod builtin;
mod everything;
mod filesystem;
mod hostile;
mod server;
mod support;
