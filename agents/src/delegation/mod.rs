//! Delegation between agents, local or on other peers (A2A-style lifecycle, [`TaskState`]).
//!
//! Everything travels as inbox mail ([`crate::mail`]): a [`DelegationMessage`] is the `data`
//! of an [`InboxMessage`] under the key `"delegation"`:
//! - the request goes to the delegate as kind `work` ([`DelegationMessage::Request`]);
//! - status updates go back to the delegator as kind `info`, priority normal
//!   ([`DelegationMessage::Status`]);
//! - the result goes back to the delegator's inbox as kind `info`, priority high so it wakes
//!   an idle delegator ([`DelegationMessage::Result`]).
//!
//! Message ids are derived from the task id (`dlg-<task>-req`, `-s<n>`, `-res`), so a resent
//! request or result is the same message and the receiving inbox keeps it once.
//!
//! The receiving side admits a request with [`admit`] before any work: it refuses when the
//! depth is exhausted, the budget is zero, the delegator already has as many open tasks here as
//! the limit allows, the chain of delegators already contains the receiver (a loop), or the
//! delegator's lineage does not check. A delegate that delegates further derives the onward
//! request with [`DelegationRequest::onward`], which spends one level of depth, never more
//! budget than it was given, and appends itself to the chain, so the limits hold across peers.

mod admit;
mod state;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lineage::LineageProof;
use crate::message::{InboxMessage, MessageKind, Priority};

pub use admit::{DelegationLimits, Refusal, admit};
pub use state::{IllegalTransition, TaskState};

/// The key of a delegation message in an inbox message's `data`.
pub const DATA_KEY: &str = "delegation";
/// The longest task id (message ids derived from it stay within the inbox's name limit).
pub const MAX_TASK_ID: usize = 40;
/// The longest chain of delegators a request may carry.
pub const MAX_CHAIN: usize = 32;

/// A request to do a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationRequest {
    /// Chosen by the delegator, unique per delegator (`[A-Za-z0-9._:-]`, ≤ [`MAX_TASK_ID`]).
    pub task_id: String,
    /// The delegator's full address, where status and result go.
    pub delegator: String,
    /// Every delegator from the first one down, the last being `delegator`.
    pub chain: Vec<String>,
    /// What to do (free form: the delegate's agent reads it).
    pub input: Value,
    /// How many more levels of delegation may follow, this one included (0: refused).
    pub depth_left: u32,
    /// Tokens the delegate may spend, sub-delegations included (0: refused).
    pub budget_tokens: u64,
    /// The delegator's lineage (64 hex digits).
    pub lineage: String,
    /// Its proof, from the owner down.
    pub lineage_proof: LineageProof,
}

/// One delegation message, as carried in an inbox message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DelegationMessage {
    /// Do this task.
    Request(DelegationRequest),
    /// The task moved to `state` (submitted, working, input-required).
    Status {
        /// The task.
        task_id: String,
        /// Its new state.
        state: TaskState,
        /// Why, or what input is required.
        note: Option<String>,
        /// Counts this task's updates, so each has its own message id.
        seq: u32,
    },
    /// The task ended in `state` (completed, failed, canceled).
    Result {
        /// The task.
        task_id: String,
        /// Its final state.
        state: TaskState,
        /// The output (or the failure's reason).
        output: Value,
        /// Tokens spent.
        tokens_used: u64,
    },
}

impl DelegationMessage {
    /// The task this message is about.
    pub fn task_id(&self) -> &str {
        match self {
            DelegationMessage::Request(r) => &r.task_id,
            DelegationMessage::Status { task_id, .. }
            | DelegationMessage::Result { task_id, .. } => task_id,
        }
    }

    /// The inbox message carrying it from `source` (an agent id of this node) to `target`
    /// (the receiving agent's id), with its derived id.
    pub fn to_inbox(&self, source: &str, target: &str, timestamp_ms: u64) -> InboxMessage {
        let task = self.task_id();
        let (id, kind, priority) = match self {
            DelegationMessage::Request(_) => {
                (format!("dlg-{task}-req"), MessageKind::Work, Priority::High)
            }
            DelegationMessage::Status { seq, .. } => (
                format!("dlg-{task}-s{seq}"),
                MessageKind::Info,
                Priority::Normal,
            ),
            DelegationMessage::Result { .. } => {
                (format!("dlg-{task}-res"), MessageKind::Info, Priority::High)
            }
        };
        let data = serde_json::json!({ DATA_KEY: self });
        InboxMessage {
            id,
            source: source.into(),
            target: target.into(),
            kind,
            priority,
            data,
            timestamp_ms,
        }
    }

    /// The delegation message in an inbox message: `None` when it carries none, an error when
    /// it carries a malformed one.
    pub fn from_inbox(message: &InboxMessage) -> Option<Result<Self, Refusal>> {
        let value = message.data.get(DATA_KEY)?;
        Some(
            serde_json::from_value::<Self>(value.clone())
                .map_err(|e| Refusal::Malformed(e.to_string())),
        )
    }
}

#[cfg(test)]
mod tests;
