//! A correctly rounded `exp`, from IEEE basic operations only (so every platform gets the same
//! bits).
//!
//! Why: the probe's adjacency step picks the claim of greatest Gaussian similarity
//! `exp(−d/(2σ²))`, ties keeping walk order, and with one-decimal coordinates two claims are often
//! at the same distance up to the last bit (`1.63` against `1.6300000000000001`). Whether the two
//! similarities tie then depends on the last bit of `exp`. The prototype's `math.exp` is glibc's,
//! which returns the correctly rounded result in all but astronomically rare cases; the `libm`
//! crate's `exp` (musl's older algorithm, error < 1 ulp) is off by one ulp on some arguments (for
//! −0.36222222222214173 it gives 0x3fe646ad8157012a, glibc and the true value 0x…2b), which broke
//! such a tie and made the engines post differently (found by `scripts/fuzz-prototype`, seed 3
//! stream 4; regression corpus `models/tests/data/prototype-corpus`).
//!
//! Method: double-double arithmetic (about 106 bits). `x = k·ln2 + r`, `exp(r) = (exp(r/32))^32`
//! with a degree-13 Taylor polynomial for `exp(r/32)`, then scaling by `2^k`. The double-double
//! result is within about 2^-98 (relative) of `exp(x)`, and rounding it to a double gives the
//! correctly rounded value unless `exp(x)` lies that close to a rounding boundary, which no
//! argument the engine produces is known to do (60,000 random arguments checked against 200-bit
//! mpmath: none wrong; `libm::exp` was wrong on 9% of them). Arguments outside [−700, 700] (never
//! produced by the engine, whose arguments lie in [−6, 0]) fall back to `libm::exp`.
//!
//! Choice where the prototype is platform-dependent: glibc's `exp` is itself a ulp off on about
//! 0.07% of arguments (its bound is slightly above half an ulp, and which arguments depends on
//! whether the FMA variant runs), and Python on other platforms uses other libms. Where such an
//! argument decides a similarity tie the prototype's answer is an accident of its platform; the
//! engine follows the correctly rounded value, the one rule every peer can reproduce.

#[derive(Clone, Copy)]
struct Dd {
    hi: f64,
    lo: f64,
}

fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

fn quick_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    Dd {
        hi: s,
        lo: b - (s - a),
    }
}

/// Dekker's split: `a = hi + lo` with both halves of 26 significant bits (no FMA needed).
fn split(a: f64) -> (f64, f64) {
    let c = 134_217_729.0 * a;
    let hi = c - (c - a);
    (hi, a - hi)
}

fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

fn add(x: Dd, y: Dd) -> Dd {
    let (s, e) = two_sum(x.hi, y.hi);
    let (t, f) = two_sum(x.lo, y.lo);
    let r = quick_two_sum(s, e + t);
    quick_two_sum(r.hi, r.lo + f)
}

fn mul(x: Dd, y: Dd) -> Dd {
    let (p, e) = two_prod(x.hi, y.hi);
    quick_two_sum(p, e + (x.hi * y.lo + x.lo * y.hi))
}

fn div_f64(a: Dd, b: f64) -> Dd {
    let q1 = a.hi / b;
    let (p, e) = two_prod(q1, b);
    let (s, f) = two_sum(a.hi, -p);
    let q2 = (s + (f - e + a.lo)) / b;
    quick_two_sum(q1, q2)
}

/// ln 2 as a double-double.
const LN2: Dd = Dd {
    hi: f64::from_bits(0x3fe6_2e42_fefa_39ef),
    lo: f64::from_bits(0x3c7a_bc9e_3b39_803f),
};
/// `r` is divided by 2^SQUARINGS before the series and the result squared back that many times.
const SQUARINGS: u32 = 5;
/// Taylor terms of `exp(s)` for |s| ≤ ln2/2/32 (the last term is below 2^-110).
const TERMS: u32 = 13;

/// `2^k` for `-1022 <= k <= 1023`, built from its bits.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((1023 + k) as u64) << 52)
}

/// `e^x`, correctly rounded (see the module docs).
pub fn exp(x: f64) -> f64 {
    if !(-700.0..=700.0).contains(&x) {
        return libm::exp(x);
    }
    let k = (x / LN2.hi).round();
    // r = x − k·ln2, in double-double (k·LN2.hi is exact as a two_prod pair).
    let (p, pe) = two_prod(k, LN2.hi);
    let (q, qe) = two_prod(k, LN2.lo);
    let r = add(
        add(Dd { hi: x, lo: 0.0 }, Dd { hi: -p, lo: -pe }),
        Dd { hi: -q, lo: -qe },
    );
    let scale = pow2(-(SQUARINGS as i32));
    let s = Dd {
        hi: r.hi * scale,
        lo: r.lo * scale,
    };
    // Horner: 1 + s(1 + s/2(1 + s/3(… (1 + s/n)))).
    let one = Dd { hi: 1.0, lo: 0.0 };
    let mut t = one;
    for i in (1..=TERMS).rev() {
        t = add(one, div_f64(mul(s, t), f64::from(i)));
    }
    for _ in 0..SQUARINGS {
        t = mul(t, t);
    }
    // |k| ≤ 1010 here; scale in two steps so 2^k itself stays a normal double.
    let k = k as i32;
    let (k1, k2) = (k / 2, k - k / 2);
    let (f1, f2) = (pow2(k1), pow2(k2));
    (t.hi * f1 * f2) + (t.lo * f1 * f2)
}

#[cfg(test)]
mod tests {
    use super::exp;

    /// Correctly rounded values (computed with 200-bit mpmath), including the arguments on which
    /// `libm::exp` is one ulp off.
    const CASES: &[(u64, u64)] = &[
        // −0.36222222222214173 (the fuzzer's tie): libm gives …12a.
        (0xbfd7_2ea6_1d95_06da, 0x3fe6_46ad_8157_012b),
        // −0.3622222222221417
        (0xbfd7_2ea6_1d95_06d9, 0x3fe6_46ad_8157_012b),
        // Arguments where glibc's exp (the prototype's) is the one a ulp off (…277, …79d, …244):
        // the engine keeps the correctly rounded value (see the module docs).
        (0xbfea_61d9_50c8_3945, 0x3fdc_1008_3a22_9276), // −0.8244444444442612 = −3.71/4.5
        (0xc006_f37c_048d_1003, 0x3fad_0fe7_5725_379c), // −2.8688888888882516 = −12.91/4.5
        (0xc016_c106_6724_8421, 0x3f6b_ba27_03d5_8245), // −5.688500987628715
    ];

    #[test]
    fn exp_is_correctly_rounded_on_known_values() {
        for &(x, want) in CASES {
            let x = f64::from_bits(x);
            assert_eq!(exp(x).to_bits(), want, "exp({x:?})");
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(1.0), std::f64::consts::E);
        assert!(exp(-1000.0) == 0.0 && exp(1000.0).is_infinite() && exp(f64::NAN).is_nan());
    }
}
