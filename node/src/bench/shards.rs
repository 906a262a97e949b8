//! `autonet bench shards`: erasure coding of a published model.
//!
//! A synthetic model of `--size` bytes is sharded at (`--k`, `--m`). The baseline is one BLAKE3
//! pass over the same bytes (the least any content-addressed publisher must do); the subject is
//! the full `models::sharding::encode` (split, Reed-Solomon parity, BLAKE3 of every shard, Merkle
//! root, model hash, manifest). Notes add the raw Reed-Solomon coding alone and its ratio to the
//! full encode (the share of time hashing and Merkle add), and a rebuild from the last `k` shards,
//! i.e. with the first `m` data shards lost, so parity is really used. Each quantity is the best of
//! `--rounds` runs. Part (b), in [`super::shard_fetch`], fetches a model over the overlay from
//! `--holders` upload-rate-limited holders and from one, and reports the speed-up. With the node
//! feature `compare-codecs`, `--compare-codecs` adds format 1's code against the current one
//! ([`super::codec_compare`]).

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use autonet_models::sharding::{self, ShardParams, merkle};
use clap::Args;

use super::{BenchReport, Measurement};

#[derive(Debug, Args)]
pub struct ShardsBench {
    /// Model size, e.g. `64MiB`, `256MiB`, `1GiB` or plain bytes.
    #[arg(long, default_value = "64MiB", value_parser = parse_size, env = "AUTONET_BENCH_SHARDS_SIZE")]
    pub size: u64,
    /// Data shards.
    #[arg(long, default_value_t = 10, env = "AUTONET_BENCH_SHARDS_K", value_parser = crate::cli::bounds::count(1..=255))]
    pub k: usize,
    /// Parity shards.
    #[arg(long, default_value_t = 4, env = "AUTONET_BENCH_SHARDS_M", value_parser = crate::cli::bounds::count(0..=255))]
    pub m: usize,
    /// Runs of each quantity; the best is reported.
    #[arg(long, default_value_t = 3, env = "AUTONET_BENCH_SHARDS_ROUNDS", value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub rounds: u32,
    /// Model size of the network fetch comparison (part b).
    #[arg(long, default_value = "64MiB", value_parser = parse_size, env = "AUTONET_BENCH_SHARDS_FETCH_SIZE")]
    pub fetch_size: u64,
    /// Rate-limited holders the model is spread over in part b.
    #[arg(long, default_value_t = 10, env = "AUTONET_BENCH_SHARDS_HOLDERS", value_parser = crate::cli::bounds::count(1..=1_000))]
    pub holders: usize,
    /// Upload rate of each holder in part b, bytes per second (`2MiB` = 2 MiB/s).
    #[arg(long, default_value = "2MiB", value_parser = parse_size, env = "AUTONET_BENCH_SHARDS_UPLOAD_RATE")]
    pub upload_rate: u64,
    /// Skip part b (the network fetch comparison).
    #[arg(long, env = "AUTONET_BENCH_SHARDS_NO_FETCH")]
    pub no_fetch: bool,
    /// Also time format 1's code (reed-solomon-erasure) against reed-solomon-simd on the same
    /// data shards, encode and restore, and print the speed-up.
    #[cfg(feature = "compare-codecs")]
    #[arg(long, env = "AUTONET_BENCH_SHARDS_COMPARE_CODECS")]
    pub compare_codecs: bool,
}

/// Parses `N`, `NKiB`, `NMiB` or `NGiB`.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, shift) = [("GiB", 30), ("MiB", 20), ("KiB", 10)]
        .iter()
        .find_map(|(suffix, shift)| t.strip_suffix(suffix).map(|d| (d, *shift)))
        .unwrap_or((t, 0));
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("not a size: {s:?} (use e.g. 64MiB)"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size {s:?} overflows"))
}

/// Best wall time of `rounds` runs of `f`.
pub(super) fn best_of<T>(
    rounds: u32,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        std::hint::black_box(f()?);
        best = best.min(start.elapsed());
    }
    Ok(best)
}

