//! When a message wakes an agent (reference §9.4, with the rules it leaves open chosen here).
//!
//! - An **active** (idle) agent is woken by a trigger, or by any high or urgent message.
//! - A **running** agent is never woken: its messages wait for its next turn, which reads them.
//! - A **stopped**, **completed** or **budget-paused** agent is never woken by a message: its
//!   owner stopped it, it finished, or it may not spend; waking it would override that decision.
//!   Its messages stay in the inbox for when it is started again.
//! - A **registered** (never started) or **errored** agent is woken only by an urgent message,
//!   so an operator or parent can restart it through the inbox; anything less waits.

use serde::{Deserialize, Serialize};

use crate::message::{InboxMessage, MessageKind, Priority};

/// An agent's lifecycle status (reference §9.3 `AgentStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Created, never started.
    Registered,
    /// Started and idle: schedules and inbox triggers run it.
    Active,
    /// In a turn now.
    Running,
    /// Stopped by its owner.
    Stopped,
    /// Failed; its supervisor decides about restarts.
    Error,
    /// Done with its task.
    Completed,
    /// Out of budget until the period rolls over or the budget is raised.
    BudgetPaused,
}

/// Whether `messages` (the agent's pending inbox) wake an agent in `status`.
pub fn wakes(status: AgentStatus, messages: &[InboxMessage]) -> bool {
    match status {
        AgentStatus::Active => messages
            .iter()
            .any(|m| m.kind == MessageKind::Trigger || m.priority >= Priority::High),
        AgentStatus::Registered | AgentStatus::Error => {
            messages.iter().any(|m| m.priority == Priority::Urgent)
        }
        AgentStatus::Running
        | AgentStatus::Stopped
        | AgentStatus::Completed
        | AgentStatus::BudgetPaused => false,
    }
}
