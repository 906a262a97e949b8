//! The A2A-style task lifecycle: submitted → working → (input-required ↔ working) →
//! completed | failed | canceled. A task may also fail or be canceled before it starts
//! (refused on admission, canceled while queued); nothing leaves a final state.

use serde::{Deserialize, Serialize};

/// Where a delegated task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskState {
    /// Received, not started.
    Submitted,
    /// Being worked on.
    Working,
    /// Waiting for more input from the delegator.
    InputRequired,
    /// Done, with a result.
    Completed,
    /// Gave up, or was refused.
    Failed,
    /// Stopped by the delegator.
    Canceled,
}

/// A transition the lifecycle does not have.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
#[error("a delegated task cannot go from {from:?} to {to:?}")]
pub struct IllegalTransition {
    /// The current state.
    pub from: TaskState,
    /// The state asked for.
    pub to: TaskState,
}

impl TaskState {
    /// True for completed, failed and canceled.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskState::Completed | TaskState::Failed | TaskState::Canceled
        )
    }

    /// The state after moving to `to`, if the lifecycle allows it.
    pub fn advance(self, to: TaskState) -> Result<TaskState, IllegalTransition> {
        use TaskState::*;
        let ok = match self {
            Submitted => matches!(to, Working | Failed | Canceled),
            Working => matches!(to, InputRequired | Completed | Failed | Canceled),
            InputRequired => matches!(to, Working | Failed | Canceled),
            Completed | Failed | Canceled => false,
        };
        if ok {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TaskState::*;
    use super::*;

    #[test]
    fn the_lifecycle_allows_exactly_its_transitions() {
        let path = [Submitted, Working, InputRequired, Working, Completed];
        let end = path[1..]
            .iter()
            .try_fold(Submitted, |s, &next| s.advance(next));
        assert_eq!(end, Ok(Completed));
        let all = [
            Submitted,
            Working,
            InputRequired,
            Completed,
            Failed,
            Canceled,
        ];
        let allowed = all
            .iter()
            .flat_map(|&a| all.iter().map(move |&b| (a, b)))
            .filter(|(a, b)| a.advance(*b).is_ok())
            .count();
        assert_eq!(allowed, 3 + 4 + 3);
        for end in [Completed, Failed, Canceled] {
            assert!(end.is_final());
            assert!(all.iter().all(|&to| end.advance(to).is_err()));
        }
        assert_eq!(
            Submitted.advance(Completed),
            Err(IllegalTransition {
                from: Submitted,
                to: Completed
            })
        );
        assert_eq!(
            InputRequired.advance(Completed).map_err(|e| e.to),
            Err(Completed)
        );
    }
}
