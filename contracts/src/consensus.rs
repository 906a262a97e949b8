//! The protocol's consensus rule (Yuma-style), mirrored exactly from `YumaConsensus.sol`.
//!
//! Coordinators `i` with stake `S_i` score solutions `j` with `W_ij ∈ [0, WAD]`:
//! - `W̄_j`: κ-majority stake-weighted median (κ = ½): the largest submitted score `w` such that
//!   coordinators scoring at least `w` hold strictly more than κ of the voting stake;
//! - accepted ⇔ `W̄_j ≥ threshold ∧ W̄_j > 0`; solver reward `⌊pool·W̄_j / Σ_acc W̄⌋`;
//! - trust `T_i = ⌊WAD·Σ_j min(W_ij, W̄_j) / Σ_j W_ij⌋` (WAD when the row sums to 0); dissent ⇔
//!   `T_i < WAD/2`;
//! - coordinator fee `⌊coordPool·S_i·T_i / Σ_{k not dissenting} S_k·T_k⌋` for non-dissenters.
//!
//! Integer arithmetic in `U256` with floor division, so results equal the contract's bit for bit.
//! No I/O: nodes use it to preview outcomes, and a differential test compares it with the chain.

use alloy::primitives::U256;

/// 1.0 in WAD fixed point.
pub const WAD: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// κ = ½ in WAD.
pub const KAPPA: U256 = U256::from_limbs([500_000_000_000_000_000, 0, 0, 0]);
/// Trust below this (½ in WAD) is dissent.
pub const DISSENT_TRUST: U256 = KAPPA;

/// Why a vote set cannot be evaluated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConsensusError {
    /// No voters, or score rows of unequal length, or stakes and rows of different counts.
    #[error("vote set has a bad shape")]
    BadShape,
    /// A score above 1.0 (WAD).
    #[error("score {0} is above 1e18")]
    ScoreOutOfRange(U256),
}

/// Everything the rule decides for one task.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// `W̄_j` per solution.
    pub consensus: Vec<U256>,
    /// Whether solution `j` is accepted.
    pub accepted: Vec<bool>,
    /// Solver reward per solution.
    pub solver_rewards: Vec<U256>,
    /// `T_i` per coordinator.
    pub trust: Vec<U256>,
    /// Whether coordinator `i` dissented (slashed).
    pub dissent: Vec<bool>,
    /// Fee per coordinator (0 for dissenters).
    pub coordinator_fees: Vec<U256>,
}

/// Runs the rule. `scores[i][j]` is coordinator `i`'s score for solution `j`.
pub fn run(
    stakes: &[U256],
    scores: &[Vec<U256>],
    threshold: U256,
    solver_pool: U256,
    coordinator_pool: U256,
) -> Result<Outcome, ConsensusError> {
    let n = stakes.len();
    if n == 0 || scores.len() != n {
        return Err(ConsensusError::BadShape);
    }
    let m = scores[0].len();
    let mut total_stake = U256::ZERO;
    for (row, stake) in scores.iter().zip(stakes) {
        if row.len() != m {
            return Err(ConsensusError::BadShape);
        }
        total_stake += *stake;
        if let Some(bad) = row.iter().find(|w| **w > WAD) {
            return Err(ConsensusError::ScoreOutOfRange(*bad));
        }
    }
    let mut o = Outcome {
        consensus: vec![U256::ZERO; m],
        accepted: vec![false; m],
        solver_rewards: vec![U256::ZERO; m],
        trust: vec![U256::ZERO; n],
        dissent: vec![false; n],
        coordinator_fees: vec![U256::ZERO; n],
    };
    let mut accepted_sum = U256::ZERO;
    for j in 0..m {
        let mut median = U256::ZERO;
        for row in scores {
            let w = row[j];
            if w <= median {
                continue;
            }
            let support: U256 = scores
                .iter()
                .zip(stakes)
                .filter(|(r, _)| r[j] >= w)
                .map(|(_, s)| *s)
                .fold(U256::ZERO, |a, b| a + b);
            if support * WAD > KAPPA * total_stake {
                median = w;
            }
        }
        o.consensus[j] = median;
        if !median.is_zero() && median >= threshold {
            o.accepted[j] = true;
            accepted_sum += median;
        }
    }
    if !accepted_sum.is_zero() {
        for j in 0..m {
            if o.accepted[j] {
                o.solver_rewards[j] = solver_pool * o.consensus[j] / accepted_sum;
            }
        }
    }
    let mut weight_sum = U256::ZERO;
    for i in 0..n {
        let (mut raw, mut clipped) = (U256::ZERO, U256::ZERO);
        for (w, c) in scores[i].iter().zip(&o.consensus) {
            raw += *w;
            clipped += (*w).min(*c);
        }
        o.trust[i] = if raw.is_zero() {
            WAD
        } else {
            clipped * WAD / raw
        };
        o.dissent[i] = o.trust[i] < DISSENT_TRUST;
        if !o.dissent[i] {
            weight_sum += stakes[i] * o.trust[i];
        }
    }
    if !weight_sum.is_zero() {
        for (i, stake) in stakes.iter().enumerate() {
            if !o.dissent[i] {
                o.coordinator_fees[i] = coordinator_pool * (*stake * o.trust[i]) / weight_sum;
            }
        }
    }
    Ok(o)
}

