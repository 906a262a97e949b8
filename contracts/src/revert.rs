//! Typed contract reverts: each contract's custom errors as the enum alloy's `sol!` generates
//! from its committed ABI. Match a failed call with [`crate::ChainError::revert`], e.g.
//! `matches!(e.revert(), Some(TaskContractErrors::UnknownTask(_)))`. An error declared by
//! several contracts has the same selector in each (no two of the suite's errors share a name
//! with different parameters), so any declaring contract's enum decodes it.

pub use crate::bindings::atntoken_abi::ATNToken::ATNTokenErrors;
pub use crate::bindings::autonetgovernor_abi::AutonetGovernor::AutonetGovernorErrors;
pub use crate::bindings::modelshardregistry_abi::ModelShardRegistry::ModelShardRegistryErrors;
pub use crate::bindings::participantstaking_abi::ParticipantStaking::ParticipantStakingErrors;
pub use crate::bindings::project_abi::Project::ProjectErrors;
pub use crate::bindings::registry_abi::Registry::RegistryErrors;
pub use crate::bindings::reptoken_abi::RepToken::RepTokenErrors;
pub use crate::bindings::resultsrewards_abi::ResultsRewards::ResultsRewardsErrors;
pub use crate::bindings::rpb_abi::RPB::RPBErrors;
pub use crate::bindings::taskcontract_abi::TaskContract::TaskContractErrors;
pub use crate::bindings::timelock_abi::Timelock::TimelockErrors;

impl crate::ChainError {
    /// Whether `finalize` refused a task for want of votes (too few, or no quorum): the task can
    /// only be expired.
    pub fn is_short_of_votes(&self) -> bool {
        matches!(
            self.revert(),
            Some(ResultsRewardsErrors::NotEnoughVotes(_) | ResultsRewardsErrors::NoQuorum(_))
        )
    }
}
