//! The constitution as the agent runtime's [`ActionGuard`]: every model spend, tool call,
//! message and delegation an agent is about to make passes the shipped constitution's rule and
//! geometric tiers (`autonet_protocol::constitution`) first; a refusal names the rule, and the
//! runtime turns it into an `action.refused` event and a failed run.

use autonet_actors::protocol::constitution::{Action, ActionKind, Enforcer};
use autonet_agents::runtime::{ActionGuard, Refusal};

/// Checks agents' actions against a constitution.
#[derive(Debug, Clone, Copy)]
pub struct ConstitutionGuard {
    enforcer: &'static Enforcer,
}

impl ConstitutionGuard {
    /// The guard of the shipped constitution.
    pub fn shipped() -> anyhow::Result<Self> {
        Ok(ConstitutionGuard {
            enforcer: crate::constitution::enforcer()?,
        })
    }
}

impl ActionGuard for ConstitutionGuard {
    fn check(&self, agent: &str, action: &str, description: &str) -> Result<(), Refusal> {
        let kind = match action {
            "tool" => ActionKind::UseTool,
            "message" => ActionKind::Message,
            "delegate" => ActionKind::Delegate,
            _ => ActionKind::Spend,
        };
        let mut a = Action::new(kind, description);
        if action == "delegate" {
            // "depth N: …" carries the delegation depth (the runtime writes it so).
            a.delegation_depth = description
                .strip_prefix("depth ")
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
        }
        self.enforcer.check(&a).map_err(|r| {
            tracing::warn!(%agent, rule = %r.rule, reason = %r.reason, "agent action refused by the constitution");
            Refusal {
                rule: r.rule,
                reason: r.reason,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destructive_tool_calls_are_refused_by_rule_and_ordinary_ones_pass() {
        let guard = ConstitutionGuard::shipped().unwrap();
        assert!(
            guard
                .check("a", "tool", "call tool echo with {\"text\":\"hello\"}")
                .is_ok()
        );
        let refused = guard
            .check(
                "a",
                "tool",
                "call tool shell with {\"command\":\"rm -rf / on the host\"}",
            )
            .unwrap_err();
        assert_eq!(refused.rule, "charter.self_preservation");
        let deep = guard
            .check("a", "delegate", "depth 99: summarize the notes")
            .unwrap_err();
        assert_eq!(deep.rule, "delegation_depth");
    }
}
