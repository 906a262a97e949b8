//! Erasure-coding parameters: `k` data shards and `m` parity shards.

use serde::{Deserialize, Serialize};

use super::error::{Result, ShardingError};

/// The most shards a model may have: `ModelShardRegistry` refuses `k + m > 256` (a limit that
/// came from format 1's GF(2^8) code; the GF(2^16) code of format 2 allows far more, but 256 keeps
/// manifests small and the on-chain check unchanged).
pub const MAX_TOTAL_SHARDS: usize = 256;

/// `k` data + `m` parity shards; any `k` of the `k + m` rebuild the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardParams {
    k: u16,
    m: u16,
}

impl Default for ShardParams {
    /// (k = 10, m = 4), the registry's default: survives the loss of any 4 of 14 shards at 1.4×
    /// storage.
    fn default() -> Self {
        Self { k: 10, m: 4 }
    }
}

impl ShardParams {
    /// Validated parameters: `k ≥ 1` and `k + m ≤ 256`. `m = 0` is allowed (plain splitting, no
    /// redundancy).
    pub fn new(k: usize, m: usize) -> Result<Self> {
        let bad = |reason: &str| ShardingError::InvalidParams {
            k,
            m,
            reason: reason.to_string(),
        };
        if k == 0 {
            return Err(bad("k must be at least 1"));
        }
        if k.saturating_add(m) > MAX_TOTAL_SHARDS {
            return Err(bad(
                "k + m must be at most 256 (the shard registry's limit)",
            ));
        }
        // Both fit in u16 because their sum is at most 256.
        Ok(Self {
            k: k as u16,
            m: m as u16,
        })
    }

    /// Data shards.
    pub fn k(&self) -> usize {
        usize::from(self.k)
    }

    /// Parity shards.
    pub fn m(&self) -> usize {
        usize::from(self.m)
    }

    /// All shards, `k + m`.
    pub fn total(&self) -> usize {
        self.k() + self.m()
    }

    /// Size of every shard for a model of `size` bytes: `ceil(size / k)` rounded up to even, at
    /// least 2. Even because `reed-solomon-simd` codes 16-bit symbols and refuses odd shard sizes;
    /// non-zero so even an empty model has real shards. The manifest's exact `size` says where
    /// the zero padding of the last data shards starts.
    pub fn shard_size(&self, size: u64) -> u64 {
        size.div_ceil(u64::from(self.k)).next_multiple_of(2).max(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_bad_parameter() {
        assert_eq!(ShardParams::default().k(), 10);
        assert_eq!(ShardParams::default().m(), 4);
        assert!(ShardParams::new(1, 0).is_ok());
        assert!(ShardParams::new(200, 56).is_ok());
        let zero = ShardParams::new(0, 4).unwrap_err();
        assert!(zero.to_string().contains("k must be at least 1"), "{zero}");
        let many = ShardParams::new(200, 57).unwrap_err();
        assert!(many.to_string().contains("at most 256"), "{many}");
        assert!(ShardParams::new(usize::MAX, usize::MAX).is_err());
    }

    #[test]
    fn shard_size_rounds_up_to_even_and_is_never_zero() {
        let p = ShardParams::new(10, 4).unwrap();
        assert_eq!(p.shard_size(0), 2);
        assert_eq!(p.shard_size(1), 2);
        assert_eq!(p.shard_size(10), 2);
        assert_eq!(p.shard_size(11), 2);
        assert_eq!(p.shard_size(21), 4);
        assert_eq!(p.shard_size(30), 4);
        assert_eq!(p.shard_size(31), 4);
        // 64 MiB / 10 = 6710886.4, so 6710887, rounded up to even.
        assert_eq!(p.shard_size(64 << 20), 6_710_888);
    }
}
