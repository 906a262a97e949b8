//! `tracing` output for the node: text or JSON lines on stderr, and the protocol log
//! (`autonet_actors::roles::protocol_log`) that progress lines, the status endpoint and the
//! simulation report are built from.

use anyhow::bail;
use autonet_actors::roles::protocol_log::ProtocolLog;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::LogFormat;
use crate::config::LogConfig;

/// Installs the global subscriber: the output, filtered by the configured level, and the
/// protocol log, which sees every protocol event whatever that level. The filter was validated
/// when the config was resolved.
pub fn init(log: &LogConfig) {
    let filter = EnvFilter::try_new(&log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let output = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let output = match log.format {
        LogFormat::Text => output.with_filter(filter).boxed(),
        LogFormat::Json => output.json().with_filter(filter).boxed(),
    };
    // A second init (tests calling into the binary's code twice) is harmless: keep the first.
    let _ = tracing_subscriber::registry()
        .with(output)
        .with(ProtocolLog::new().with_filter(ProtocolLog::filter()))
        .try_init();
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
