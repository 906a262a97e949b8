//! The node's side of the constitution (`autonet_protocol::constitution`): the document it
//! enforces (the shipped one), and the checks its own actions pass before they run — staking
//! (a spend), signing as a role (the key must be the address its PeerId is bound to), serving
//! inference. A refusal stops the action with the rule's name (and is logged as an event by
//! the enforcer). The agent layer calls the same [`enforcer`] and
//! `autonet_protocol::constitution::with_preamble` for every prompt.

use alloy::primitives::{Address, U256};
use autonet_actors::protocol::constitution::{Action, ActionKind, Enforcer, shipped};

/// The enforcer of the shipped constitution (built once, shared with the role actors).
pub fn enforcer() -> anyhow::Result<&'static Enforcer> {
    shipped().map_err(|e| anyhow::anyhow!("the shipped constitution is unusable: {e}"))
}

/// Checks `action`; a refusal is an error naming the rule.
pub fn check(action: &Action) -> anyhow::Result<()> {
    Ok(enforcer()?.check(action)?)
}

/// Before staking `amount` wei out of a balance of `balance` wei.
pub fn check_stake(role: &str, amount: U256, balance: U256) -> anyhow::Result<()> {
    let mut a = Action::new(ActionKind::Spend, format!("stake {amount} wei as {role}"));
    a.spend_wei = amount;
    a.budget_left_wei = Some(balance);
    check(&a)
}

/// Before a role signs protocol transactions as `signer`, whose PeerId is bound to `bound_to`.
pub fn check_signing(role: &str, signer: Address, bound_to: Option<Address>) -> anyhow::Result<()> {
    let kind = match role {
        "solver" => ActionKind::Train,
        "coordinator" => ActionKind::Verify,
        "aggregator" => ActionKind::Aggregate,
        _ => ActionKind::Spend,
    };
    let mut a = Action::new(
        kind,
        format!("take the {role} role and sign its protocol steps"),
    );
    a.signer = Some(signer);
    a.bound_to = bound_to;
    check(&a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_actions_pass_and_refusals_name_the_rule() {
        let me = Address::repeat_byte(1);
        check_signing("solver", me, Some(me)).unwrap();
        let err = check_signing("solver", me, None).unwrap_err().to_string();
        assert!(err.contains("rule unbound_key"), "{err}");
        let atn = U256::from(10u64).pow(U256::from(18u64));
        check_stake("solver", U256::from(50u64) * atn, U256::from(60u64) * atn).unwrap();
        let err = check_stake("solver", U256::from(50u64) * atn, atn)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rule budget"), "{err}");
        let err = check_stake("aggregator", U256::from(5000u64) * atn, U256::MAX)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rule max_spend"), "{err}");
    }
}
