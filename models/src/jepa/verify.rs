//! A JEPA solution as the protocol handles it: a weight delta with a content id, its wire
//! encoding, and the coordinator's check — evaluate base + delta on a held-out batch and accept
//! the solver's claimed loss within a tolerance (floats differ across machines, so equality is
//! not required).

use super::error::JepaError;
use super::params::{Layout, ParamSet, WeightDelta};

const MAGIC: &[u8; 8] = b"ATNDLT01";

/// BLAKE3 over the names and shapes of a layout: which model a delta belongs to.
pub fn layout_fingerprint(layout: &Layout) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for spec in &layout.specs {
        h.update(&(spec.name.len() as u64).to_le_bytes());
        h.update(spec.name.as_bytes());
        h.update(&(spec.shape.len() as u64).to_le_bytes());
        for d in &spec.shape {
            h.update(&(*d as u64).to_le_bytes());
        }
    }
    *h.finalize().as_bytes()
}

/// Wire encoding: magic, layout fingerprint, count (u64 LE), then f64 LE values.
pub fn encode_delta(delta: &WeightDelta, layout: &Layout) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + 8 * delta.values.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&layout_fingerprint(layout));
    out.extend_from_slice(&(delta.values.len() as u64).to_le_bytes());
    for v in &delta.values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes a delta for `layout`; errors on a wrong model, length or non-finite value.
pub fn decode_delta(bytes: &[u8], layout: &Layout) -> Result<WeightDelta, JepaError> {
    let bad = |why: &str| JepaError::Data(format!("weight delta: {why}"));
    if bytes.len() < 48 || &bytes[..8] != MAGIC {
        return Err(bad("not a delta encoding"));
    }
    if bytes[8..40] != layout_fingerprint(layout) {
        return Err(bad("made for a different model layout"));
    }
    let mut count = [0u8; 8];
    count.copy_from_slice(&bytes[40..48]);
    let count = u64::from_le_bytes(count);
    if count != layout.len as u64 || bytes.len() - 48 != 8 * layout.len {
        return Err(bad("length does not match the layout"));
    }
    let values: Vec<f64> = bytes[48..]
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            f64::from_le_bytes(b)
        })
        .collect();
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad("non-finite value"));
    }
    Ok(WeightDelta { values })
}

/// Content id of a delta: BLAKE3 of its wire encoding.
pub fn delta_id(delta: &WeightDelta, layout: &Layout) -> [u8; 32] {
    *blake3::hash(&encode_delta(delta, layout)).as_bytes()
}

/// How far a re-evaluated loss may be from the claim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Absolute slack.
    pub abs: f64,
    /// Slack relative to the claimed loss.
    pub rel: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            abs: 1e-4,
            rel: 1e-3,
        }
    }
}

/// The coordinator's verdict on a solution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// The re-evaluated loss matches the claim.
    Accepted {
        /// Loss measured by the coordinator.
        measured: f64,
    },
    /// The claim is off by more than the tolerance.
    Rejected {
        /// Loss measured by the coordinator.
        measured: f64,
        /// Loss the solver claimed.
        claimed: f64,
    },
}

/// Compares a claimed held-out loss with the coordinator's measurement of it.
pub fn judge(claimed: f64, measured: f64, tol: Tolerance) -> Verdict {
    let ok = claimed.is_finite()
        && measured.is_finite()
        && (measured - claimed).abs() <= tol.abs + tol.rel * claimed.abs();
    if ok {
        Verdict::Accepted { measured }
    } else {
        Verdict::Rejected { measured, claimed }
    }
}

/// Applies a decoded delta to the base (the parameters the coordinator evaluates).
pub fn candidate(base: &ParamSet, delta: &WeightDelta) -> Result<ParamSet, JepaError> {
    base.apply(delta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jepa::manifest::{Init, ParamSpec};

    fn layout() -> Layout {
        Layout::new(vec![
            ParamSpec {
                name: "a".into(),
                shape: vec![2, 2],
                init: Init::Zeros,
                in_infer: true,
            },
            ParamSpec {
                name: "b".into(),
                shape: vec![3],
                init: Init::Zeros,
                in_infer: true,
            },
        ])
    }

    #[test]
    fn encoding_round_trips_and_rejects_bad_input() {
        let l = layout();
        let d = WeightDelta {
            values: vec![0.5, -1.0, 3.25, 0.0, 1e-9, -7.0, 2.0],
        };
        let bytes = encode_delta(&d, &l);
        assert_eq!(decode_delta(&bytes, &l).unwrap(), d);
        assert!(decode_delta(&bytes[..bytes.len() - 8], &l).is_err());
        assert!(decode_delta(b"garbage", &l).is_err());
        let mut nan = bytes.clone();
        nan[48..56].copy_from_slice(&f64::NAN.to_le_bytes());
        assert!(decode_delta(&nan, &l).is_err());
        let other = Layout::new(vec![ParamSpec {
            name: "c".into(),
            shape: vec![7],
            init: Init::Zeros,
            in_infer: true,
        }]);
        assert!(
            decode_delta(&bytes, &other)
                .unwrap_err()
                .to_string()
                .contains("different model")
        );
    }

    #[test]
    fn content_id_changes_with_any_value() {
        let l = layout();
        let d = WeightDelta {
            values: vec![0.0; 7],
        };
        let mut e = d.clone();
        e.values[6] = f64::from_bits(1);
        assert_ne!(delta_id(&d, &l), delta_id(&e, &l));
        assert_eq!(delta_id(&d, &l), delta_id(&d.clone(), &l));
    }

    #[test]
    fn judge_uses_the_tolerance() {
        let tol = Tolerance::default();
        assert!(matches!(judge(0.5, 0.5003, tol), Verdict::Accepted { .. }));
        assert!(matches!(judge(0.5, 0.52, tol), Verdict::Rejected { .. }));
        assert!(matches!(
            judge(f64::NAN, 0.5, tol),
            Verdict::Rejected { .. }
        ));
    }
}
