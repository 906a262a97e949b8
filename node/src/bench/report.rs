use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// One timed quantity of a benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// What was timed.
    pub label: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// How many units of work (records, messages, turns) it did.
    pub units: u64,
    /// What a unit is.
    pub unit: &'static str,
}

impl Measurement {
    /// A measurement of `units` units of `unit` done in `elapsed`.
    pub fn new(
        label: impl Into<String>,
        elapsed: Duration,
        units: u64,
        unit: &'static str,
    ) -> Self {
        Self {
            label: label.into(),
            seconds: elapsed.as_secs_f64(),
            units,
            unit,
        }
    }

    /// Units per second.
    pub fn throughput(&self) -> f64 {
        if self.seconds > 0.0 {
            self.units as f64 / self.seconds
        } else {
            f64::INFINITY
        }
    }
}

/// What a benchmark prints: a baseline and the subject, measured in the same run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The benchmark's subcommand name (`store`, `gossip`, …).
    pub name: &'static str,
    /// Parameters of the run, in words.
    pub setup: String,
    /// The reference the subject is compared with, timed in the same run.
    pub baseline: Measurement,
    /// The subject of the benchmark.
    pub measured: Measurement,
    /// `measured.seconds / baseline.seconds`: above 1 the subject is slower than the baseline.
    pub time_ratio: f64,
    /// Further lines (percentiles, memory, …).
    pub notes: Vec<String>,
}

impl BenchReport {
    /// A report with its time ratio computed (NaN when the baseline took no time) and no notes.
    pub fn new(
        name: &'static str,
        setup: String,
        baseline: Measurement,
        measured: Measurement,
    ) -> Self {
        let time_ratio = if baseline.seconds > 0.0 {
            measured.seconds / baseline.seconds
        } else {
            f64::NAN
        };
        Self {
            name,
            setup,
            baseline,
            measured,
            time_ratio,
            notes: Vec::new(),
        }
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "bench {}: {}", self.name, self.setup)?;
        for (role, m) in [("baseline", &self.baseline), ("measured", &self.measured)] {
            // Slow work (a few answers a second) keeps its decimals.
            let rate = m.throughput();
            let digits = if rate < 100.0 { 2 } else { 0 };
            writeln!(
                f,
                "  {role:<9} {:<40} {:>10.3} ms {:>12.digits$} {}/s",
                m.label,
                m.seconds * 1e3,
                rate,
                m.unit
            )?;
        }
        writeln!(
            f,
            "  ratio     measured time / baseline time: {:.2}x",
            self.time_ratio
        )?;
        for note in &self.notes {
            writeln!(f, "  {note}")?;
        }
        Ok(())
    }
}
