//! A coordinator's score for one revealed solution, in WAD.
//!
//! Invalid (missing, malformed, for another slice or author, or different from the
//! recomputation) scores 0, which the contract punishes as `invalid-solution`. A valid solution
//! scores ½ plus ½ × its held-out quality (0..100) — so every valid solution clears a threshold of
//! ½ and better ones earn a larger share. Quality is computed with IEEE-exact arithmetic on the
//! same inputs by every coordinator, and converted with one multiplication and truncation, so
//! honest coordinators submit identical vectors.

use alloy::primitives::U256;
use autonet_contracts::consensus::WAD;

/// A verification verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Recomputation matched; held-out quality in [0, 100].
    Valid {
        /// Held-out quality, 0 (worst) to 100 (best).
        quality: f64,
    },
    /// Why the solution was rejected.
    Invalid(String),
}

/// The project threshold the simulation uses: a valid solution always clears it.
pub fn acceptance_threshold() -> U256 {
    WAD / U256::from(2)
}

/// The WAD score of a verdict.
pub fn score(verdict: &Verdict) -> U256 {
    match verdict {
        Verdict::Invalid(_) => U256::ZERO,
        Verdict::Valid { quality } => {
            let q = if quality.is_finite() {
                quality.clamp(0.0, 100.0)
            } else {
                0.0
            };
            // ½·WAD·q/100 = q · 5e15, truncated.
            let extra = (q * 5e15) as u128;
            WAD / U256::from(2) + U256::from(extra)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_is_zero_valid_clears_the_threshold() {
        assert_eq!(score(&Verdict::Invalid("x".into())), U256::ZERO);
        assert_eq!(
            score(&Verdict::Valid { quality: 0.0 }),
            acceptance_threshold()
        );
        assert_eq!(score(&Verdict::Valid { quality: 100.0 }), WAD);
        assert_eq!(score(&Verdict::Valid { quality: 1e9 }), WAD);
        assert_eq!(
            score(&Verdict::Valid { quality: f64::NAN }),
            acceptance_threshold()
        );
        assert!(score(&Verdict::Valid { quality: 10.0 }) > acceptance_threshold());
    }
}
