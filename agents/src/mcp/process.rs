//! An MCP server run as a child process (the stdio transport), watched so that errors can say
//! what the server did: its exit status, the end of its stderr, and the last line it printed on
//! stdout that was not JSON-RPC (rmcp skips such lines silently, so without this a server that
//! prints garbage would look like one that hangs).

use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, ReadBuf};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::{Notify, oneshot};

/// How much of the server's stderr is kept for error messages.
const STDERR_TAIL_BYTES: usize = 2048;
/// How much of a stray stdout line is kept.
const STRAY_LINE_BYTES: usize = 200;

/// What the server did, for error messages.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    stderr_tail: Mutex<String>,
    stray_stdout: Mutex<Option<(u64, String)>>,
    exit: Mutex<Option<ExitStatus>>,
    exited: Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while holding a diagnostics lock must not silence later errors.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Diagnostics {
    /// "; it exited with …; its stdout had … ; its stderr ends: …" (empty when nothing is known).
    pub(crate) fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(status) = *lock(&self.exit) {
            out.push_str(&format!("; the server exited ({status})"));
        }
        if let Some((count, line)) = &*lock(&self.stray_stdout) {
            out.push_str(&format!(
                "; it printed {count} line(s) on stdout that are not JSON-RPC, the last: {line:?}"
            ));
        }
        let stderr = lock(&self.stderr_tail);
        let stderr = stderr.trim();
        if !stderr.is_empty() {
            out.push_str(&format!("; its stderr ends: {stderr:?}"));
        }
        out
    }

    /// Waits (at most `within`) for the process to exit and its stderr to be read.
    pub(crate) async fn settle(&self, within: Duration) {
        let exited = self.exited.notified();
        if lock(&self.exit).is_some() {
            return;
        }
        let _ = tokio::time::timeout(within, exited).await;
    }

    fn push_stderr(&self, line: &str) {
        let mut tail = lock(&self.stderr_tail);
        tail.push_str(line);
        tail.push('\n');
        if tail.len() > STDERR_TAIL_BYTES {
            let mut cut = tail.len() - STDERR_TAIL_BYTES;
            while !tail.is_char_boundary(cut) {
                cut += 1;
            }
            tail.drain(..cut);
        }
    }
}

/// A spawned server: its pipes (for the transport) and its watchers. Dropping it kills the
/// process.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    pub(crate) stdout: Tap<ChildStdout>,
    pub(crate) stdin: ChildStdin,
    pub(crate) diagnostics: Arc<Diagnostics>,
    /// Dropped with the connection: the watcher then kills the process.
    pub(crate) kill: oneshot::Sender<()>,
}

/// Starts `command args…` with `env` added to this process's environment.
pub(crate) fn spawn(
    command: &str,
    args: &[String],
    env: &[(String, String)],
) -> std::io::Result<ServerProcess> {
    let mut child = Command::new(command)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The backstop if the runtime goes away before the watcher runs.
        .kill_on_drop(true)
        .spawn()?;
    let missing = |what| std::io::Error::other(format!("the child's {what} was not piped"));
    let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
    let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
    let stderr = child.stderr.take().ok_or_else(|| missing("stderr"))?;
    let diagnostics = Arc::new(Diagnostics::default());

    let d = Arc::clone(&diagnostics);
    let stderr_reader = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::debug!(target: "autonet_agents::mcp", "server stderr: {line}");
            d.push_stderr(&line);
        }
    });
    let (kill, killed) = oneshot::channel::<()>();
    let d = Arc::clone(&diagnostics);
    tokio::spawn(async move {
        tokio::select! {
            status = child.wait() => {
                // Its last words on stderr explain the exit: read them first (bounded, in case
                // a grandchild holds the pipe open).
                let _ = tokio::time::timeout(Duration::from_secs(1), stderr_reader).await;
                if let Ok(status) = status {
                    *lock(&d.exit) = Some(status);
                }
                d.exited.notify_waiters();
            }
            // Sent or dropped: the connection is gone, so is the server.
            _ = killed => {
                let _ = child.kill().await;
            }
        }
    });
    let stdout = Tap {
        inner: stdout,
        diagnostics: Arc::clone(&diagnostics),
        at_line_start: true,
        stray: None,
    };
    Ok(ServerProcess {
        stdout,
        stdin,
        diagnostics,
        kill,
    })
}

/// Passes stdout through unchanged, noting lines that cannot be JSON-RPC (those not starting
/// with `{` or `[`).
#[derive(Debug)]
pub(crate) struct Tap<R> {
    inner: R,
    diagnostics: Arc<Diagnostics>,
    at_line_start: bool,
    stray: Option<Vec<u8>>,
}

impl<R> Tap<R> {
    fn observe(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                if let Some(line) = self.stray.take() {
                    let line = String::from_utf8_lossy(&line).trim_end().to_string();
                    let mut stray = lock(&self.diagnostics.stray_stdout);
                    let count = stray.as_ref().map_or(0, |(c, _)| *c) + 1;
                    *stray = Some((count, line));
                }
                self.at_line_start = true;
                continue;
            }
            if self.at_line_start {
                self.at_line_start = false;
                if b != b'{' && b != b'[' && b != b'\r' {
                    self.stray = Some(Vec::new());
                }
            }
            if let Some(line) = &mut self.stray
                && line.len() < STRAY_LINE_BYTES
            {
                line.push(b);
            }
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Tap<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            self.observe(&buf.filled()[before..]);
        }
        poll
    }
}
