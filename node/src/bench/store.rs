use std::time::Instant;

use anyhow::Context;
use autonet_store::{Store, Table};
use clap::Args;

use super::{BenchReport, Measurement};

const BENCH: Table = Table::new("bench.kv");

/// Measures what "acknowledged means durable" costs: every record in its own fsynced commit
/// (how the node stores commitments and pending transactions) against all records in one commit.
#[derive(Debug, Args)]
pub struct StoreBench {
    /// Number of records written by each side.
    #[arg(long, default_value_t = 500, env = "AUTONET_BENCH_RECORDS", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub records: u64,
    /// Size of each value in bytes.
    #[arg(long, default_value_t = 256, env = "AUTONET_BENCH_VALUE_BYTES", value_parser = crate::cli::bounds::count(1..=16 << 20))]
    pub value_bytes: usize,
    /// Directory for the temporary databases [default: the system temp dir].
    #[arg(long, env = "AUTONET_BENCH_DIR")]
    pub dir: Option<std::path::PathBuf>,
}

impl StoreBench {
    pub fn run(&self) -> anyhow::Result<BenchReport> {
        anyhow::ensure!(self.records > 0, "--records must be at least 1");
        let dir = match &self.dir {
            Some(d) => tempfile::tempdir_in(d),
            None => tempfile::tempdir(),
        }
        .context("cannot create a temporary directory for the benchmark")?;
        let value = vec![0xA5u8; self.value_bytes];

        let batched = Store::open(dir.path().join("batched.redb"))?;
        let start = Instant::now();
        batched.batch(|b| {
            for i in 0..self.records {
                b.put(BENCH, &i.to_be_bytes(), &value)?;
            }
            Ok(())
        })?;
        let baseline = Measurement::new(
            "one commit for all records",
            start.elapsed(),
            self.records,
            "records",
        );

        let single = Store::open(dir.path().join("single.redb"))?;
        let start = Instant::now();
        for i in 0..self.records {
            single.put(BENCH, &i.to_be_bytes(), &value)?;
        }
        let measured = Measurement::new(
            "one durable commit per record",
            start.elapsed(),
            self.records,
            "records",
        );

        let setup = format!(
            "{} records of {} bytes in {}",
            self.records,
            self.value_bytes,
            dir.path().display()
        );
        Ok(BenchReport::new("store", setup, baseline, measured))
    }
}
