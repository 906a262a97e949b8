//! `autonet bench shards --compare-codecs` (node feature `compare-codecs`): format 1's erasure
//! code, `reed-solomon-erasure` (GF(2^8), unmaintained since 2022), against format 2's
//! `reed-solomon-simd` (GF(2^16), FFT-based), in the same run on the same shards. Only the raw
//! coding is timed (no hashing, no copies into a model), so the ratio is the codecs' alone:
//! encoding `m` parity shards from `k` data shards, and restoring the first `min(m, k)` data
//! shards from the rest. Both restorations are checked against the original shards.

use std::time::Duration;

use anyhow::ensure;
use autonet_models::sharding::ShardParams;
use reed_solomon_erasure::galois_8::ReedSolomon;

use super::shards::best_of;

/// Best times of each codec (encode, restore), and what they were measured on.
#[derive(Debug, Clone, Copy)]
pub struct CodecTimes {
    pub erasure_encode: Duration,
    pub simd_encode: Duration,
    pub erasure_restore: Duration,
    pub simd_restore: Duration,
    /// Data shards restored in each restore.
    pub lost: usize,
}

/// Times both codecs on `data` (`k` shards of one even size); `m` must be at least 1.
pub fn compare(data: &[Vec<u8>], params: ShardParams, rounds: u32) -> anyhow::Result<CodecTimes> {
    let (k, m) = (params.k(), params.m());
    ensure!(
        m > 0,
        "--compare-codecs needs parity shards (--m at least 1)"
    );
    ensure!(data.len() == k, "expected {k} data shards");
    let size = data.first().map_or(0, Vec::len);
    let erasure = ReedSolomon::new(k, m).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let erasure_shards = |data: &[Vec<u8>]| -> anyhow::Result<Vec<Vec<u8>>> {
        let mut shards = data.to_vec();
        shards.resize(k + m, vec![0u8; size]);
        erasure
            .encode(&mut shards)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(shards)
    };
    let erasure_encode = best_of(rounds, || erasure_shards(data))?;
    let simd_encode = best_of(rounds, || Ok(reed_solomon_simd::encode(k, m, data)?))?;

    let lost = m.min(k);
    let old = erasure_shards(data)?;
    let erasure_restore = best_of(rounds, || {
        let mut slots: Vec<Option<Vec<u8>>> = old.iter().cloned().map(Some).collect();
        slots[..lost].fill(None);
        erasure
            .reconstruct_data(&mut slots)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        ensure!(
            slots[..lost]
                .iter()
                .zip(data)
                .all(|(s, d)| s.as_ref() == Some(d)),
            "reed-solomon-erasure restored other bytes"
        );
        Ok(())
    })?;
    let parity = reed_solomon_simd::encode(k, m, data)?;
    let simd_restore = best_of(rounds, || {
        let originals = data.iter().enumerate().skip(lost);
        let restored = reed_solomon_simd::decode(k, m, originals, parity.iter().enumerate())?;
        ensure!(
            (0..lost).all(|i| restored.get(&i) == data.get(i)),
            "reed-solomon-simd restored other bytes"
        );
        Ok(())
    })?;
    Ok(CodecTimes {
        erasure_encode,
        simd_encode,
        erasure_restore,
        simd_restore,
        lost,
    })
}

/// The report line: throughputs over the model's bytes and the speed-up of the new code.
pub fn note(times: &CodecTimes, model_bytes: u64) -> String {
    let mib = |d: Duration| model_bytes as f64 / d.as_secs_f64() / f64::from(1u32 << 20);
    let speedup = |old: Duration, new: Duration| old.as_secs_f64() / new.as_secs_f64();
    format!(
        "codecs on the same shards (MiB/s of model): encode reed-solomon-erasure {:.0}, \
         reed-solomon-simd {:.0}, simd {:.2}x faster; restore of {} lost data shards \
         reed-solomon-erasure {:.0}, reed-solomon-simd {:.0}, simd {:.2}x faster",
        mib(times.erasure_encode),
        mib(times.simd_encode),
        speedup(times.erasure_encode, times.simd_encode),
        times.lost,
        mib(times.erasure_restore),
        mib(times.simd_restore),
        speedup(times.erasure_restore, times.simd_restore),
    )
}
