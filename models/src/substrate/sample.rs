//! Deterministic synthetic turn streams for benchmarks, the replay CLI and cross-checks.
//!
//! Turns carry explicit impact fields drawn from a small grid (so observations collide, co-parent
//! and contradict as real transcripts do), from a SplitMix64 generator seeded by the caller.

use serde_json::{Value, json};

use super::turn::IMPACT_FIELDS;

/// SplitMix64: tiny, portable, and the same on every machine.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Advances the state and returns the next output.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Impact grid: mostly positive, some negative, many zeros (sparse turns).
const GRID: [f64; 11] = [-0.8, -0.5, -0.3, 0.0, 0.0, 0.0, 0.0, 0.2, 0.4, 0.6, 0.9];

/// `n` synthetic turns on the four alignment axes, labelled `syn-{seed}-{i}`.
pub fn synthetic_turns(seed: u64, n: usize) -> Vec<Value> {
    let mut rng = SplitMix64(seed);
    (0..n)
        .map(|i| {
            let mut m = serde_json::Map::new();
            m.insert("label".into(), json!(format!("syn-{seed}-{i}")));
            let mut any = false;
            for f in &IMPACT_FIELDS[..4] {
                let v = GRID[rng.below(GRID.len() as u64) as usize];
                if v != 0.0 {
                    any = true;
                }
                m.insert((*f).into(), json!(v));
            }
            if !any {
                let axis = rng.below(4) as usize;
                m.insert(IMPACT_FIELDS[axis].into(), json!(0.5));
            }
            Value::Object(m)
        })
        .collect()
}
