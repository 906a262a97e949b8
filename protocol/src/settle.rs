//! Expected reward and slash outcomes of a task, mirroring `ResultsRewards.finalize/expire`.
//!
//! Finalize (≥ 2 votes after the vote deadline): the consensus rule
//! ([`autonet_contracts::consensus::run`]) over the votes in vote order; accepted solvers are
//! credited their reward; a revealed solver whose consensus score is 0 is slashed
//! (`invalid-solution`); dissenting coordinators are slashed (`dissent`), the others credited
//! their fee; committed solvers that never revealed are slashed (`no-reveal`); the rest of the
//! escrow is refunded. Expire (< 2 votes): non-revealers are slashed, and the proposer too if it
//! never revealed its ground truth (`no-ground-truth`); the whole escrow is refunded.
//! A slash takes 10% (floor) of the account's stake at that moment.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use autonet_contracts::consensus::{self, WAD};

use crate::ProtocolError;

/// Votes needed to finalize.
pub const MIN_VOTES: usize = 2;
/// Slash fraction in WAD (10%).
pub const SLASH_FRACTION: U256 = U256::from_limbs([100_000_000_000_000_000, 0, 0, 0]);

/// Why an account is slashed (the contract's reason strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlashReason {
    InvalidSolution,
    NoReveal,
    Dissent,
    NoGroundTruth,
}

impl SlashReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SlashReason::InvalidSolution => "invalid-solution",
            SlashReason::NoReveal => "no-reveal",
            SlashReason::Dissent => "dissent",
            SlashReason::NoGroundTruth => "no-ground-truth",
        }
    }
}

/// One coordinator's vote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CastVote {
    pub coordinator: Address,
    /// Stake at vote time.
    pub stake: U256,
    /// Scores over the revealed solvers, in their canonical order.
    pub scores: Vec<U256>,
}

/// Everything the settlement depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLedger {
    pub proposer: Address,
    pub ground_truth_revealed: bool,
    /// Solvers that committed, in commit order.
    pub committers: Vec<Address>,
    /// Solvers that revealed, in commit order.
    pub revealed: Vec<Address>,
    /// Votes in the order they were cast.
    pub votes: Vec<CastVote>,
    pub threshold: U256,
    pub solver_pool: U256,
    pub coordinator_pool: U256,
    /// Current stakes of everyone who may be slashed.
    pub stakes: BTreeMap<Address, U256>,
}

/// What settlement does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settlement {
    pub finalized: bool,
    /// Rewards credited (claimable), per account.
    pub credits: BTreeMap<Address, U256>,
    /// Slashes in the order the contract applies them.
    pub slashes: Vec<(Address, U256, SlashReason)>,
    /// Escrow returned to the project.
    pub refund: U256,
}

fn slash(
    out: &mut Settlement,
    stakes: &mut BTreeMap<Address, U256>,
    who: Address,
    reason: SlashReason,
) {
    let stake = stakes.entry(who).or_default();
    let cut = *stake * SLASH_FRACTION / WAD;
    if cut.is_zero() {
        return;
    }
    *stake -= cut;
    out.slashes.push((who, cut, reason));
}

/// Settles a task after its vote deadline.
pub fn settle(ledger: &TaskLedger) -> Result<Settlement, ProtocolError> {
    let mut stakes = ledger.stakes.clone();
    let mut out = Settlement::default();
    let escrow = ledger.solver_pool + ledger.coordinator_pool;
    if ledger.votes.len() < MIN_VOTES {
        slash_non_revealers(ledger, &mut out, &mut stakes);
        if !ledger.ground_truth_revealed {
            slash(
                &mut out,
                &mut stakes,
                ledger.proposer,
                SlashReason::NoGroundTruth,
            );
        }
        out.refund = escrow;
        return Ok(out);
    }
    out.finalized = true;
    let vote_stakes: Vec<U256> = ledger.votes.iter().map(|v| v.stake).collect();
    let scores: Vec<Vec<U256>> = ledger.votes.iter().map(|v| v.scores.clone()).collect();
    let o = consensus::run(
        &vote_stakes,
        &scores,
        ledger.threshold,
        ledger.solver_pool,
        ledger.coordinator_pool,
    )
    .map_err(|e| ProtocolError::Settlement(e.to_string()))?;
    if o.consensus.len() != ledger.revealed.len() {
        return Err(ProtocolError::Settlement(format!(
            "{} scores for {} revealed solvers",
            o.consensus.len(),
            ledger.revealed.len()
        )));
    }
    let mut paid = U256::ZERO;
    for (j, solver) in ledger.revealed.iter().enumerate() {
        if o.accepted[j] {
            paid += o.solver_rewards[j];
            *out.credits.entry(*solver).or_default() += o.solver_rewards[j];
        } else if o.consensus[j].is_zero() {
            slash(&mut out, &mut stakes, *solver, SlashReason::InvalidSolution);
        }
    }
    for (i, v) in ledger.votes.iter().enumerate() {
        if o.dissent[i] {
            slash(&mut out, &mut stakes, v.coordinator, SlashReason::Dissent);
        } else {
            paid += o.coordinator_fees[i];
            *out.credits.entry(v.coordinator).or_default() += o.coordinator_fees[i];
        }
    }
    slash_non_revealers(ledger, &mut out, &mut stakes);
    out.refund = escrow - paid;
    Ok(out)
}

