//! Spending that rolls up to ancestors (reference §9.5: "budgets roll up to the ancestors").
//!
//! Every token and tool call an agent spends is charged to it and to each of its ancestors; a
//! charge is allowed only if no agent on that path would go over its own limit, so a parent's
//! budget bounds its whole subtree, however many children it spawns. Pure logic: the runtime
//! holds one [`Ledger`] behind a lock.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::definition::Budgets;

/// What an agent (with its descendants) has spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Model tokens, prompt and completion.
    pub tokens: u64,
    /// Tool calls.
    pub tool_calls: u64,
}

/// A charge that would take an agent over its limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("budget of {agent} exhausted: {what} {spent} + {asked} > limit {limit}")]
pub struct OverBudget {
    /// The agent whose limit would be passed (the spender or an ancestor).
    pub agent: String,
    /// `tokens` or `tool_calls`.
    pub what: &'static str,
    /// Spent so far (subtree).
    pub spent: u64,
    /// This charge.
    pub asked: u64,
    /// The limit.
    pub limit: u64,
}

#[derive(Debug, Clone)]
struct Account {
    parent: Option<String>,
    limits: Budgets,
    usage: Usage,
}

/// Budgets and usage of every agent on the node.
#[derive(Debug, Default)]
pub struct Ledger {
    accounts: BTreeMap<String, Account>,
}

impl Ledger {
    /// Opens an account (or updates its parent and limits, keeping what was spent).
    pub fn open(&mut self, agent: &str, parent: Option<&str>, limits: Budgets) {
        let entry = self.accounts.entry(agent.to_string()).or_insert(Account {
            parent: None,
            limits,
            usage: Usage::default(),
        });
        entry.parent = parent.map(str::to_string);
        entry.limits = limits;
    }

    /// The agent and its ancestors, nearest first (a cycle or a missing parent ends the walk).
    fn path(&self, agent: &str) -> Vec<String> {
        let mut path = Vec::new();
        let mut next = Some(agent.to_string());
        while let Some(id) = next {
            if path.contains(&id) {
                break;
            }
            next = self.accounts.get(&id).and_then(|a| a.parent.clone());
            if self.accounts.contains_key(&id) {
                path.push(id);
            }
        }
        path
    }

    /// Whether `tokens` and `tool_calls` more may be spent by `agent` (nothing is charged).
    pub fn check(&self, agent: &str, tokens: u64, tool_calls: u64) -> Result<(), OverBudget> {
        for id in self.path(agent) {
            let account = &self.accounts[&id];
            for (what, spent, asked, limit) in [
                (
                    "tokens",
                    account.usage.tokens,
                    tokens,
                    account.limits.tokens,
                ),
                (
                    "tool_calls",
                    account.usage.tool_calls,
                    tool_calls,
                    account.limits.tool_calls,
                ),
            ] {
                if asked > 0 && spent.saturating_add(asked) > limit {
                    return Err(OverBudget {
                        agent: id.clone(),
                        what,
                        spent,
                        asked,
                        limit,
                    });
                }
            }
        }
        Ok(())
    }

    /// Charges what was spent to the agent and its ancestors (after the fact: a model's answer
    /// is counted even when it went past the limit, so the next check refuses).
    pub fn charge(&mut self, agent: &str, tokens: u64, tool_calls: u64) {
        for id in self.path(agent) {
            if let Some(account) = self.accounts.get_mut(&id) {
                account.usage.tokens = account.usage.tokens.saturating_add(tokens);
                account.usage.tool_calls = account.usage.tool_calls.saturating_add(tool_calls);
            }
        }
    }

    /// What the agent's subtree has spent.
    pub fn usage(&self, agent: &str) -> Usage {
        self.accounts
            .get(agent)
            .map(|a| a.usage)
            .unwrap_or_default()
    }

    /// Tokens the agent may still spend, the tightest of its path's limits.
    pub fn tokens_left(&self, agent: &str) -> u64 {
        self.path(agent)
            .iter()
            .map(|id| {
                let a = &self.accounts[id];
                a.limits.tokens.saturating_sub(a.usage.tokens)
            })
            .min()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(tokens: u64) -> Budgets {
        Budgets {
            tokens,
            tool_calls: 10,
        }
    }

    #[test]
    fn spending_rolls_up_and_the_tightest_ancestor_refuses() {
        let mut l = Ledger::default();
        l.open("root", None, limits(100));
        l.open("child", Some("root"), limits(1_000));
        l.open("grandchild", Some("child"), limits(1_000));
        l.charge("grandchild", 60, 1);
        assert_eq!(l.usage("root").tokens, 60);
        assert_eq!(l.usage("child").tokens, 60);
        assert_eq!(l.tokens_left("grandchild"), 40);
        let refused = l.check("grandchild", 50, 0).unwrap_err();
        assert_eq!(refused.agent, "root");
        assert!(l.check("grandchild", 40, 0).is_ok());
        // A sibling shares the parent's budget.
        l.open("sibling", Some("root"), limits(1_000));
        assert!(l.check("sibling", 41, 0).is_err());
    }

    #[test]
    fn a_parent_cycle_does_not_hang() {
        let mut l = Ledger::default();
        l.open("a", Some("b"), limits(10));
        l.open("b", Some("a"), limits(10));
        l.charge("a", 5, 0);
        assert_eq!(l.usage("b").tokens, 5);
        assert!(l.check("a", 6, 0).is_err());
    }
}
