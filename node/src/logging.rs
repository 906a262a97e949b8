//! `tracing` output for the node: text or JSON lines on stderr, and the protocol log
//! (`autonet_actors::roles::protocol_log`) that progress lines, the status endpoint and the
//! simulation report are built from.
//!
//! Each protocol event reaches the operator once: in text format as a progress line on stdout
//! (the stderr log leaves those events out), in JSON format as a JSON event on stderr (and no
//! progress lines are printed). Colour codes go only to a terminal unless asked for.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use std::path::Path;

use anyhow::{Context, bail};
use autonet_actors::roles::events::TARGET as PROTOCOL_TARGET;
use autonet_actors::roles::protocol_log::ProtocolLog;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::{LogFormat, LogRotation};
use crate::config::LogConfig;

/// Whether protocol events are shown as progress lines on stdout (text logs) rather than as
/// log events (JSON logs). True until [`init`] says otherwise (library use, tests).
static PROGRESS_LINES: AtomicBool = AtomicBool::new(true);

/// Installs the global subscriber: the output, filtered by the configured level, the log file
/// when one is set, and the protocol log, which sees every protocol event whatever that level.
/// The filter was validated when the config was resolved; an error only when the log file
/// cannot be opened.
pub fn init(log: &LogConfig) -> anyhow::Result<()> {
    let filter = output_filter(&log.level);
    let ansi = log.color.enabled(std::io::stderr().is_terminal());
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let output = match log.format {
        // Protocol events are the progress lines on stdout; their spans stay, as context of
        // the other events.
        LogFormat::Text => output
            .with_filter(filter)
            .with_filter(filter_fn(|m| {
                !(m.is_event() && m.target() == PROTOCOL_TARGET)
            }))
            .boxed(),
        LogFormat::Json => output.json().with_filter(filter).boxed(),
    };
    // The file keeps protocol events as log lines (the progress lines on stdout do not reach
    // it) and never takes colour codes, whatever `color` says for stderr.
    let file = match &log.file {
        Some(path) => Some(appender(log, path)?),
        None => None,
    }
    .map(|writer| {
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(false);
        match log.format {
            LogFormat::Text => layer
                .fmt_fields(PlainFields::default())
                .with_filter(output_filter(&log.level))
                .boxed(),
            LogFormat::Json => layer.json().with_filter(output_filter(&log.level)).boxed(),
        }
    });
    PROGRESS_LINES.store(log.format == LogFormat::Text, Ordering::Relaxed);
    // A second init (tests calling into the binary's code twice) is harmless: keep the first.
    let _ = tracing_subscriber::registry()
        .with(output)
        .with(file)
        .with(ProtocolLog::new().with_filter(ProtocolLog::filter()))
        .try_init();
    Ok(())
}

/// The text fields of the log file: the default format under a type of its own. A span's
/// fields are formatted once per field-formatter type and kept in the span, so with the same
/// type as the stderr layer the file would reuse stderr's coloured rendering.
#[derive(Default)]
struct PlainFields(DefaultFields);

impl<'w> FormatFields<'w> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> std::fmt::Result {
        self.0.format_fields(writer, fields)
    }
}

/// The log file's writer: `path` as is without rotation; with rotation, the date (and hour)
/// before the extension (`node.log` → `node.2026-01-31.log`), so rotated files keep it, and
/// the oldest beyond `max_files` deleted. Writes are synchronous: no line is lost when the
/// process exits on an error.
fn appender(log: &LogConfig, path: &Path) -> anyhow::Result<RollingFileAppender> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = Path::new(path.file_name().context("the log file has no file name")?);
    let rotation = match log.rotation {
        LogRotation::Daily => Rotation::DAILY,
        LogRotation::Hourly => Rotation::HOURLY,
        LogRotation::Never => Rotation::NEVER,
    };
    let mut builder = RollingFileAppender::builder().rotation(rotation);
    builder = match (name.file_stem(), name.extension()) {
        (Some(stem), Some(ext)) => builder
            .filename_prefix(stem.to_string_lossy())
            .filename_suffix(ext.to_string_lossy()),
        _ => builder.filename_prefix(name.to_string_lossy()),
    };
    if log.max_files > 0 {
        builder = builder.max_log_files(log.max_files as usize);
    }
    builder.build(dir).with_context(|| {
        format!(
            "cannot open the log file {} (config key log.file)",
            path.display()
        )
    })
}

/// Targets quieted unless the filter names them: expected noise, not news for an operator.
const QUIETED: [(&str, &str); 3] = [
    // A peer that closes a connection makes the other side's yamux report `Broken pipe`.
    ("yamux", "yamux::connection=error"),
    // A lone bootstrap node's periodic Kademlia bootstrap finds no peer to ask; the node's own
    // heartbeat warns when a node that should have peers has none.
    ("libp2p_kad", "libp2p_kad::behaviour=error"),
    // One `local_peer_id` line per swarm; the node logs its listen addresses itself.
    ("libp2p_swarm", "libp2p_swarm=warn"),
];

/// The output's filter: `level` (validated with the config), plus [`QUIETED`] where `level`
/// says nothing about those targets.
fn output_filter(level: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    for (target, directive) in QUIETED {
        if !level.contains(target)
            && let Ok(d) = directive.parse()
        {
            filter = filter.add_directive(d);
        }
    }
    filter
}

/// Whether to print protocol events as progress lines on stdout: not when the log already
/// carries them as JSON events.
pub fn progress_lines() -> bool {
    PROGRESS_LINES.load(Ordering::Relaxed)
}

/// The installed protocol log. Without a subscriber (library use), installs one that only
/// collects protocol events.
pub fn protocol_log() -> anyhow::Result<ProtocolLog> {
    if let Some(log) = ProtocolLog::installed() {
        return Ok(log);
    }
    let log = ProtocolLog::new();
    if tracing_subscriber::registry()
        .with(log.clone().with_filter(ProtocolLog::filter()))
        .try_init()
        .is_err()
    {
        bail!("a tracing subscriber without the protocol log is installed; use logging::init");
    }
    Ok(log)
}