fn slash_non_revealers(
    ledger: &TaskLedger,
    out: &mut Settlement,
    stakes: &mut BTreeMap<Address, U256>,
) {
    for c in &ledger.committers {
        if !ledger.revealed.contains(c) {
            slash(out, stakes, *c, SlashReason::NoReveal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atn(x: u64) -> U256 {
        U256::from(x) * WAD
    }

    fn ledger() -> TaskLedger {
        let s = |i: u8| Address::repeat_byte(i);
        TaskLedger {
            proposer: s(1),
            ground_truth_revealed: true,
            committers: vec![s(10), s(11), s(12), s(13)],
            revealed: vec![s(10), s(11), s(12)],
            votes: (20..23)
                .map(|c| CastVote {
                    coordinator: s(c),
                    stake: atn(500),
                    scores: vec![WAD / U256::from(2), WAD, U256::ZERO],
                })
                .collect(),
            threshold: WAD / U256::from(2),
            solver_pool: atn(30),
            coordinator_pool: atn(3),
            stakes: [
                (s(10), atn(50)),
                (s(11), atn(50)),
                (s(12), atn(50)),
                (s(13), atn(50)),
            ]
            .into_iter()
            .chain((20..23).map(|c| (s(c), atn(500))))
            .collect(),
        }
    }

    #[test]
    fn honest_solvers_share_invalid_and_silent_ones_are_slashed() {
        let l = ledger();
        let out = settle(&l).unwrap();
        assert!(out.finalized);
        let s = |i: u8| Address::repeat_byte(i);
        // Rewards ∝ consensus: 0.5 : 1.0 of a 30 ATN pool.
        assert_eq!(out.credits[&s(10)], atn(10));
        assert_eq!(out.credits[&s(11)], atn(20));
        assert!(!out.credits.contains_key(&s(12)));
        assert_eq!(
            out.slashes,
            vec![
                (s(12), atn(5), SlashReason::InvalidSolution),
                (s(13), atn(5), SlashReason::NoReveal),
            ]
        );
        assert_eq!(out.credits[&s(20)], atn(1));
        assert_eq!(out.refund, U256::ZERO);
    }

    #[test]
    fn a_dissenter_is_slashed_and_too_few_votes_expire() {
        let mut l = ledger();
        l.votes[2].scores = vec![WAD, U256::ZERO, WAD];
        let out = settle(&l).unwrap();
        let s = |i: u8| Address::repeat_byte(i);
        assert!(
            out.slashes
                .contains(&(s(22), atn(50), SlashReason::Dissent))
        );
        assert!(!out.credits.contains_key(&s(22)));
        l.votes.truncate(1);
        l.ground_truth_revealed = false;
        let out = settle(&l).unwrap();
        assert!(!out.finalized);
        assert_eq!(out.refund, atn(33));
        assert_eq!(
            out.slashes,
            vec![
                (s(13), atn(5), SlashReason::NoReveal),
                (s(1), U256::ZERO, SlashReason::NoGroundTruth)
            ]
            .into_iter()
            .filter(|(_, a, _)| !a.is_zero())
            .collect::<Vec<_>>()
        );
    }
}
