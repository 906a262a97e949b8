//! Writing a command's output: `autonet … | head` closes stdout early, which is the reader's
//! choice, not an error (and `print!` would panic on it).

use std::io::Write;

/// Writes `bytes` to stdout; a closed stdout (broken pipe) is not an error.
pub fn stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(()),
    }
}

/// A command's result: `value` as one line of JSON with `--json` (for scripts), else `text`
/// (for people; it ends without a newline, one is added).
pub fn emit(json: bool, value: &serde_json::Value, text: &str) -> anyhow::Result<()> {
    let out = if json {
        format!("{value}\n")
    } else {
        format!("{text}\n")
    };
    Ok(stdout(out.as_bytes())?)
}
