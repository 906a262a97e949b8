//! Per-role progress through a task, as pure decisions: given what a role has done (its stored
//! stage), the chain head and the task's deadlines, what it should do next. Role actors persist
//! the stage after every acknowledged step and call these functions on every new block, so a
//! restarted actor resumes exactly where it stopped, and nothing waits on a timer.

use serde::{Deserialize, Serialize};

use crate::phase::{Deadlines, Phase};

/// How far a solver got with one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SolverStage {
    /// Knows the task, has not trained yet.
    Assigned,
    /// Trained; bundle and salt stored.
    Trained,
    /// Commitment sent and mined.
    Committed,
    /// Reveal mined; the bundle is served.
    Revealed,
    /// Nothing more to do for this task (done, or missed its window).
    Done,
}

/// A solver's next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolverAction {
    /// Train the assigned slice and store the bundle and salt.
    Train,
    /// Send the solution commitment.
    Commit,
    /// Reveal the bundle id and salt, and serve the bundle.
    Reveal,
    /// Wait for a later block.
    Wait,
    /// The window for the next step has passed.
    Missed,
    /// Revealed (or given up): nothing left to do.
    Finished,
}

/// The solver rule: train and commit before the commit deadline, reveal in the reveal phase.
pub fn solver_action(stage: SolverStage, head: u64, d: &Deadlines) -> SolverAction {
    let tx_phase = d.phase_for_tx(head);
    match stage {
        SolverStage::Assigned | SolverStage::Trained if tx_phase != Phase::Commit => {
            SolverAction::Missed
        }
        SolverStage::Assigned => SolverAction::Train,
        SolverStage::Trained => SolverAction::Commit,
        SolverStage::Committed => match tx_phase {
            Phase::Commit => SolverAction::Wait,
            Phase::Reveal => SolverAction::Reveal,
            _ => SolverAction::Missed,
        },
        SolverStage::Revealed | SolverStage::Done => SolverAction::Finished,
    }
}

/// How far a proposer got with its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProposerStage {
    /// Created on chain and announced.
    Created,
    /// Ground truth revealed and served.
    GroundTruthRevealed,
    /// Missed the reveal window; nothing more to do.
    Done,
}

/// A proposer's next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposerAction {
    /// Reveal the ground truth on chain and serve the held-out set.
    RevealGroundTruth,
    /// Still the commit phase: wait for a later block.
    Wait,
    /// The reveal phase has passed without a reveal.
    Missed,
    /// Revealed or given up: nothing left to do.
    Finished,
}

/// The proposer reveals its ground truth in the reveal phase.
pub fn proposer_action(stage: ProposerStage, head: u64, d: &Deadlines) -> ProposerAction {
    match (stage, d.phase_for_tx(head)) {
        (ProposerStage::Created, Phase::Commit) => ProposerAction::Wait,
        (ProposerStage::Created, Phase::Reveal) => ProposerAction::RevealGroundTruth,
        (ProposerStage::Created, _) => ProposerAction::Missed,
        _ => ProposerAction::Finished,
    }
}

/// How far a coordinator got with one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CoordinatorStage {
    /// Knows the task; has not voted yet.
    Watching,
    /// Vote committed; scores and salt kept to reveal.
    VoteCommitted,
    /// Vote revealed (or there was none to reveal); waits for closing to settle.
    Voted,
    /// Finalized (by anyone) and own rewards claimed.
    Settled,
}

/// A coordinator's next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinatorAction {
    /// Verify the revealed solutions and commit a vote.
    Vote,
    /// Reveal the committed vote.
    RevealVote,
    /// Finalize the task (or expire it) and claim.
    Settle,
    /// Wait for a later block.
    Wait,
    /// The vote phase passed without a vote; settle anyway (finalize or expire, claim).
    Missed,
    /// Settled: nothing left to do.
    Finished,
}

/// Coordinators commit a vote in the vote phase, reveal it in the vote-reveal phase and settle
/// once both are over.
pub fn coordinator_action(stage: CoordinatorStage, head: u64, d: &Deadlines) -> CoordinatorAction {
    match (stage, d.phase_for_tx(head)) {
        (CoordinatorStage::Settled, _) => CoordinatorAction::Finished,
        (CoordinatorStage::Watching, Phase::Vote) => CoordinatorAction::Vote,
        (CoordinatorStage::VoteCommitted, Phase::VoteReveal) => CoordinatorAction::RevealVote,
        (CoordinatorStage::Watching, Phase::Closing) => CoordinatorAction::Missed,
        (_, Phase::Closing) => CoordinatorAction::Settle,
        _ => CoordinatorAction::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Deadlines = Deadlines {
        commit: 10,
        reveal: 20,
        vote_commit: 25,
        vote: 30,
    };

    #[test]
    fn a_solver_walks_the_phases_and_misses_closed_windows() {
        assert_eq!(
            solver_action(SolverStage::Assigned, 5, &D),
            SolverAction::Train
        );
        assert_eq!(
            solver_action(SolverStage::Trained, 9, &D),
            SolverAction::Commit
        );
        assert_eq!(
            solver_action(SolverStage::Trained, 10, &D),
            SolverAction::Missed
        );
        assert_eq!(
            solver_action(SolverStage::Committed, 9, &D),
            SolverAction::Wait
        );
        assert_eq!(
            solver_action(SolverStage::Committed, 10, &D),
            SolverAction::Reveal
        );
        assert_eq!(
            solver_action(SolverStage::Committed, 20, &D),
            SolverAction::Missed
        );
        assert_eq!(
            solver_action(SolverStage::Revealed, 25, &D),
            SolverAction::Finished
        );
    }

    #[test]
    fn proposer_and_coordinator_follow_deadlines() {
        assert_eq!(
            proposer_action(ProposerStage::Created, 9, &D),
            ProposerAction::Wait
        );
        assert_eq!(
            proposer_action(ProposerStage::Created, 10, &D),
            ProposerAction::RevealGroundTruth
        );
        assert_eq!(
            proposer_action(ProposerStage::Created, 20, &D),
            ProposerAction::Missed
        );
        assert_eq!(
            coordinator_action(CoordinatorStage::Watching, 19, &D),
            CoordinatorAction::Wait
        );
        assert_eq!(
            coordinator_action(CoordinatorStage::Watching, 20, &D),
            CoordinatorAction::Vote
        );
        assert_eq!(
            coordinator_action(CoordinatorStage::VoteCommitted, 24, &D),
            CoordinatorAction::Wait
        );
        assert_eq!(
            coordinator_action(CoordinatorStage::VoteCommitted, 25, &D),
            CoordinatorAction::RevealVote
        );
        assert_eq!(
            coordinator_action(CoordinatorStage::Voted, 29, &D),
            CoordinatorAction::Wait
        );
        assert_eq!(
            coordinator_action(CoordinatorStage::Voted, 30, &D),
            CoordinatorAction::Settle
        );
        assert_eq!(
            coordinator_action(CoordinatorStage::Watching, 30, &D),
            CoordinatorAction::Missed
        );
        assert_eq!(
            coordinator_action(CoordinatorStage::Settled, 40, &D),
            CoordinatorAction::Finished
        );
    }
}
