//! Coordinate arithmetic of the engine, written so every peer gets the same bits.
//!
//! Sums run left to right from `0.0` (the prototype's Python `sum` order), `exp` is the correctly
//! rounded [`super::exp::exp`] (platform libms, and the `libm` crate, differ in the last bit), and
//! `sqrt` is IEEE-exact.

/// Below this magnitude a coordinate counts as zero (dimensional overlap and stance).
pub const EPS_ZERO: f64 = 1e-6;

/// Squared Euclidean distance over the common prefix of `a` and `b`.
pub fn euclid_sq(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        let d = x - y;
        s += d * d;
    }
    s
}

/// Gaussian similarity `exp(-‖a−b‖² / (2σ² + 1e-12))`.
pub fn gaussian_sim(a: &[f64], b: &[f64], bandwidth: f64) -> f64 {
    super::exp::exp(-euclid_sq(a, b) / (2.0 * bandwidth * bandwidth + 1e-12))
}

/// Fraction of the anchor's non-zero dimensions on which `x` is also non-zero (0 if none).
pub fn dim_overlap(x: &[f64], anchor: &[f64]) -> f64 {
    let mut nonzero = 0u32;
    let mut overlap = 0u32;
    for (i, a) in anchor.iter().enumerate() {
        if a.abs() > EPS_ZERO {
            nonzero += 1;
            if x.get(i).is_some_and(|v| v.abs() > EPS_ZERO) {
                overlap += 1;
            }
        }
    }
    if nonzero == 0 {
        0.0
    } else {
        f64::from(overlap) / f64::from(nonzero)
    }
}

/// Dot product over the common prefix.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        s += x * y;
    }
    s
}

/// The vector divided by its L2 norm (unchanged when the norm is 0).
pub fn normalized(v: &[f64]) -> Vec<f64> {
    let n = dot(v, v).sqrt();
    if n > 0.0 {
        v.iter().map(|x| x / n).collect()
    } else {
        v.to_vec()
    }
}

/// Python's `max(a, b)`: `a` unless `b` is strictly greater (keeps `-0.0` where Python does).
pub fn py_max(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}
