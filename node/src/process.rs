//! This process as the OS sees it (Linux `/proc/self`): CPU time for benchmarks, and the
//! process and build metrics every `/metrics` endpoint serves (the names Prometheus' own
//! clients use, so stock dashboards work).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// Kernel clock ticks per second of `/proc/self/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SEC: u64 = 100;
/// Bytes per page of `/proc/self/statm` (4 KiB on x86_64 and most aarch64 kernels).
const PAGE_BYTES: u64 = 4096;

/// User + system CPU time of this process so far.
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the ')'.
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / TICKS_PER_SEC)
}

/// Resident memory in bytes.
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    pages * PAGE_BYTES
}

/// Open file descriptors (sockets included).
pub fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

/// Registers the process metrics and `autonet_build_info{version, commit}` in `registry`.
pub fn register_metrics(registry: &mut Registry) {
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    registry.register_collector(Box::new(ProcessCollector { started }));
    let commit = env!("AUTONET_GIT_COMMIT");
    registry.register(
        "autonet_build",
        "The version and git commit of this binary",
        Info::new(vec![
            ("version", env!("CARGO_PKG_VERSION")),
            ("commit", commit),
        ]),
    );
}

/// Reads `/proc/self` at each scrape.
#[derive(Debug)]
struct ProcessCollector {
    /// Unix time the metrics were registered (about when the node started).
    started: f64,
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let cpu = ConstCounter::new(cpu_time().as_secs_f64());
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                resident_bytes() as f64,
            ),
            (
                "process_open_fds",
                "Open file descriptors",
                open_fds() as f64,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds",
                self.started,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}