impl ShardsBench {
    pub fn run(&self) -> anyhow::Result<BenchReport> {
        ensure!(self.rounds > 0, "--rounds must be at least 1");
        let params = ShardParams::new(self.k, self.m)?;
        let len = usize::try_from(self.size).context("--size does not fit in memory")?;
        // Incompressible-looking bytes; the codec's speed does not depend on them.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let model: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();

        let hash = best_of(self.rounds, || Ok(merkle::shard_leaf(&model)))?;
        let encode = best_of(self.rounds, || {
            Ok(sharding::encode("bench", 0, &model, params)?)
        })?;
        let raw = best_of(self.rounds, || {
            Ok(sharding::split_and_code(&model, params)?)
        })?;
        let encoded = sharding::encode("bench", 0, &model, params)?;
        let survivors: Vec<(usize, Vec<u8>)> = encoded
            .shards
            .iter()
            .enumerate()
            .skip(params.m())
            .map(|(i, s)| (i, s.clone()))
            .collect();
        let rebuild = best_of(self.rounds, || {
            let rebuilt = sharding::rebuild(&encoded.manifest, survivors.clone())?;
            ensure!(rebuilt == model, "rebuilt model differs from the original");
            Ok(())
        })?;

        let baseline = Measurement::new("BLAKE3 of the model", hash, self.size, "bytes");
        let measured = Measurement::new(
            "encode (RS + BLAKE3 leaves + Merkle)",
            encode,
            self.size,
            "bytes",
        );
        let raw_m = Measurement::new("raw Reed-Solomon", raw, self.size, "bytes");
        let rebuild_m = Measurement::new("rebuild", rebuild, self.size, "bytes");
        let mib = |m: &Measurement| m.throughput() / f64::from(1u32 << 20);
        let setup = format!(
            "{} bytes at (k={}, m={}), shard size {} bytes, best of {} rounds",
            self.size, self.k, self.m, encoded.manifest.shard_size, self.rounds
        );
        let mut report = BenchReport::new("shards", setup, baseline, measured);
        report.notes = vec![
            format!(
                "throughput MiB/s: BLAKE3 {:.0}, encode {:.0}, raw RS {:.0}, rebuild {:.0}",
                mib(&report.baseline),
                mib(&report.measured),
                mib(&raw_m),
                mib(&rebuild_m)
            ),
            format!(
                "encode throughput / raw RS throughput: {:.2} (issue target >= 0.3)",
                raw_m.seconds / report.measured.seconds
            ),
            format!(
                "rebuild from the last {} shards ({} data shards lost, checked, hash verified): {:.3} ms, {:.2}x the BLAKE3 time",
                params.k(),
                params.m().min(params.k()),
                rebuild_m.seconds * 1e3,
                rebuild_m.seconds / report.baseline.seconds
            ),
        ];
        if !self.no_fetch {
            report.notes.push(self.fetch_note(params)?);
        }
        #[cfg(feature = "compare-codecs")]
        if self.compare_codecs {
            let data = &encoded.shards[..params.k()];
            let times = super::codec_compare::compare(data, params, self.rounds)?;
            report
                .notes
                .push(super::codec_compare::note(&times, self.size));
        }
        Ok(report)
    }

    /// Part b: a fetch over the overlay from `--holders` rate-limited holders against one.
    fn fetch_note(&self, params: ShardParams) -> anyhow::Result<String> {
        let size = usize::try_from(self.fetch_size).context("--fetch-size too large")?;
        let compared = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(super::shard_fetch::compare(
                size,
                params,
                self.holders,
                self.upload_rate,
            ))?;
        let (one, many) = (&compared.one_holder, &compared.many_holders);
        Ok(format!(
            "fetch of {} bytes over the overlay, each holder's upload limited to {:.1} MiB/s \
             (rate-limited serving path; no tc netem here): 1 holder {:.2} s, {} holders {:.2} s \
             ({} distinct providers used); speed-up {:.2}x (issue target >= 4)",
            self.fetch_size,
            self.upload_rate as f64 / f64::from(1u32 << 20),
            one.seconds,
            self.holders,
            many.seconds,
            compared.holders_used,
            one.seconds / many.seconds
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("3KiB"), Ok(3072));
        assert_eq!(parse_size("17"), Ok(17));
        assert!(parse_size("big").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }

    #[test]
    fn a_small_run_reports_and_rebuilds() {
        let bench = ShardsBench {
            size: 100_003,
            k: 10,
            m: 4,
            rounds: 1,
            fetch_size: 0,
            holders: 0,
            upload_rate: 0,
            no_fetch: true,
            #[cfg(feature = "compare-codecs")]
            compare_codecs: true,
        };
        let report = bench.run().unwrap();
        assert_eq!(report.name, "shards");
        assert_eq!(report.measured.units, 100_003);
        let codec_notes = usize::from(cfg!(feature = "compare-codecs"));
        assert_eq!(report.notes.len(), 3 + codec_notes);
    }
}
