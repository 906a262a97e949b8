//! Where the reference servers are, and small helpers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use autonet_agents::mcp::{Limits, McpTools};

/// `scripts/mcp/node_modules/@modelcontextprotocol`, or `None` (with a note saying how to
/// install it) when `npm ci` has not run; `scripts/test` always runs it.
pub fn servers() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts/mcp/node_modules/@modelcontextprotocol");
    if dir.join("server-everything").is_dir() && dir.join("server-filesystem").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: the MCP reference servers are not installed ({} is missing); \
             run `npm ci --prefix scripts/mcp` (scripts/test does)",
            dir.display()
        );
        None
    }
}

/// A script under `agents/tests/fixtures`.
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// Limits short enough that a hostile server's test ends soon; the test asserts the error,
/// not the time taken.
pub fn short_limits() -> Limits {
    Limits {
        init: Duration::from_secs(3),
        list: Duration::from_secs(3),
        ..Limits::default()
    }
}

/// The everything server over stdio.
pub async fn everything_stdio(dir: &Path) -> McpTools {
    let script = dir
        .join("server-everything/dist/index.js")
        .display()
        .to_string();
    McpTools::stdio("node", &[script, "stdio".into()], &[])
        .await
        .expect("server-everything over stdio")
}

/// A port nothing listens on right now (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
