//! Epoch phases and their block deadlines.
//!
//! A task's phases end at block deadlines set when it is created: commit (blocks ≤ commit
//! deadline), reveal (≤ reveal deadline), vote commit (≤ vote commit deadline), vote reveal
//! (≤ vote deadline), then closing (finalize or expire, rewards, aggregation). A transaction sent while the head is `h` executes in block
//! `h + 1`, so whether an action is still allowed is decided for the *next* block.

use serde::{Deserialize, Serialize};

/// The phase a block belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phase {
    /// Solvers train and commit; bundles stay private.
    Commit,
    /// The proposer reveals its ground truth, solvers their (bundle id, salt).
    Reveal,
    /// Coordinators verify and commit their votes.
    Vote,
    /// Coordinators reveal their votes.
    VoteReveal,
    /// After the vote deadline: finalize (or expire), claim, aggregate, publish.
    Closing,
}

impl Phase {
    /// Lower-case name for progress lines and reports.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Commit => "commit",
            Phase::Reveal => "reveal",
            Phase::Vote => "vote",
            Phase::VoteReveal => "vote-reveal",
            Phase::Closing => "closing",
        }
    }
}

/// A task's deadlines, as the task contract stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// Last block of the commit phase (solver commitments).
    pub commit: u64,
    /// Last block of the reveal phase (solution and ground-truth reveals).
    pub reveal: u64,
    /// Last block of vote commits (the first half of the vote phase).
    #[serde(default)]
    pub vote_commit: u64,
    /// Last block of vote reveals (the end of the vote phase); later blocks are closing.
    pub vote: u64,
}

impl Deadlines {
    /// The phase block `block` belongs to.
    pub fn phase_at(&self, block: u64) -> Phase {
        if block <= self.commit {
            Phase::Commit
        } else if block <= self.reveal {
            Phase::Reveal
        } else if block <= self.vote_commit {
            Phase::Vote
        } else if block <= self.vote {
            Phase::VoteReveal
        } else {
            Phase::Closing
        }
    }

    /// The phase a transaction sent now (head = `head`) executes in.
    pub fn phase_for_tx(&self, head: u64) -> Phase {
        self.phase_at(head.saturating_add(1))
    }
}

/// Phase lengths in blocks, chosen by the proposer when it creates a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseBlocks {
    /// Length of the commit phase.
    pub commit: u64,
    /// Length of the reveal phase.
    pub reveal: u64,
    /// Length of the whole vote phase; the task contract gives the first `ceil(vote / 2)`
    /// blocks to vote commits and the rest to vote reveals.
    pub vote: u64,
}

impl PhaseBlocks {
    /// Lengths that fit a roster. Every transaction mines a block on the embedded chain (as on
    /// anvil), so a phase must outlast one transaction per participant plus `slack` blocks of
    /// network and compute latency.
    pub fn for_roster(solvers: usize, coordinators: usize, slack: u64) -> Self {
        let s = solvers as u64;
        let c = coordinators as u64;
        PhaseBlocks {
            commit: s + slack,
            // Solvers' reveals plus the proposer's ground truth.
            reveal: s + 1 + slack,
            vote: c + slack,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_deadlines_and_transactions_land_in_the_next_block() {
        let d = Deadlines {
            commit: 10,
            reveal: 20,
            vote_commit: 25,
            vote: 30,
        };
        assert_eq!(d.phase_at(10), Phase::Commit);
        assert_eq!(d.phase_at(11), Phase::Reveal);
        assert_eq!(d.phase_at(20), Phase::Reveal);
        assert_eq!(d.phase_at(21), Phase::Vote);
        assert_eq!(d.phase_at(25), Phase::Vote);
        assert_eq!(d.phase_at(26), Phase::VoteReveal);
        assert_eq!(d.phase_at(30), Phase::VoteReveal);
        assert_eq!(d.phase_at(31), Phase::Closing);
        // With the head at 10 a commit would execute in block 11: too late.
        assert_eq!(d.phase_for_tx(9), Phase::Commit);
        assert_eq!(d.phase_for_tx(10), Phase::Reveal);
    }

    #[test]
    fn roster_lengths_leave_one_block_per_transaction() {
        let p = PhaseBlocks::for_roster(20, 3, 8);
        assert_eq!((p.commit, p.reveal, p.vote), (28, 29, 11));
    }
}