/// The bond EMA update (α = 0.1): `⌊(bond·(WAD − α) + trust·α) / WAD⌋`.
pub fn update_bond(bond: U256, trust: U256) -> U256 {
    let alpha = WAD / U256::from(10);
    (bond * (WAD - alpha) + trust * alpha) / WAD
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wad(x: f64) -> U256 {
        U256::from((x * 1e6) as u64) * U256::from(1_000_000_000_000u64)
    }

    #[test]
    fn majority_median_clips_and_flags_the_dissenter() {
        let stakes = vec![wad(500.0), wad(500.0), wad(500.0)];
        let scores = vec![
            vec![wad(0.9), wad(0.8)],
            vec![wad(0.9), wad(0.7)],
            vec![wad(0.0), wad(0.0)],
        ];
        let o = run(&stakes, &scores, wad(0.5), wad(10.0), wad(3.0)).unwrap();
        assert_eq!(o.consensus, vec![wad(0.9), wad(0.7)]);
        assert_eq!(o.accepted, vec![true, true]);
        assert!(o.solver_rewards[0] + o.solver_rewards[1] <= wad(10.0));
        assert_eq!(o.trust[1], WAD);
        assert_eq!(
            o.trust[2], WAD,
            "an all-zero row is fully trusted by definition"
        );
        let o2 = run(
            &stakes,
            &[vec![wad(0.2)], vec![wad(0.2)], vec![wad(1.0)]],
            wad(0.1),
            wad(1.0),
            wad(1.0),
        )
        .unwrap();
        assert_eq!(o2.consensus, vec![wad(0.2)]);
        assert!(
            o2.dissent[2],
            "a coordinator scoring far above consensus dissents"
        );
        assert_eq!(o2.coordinator_fees[2], U256::ZERO);
    }

    #[test]
    fn bad_shapes_and_scores_are_errors() {
        assert_eq!(
            run(&[], &[], U256::ZERO, U256::ZERO, U256::ZERO),
            Err(ConsensusError::BadShape)
        );
        let too_big = WAD + U256::from(1);
        assert_eq!(
            run(&[WAD], &[vec![too_big]], U256::ZERO, U256::ZERO, U256::ZERO),
            Err(ConsensusError::ScoreOutOfRange(too_big))
        );
    }

    #[test]
    fn bond_ema_moves_a_tenth_toward_trust() {
        assert_eq!(update_bond(U256::ZERO, WAD), WAD / U256::from(10));
    }
}
