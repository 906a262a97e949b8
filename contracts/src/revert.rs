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

fn role_name(role: u8) -> &'static str {
    match role {
        1 => "proposer",
        2 => "solver",
        3 => "coordinator",
        4 => "aggregator",
        _ => "<role>",
    }
}

impl crate::ChainError {
    /// What to do about a known revert, in a sentence with the command that fixes it (for
    /// people; programs match [`crate::ChainError::revert`]). `None` for other errors.
    pub fn advice(&self) -> Option<String> {
        use crate::Atn;
        if let Some(e) = self.revert::<ParticipantStakingErrors>() {
            use ParticipantStakingErrors as E;
            return Some(match e {
                E::NotStaked(e) => format!(
                    "{} has no stake: stake first with `autonet stake --role <role>`",
                    e.account
                ),
                E::AlreadyStaked(e) => format!(
                    "{} is already staked as {}: `autonet balance` shows the stake; to change \
                     role, `autonet unstake` first",
                    e.account,
                    role_name(e.role)
                ),
                E::BelowMinimum(e) => format!(
                    "{} is below the role's minimum stake of {}: pass `--amount` of at least that",
                    Atn(e.amount),
                    Atn(e.minimum)
                ),
                E::StillLocked(e) => format!(
                    "the stake is unbonding until block {}: run `autonet unstake` again from then",
                    e.unlockBlock
                ),
                E::AlreadyUnbonding(_) => "unbonding has started already: `autonet unstake` \
                     withdraws once `autonet balance` shows the unbonding block passed"
                    .into(),
                E::ObligationsOpen(e) => format!(
                    "{} open task(s) still hold this stake: unstake after they finish",
                    e.open
                ),
                _ => return None,
            });
        }
        if let Some(e) = self.revert::<ResultsRewardsErrors>() {
            use ResultsRewardsErrors as E;
            return Some(match e {
                E::NotActive(e) => format!(
                    "{} is not actively staked as {}: stake with `autonet stake --role {}`",
                    e.account,
                    role_name(e.role),
                    role_name(e.role)
                ),
                E::NothingToClaim(e) => format!(
                    "{} has nothing to claim yet: rewards are claimable once the tasks it worked \
                     on are finalized (`autonet balance` shows what is claimable)",
                    e.account
                ),
                E::AlreadyClaimed(_) => "this was claimed already".into(),
                _ => return None,
            });
        }
        if let Some(ATNTokenErrors::ERC20InsufficientBalance(e)) = self.revert::<ATNTokenErrors>() {
            return Some(format!(
                "{} holds {} but needs {}: fund the address with ATN first",
                e.sender,
                Atn(e.balance),
                Atn(e.needed)
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};
    use alloy::sol_types::SolInterface;

    use super::*;
    use crate::ChainError;

    fn revert(e: impl SolInterface) -> ChainError {
        ChainError::reverted(e.abi_encode().into())
    }

    #[test]
    fn known_reverts_say_what_to_do() {
        let me = Address::repeat_byte(7);
        let not_active = revert(ResultsRewardsErrors::NotActive(
            crate::bindings::resultsrewards_abi::ResultsRewards::NotActive {
                account: me,
                role: 2,
            },
        ));
        let advice = not_active.advice().unwrap();
        assert!(advice.contains("autonet stake --role solver"), "{advice}");
        let below = revert(ParticipantStakingErrors::BelowMinimum(
            crate::bindings::participantstaking_abi::ParticipantStaking::BelowMinimum {
                amount: crate::ATN,
                minimum: crate::ATN * U256::from(50),
            },
        ));
        let advice = below.advice().unwrap();
        assert!(
            advice.contains("1.000000 ATN") && advice.contains("50.000000 ATN"),
            "{advice}"
        );
        assert!(ChainError::Transport("down".into()).advice().is_none());
    }
}
