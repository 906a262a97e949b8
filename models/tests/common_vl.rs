//! VL-JEPA test setup shared by several test binaries.
#![allow(dead_code)]

use autonet_models::jepa::data::Digit;
use autonet_models::jepa::rng::Rng;
use autonet_models::jepa::{VlBatch, VlJepa};

/// The first `n` full batches of `held_out`, with patch masks from `rng`, to evaluate losses on.
pub fn eval_batches(vl: &VlJepa, held_out: &[Digit], n: usize, rng: &mut Rng) -> Vec<VlBatch> {
    let b = vl.config.batch;
    (0..n)
        .map(|i| {
            VlBatch::new(
                &held_out[i * b..(i + 1) * b].iter().collect::<Vec<_>>(),
                &vl.config,
                None,
                rng,
            )
        })
        .collect()
}
