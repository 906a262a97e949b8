//! Finished runs, kept in the store (table `agents.executions`, key `agent \0 started_ms
//! execution`) for `autonet agent logs` and the API: what started each, how it ended, what it
//! read, what it spent, and its trace.

use autonet_store::Table;
use serde::{Deserialize, Serialize};

use super::execution::{Outcome, RunStatus};
use super::{Shared, Trigger};

const EXECUTIONS: Table = Table::new("agents.executions");

/// The most runs kept per agent (the oldest are removed past it).
pub const MAX_KEPT: usize = 1000;

/// One finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// The run.
    pub execution: String,
    /// The agent.
    pub agent: String,
    /// `manual`, `schedule` or `inbox`.
    pub trigger: String,
    /// How it ended.
    pub status: RunStatus,
    /// Its answer or error (cut to 4 KiB).
    pub output: String,
    /// Tokens spent.
    pub tokens: u64,
    /// Tool calls made.
    pub tool_calls: u64,
    /// Its trace.
    pub trace: Option<String>,
    /// The inbox messages it read (ids).
    pub messages: Vec<String>,
    /// Start and end (ms since the Unix epoch).
    pub started_ms: u64,
    /// End.
    pub ended_ms: u64,
}

fn key(agent: &str, started_ms: u64, execution: &str) -> Vec<u8> {
    let mut k = agent.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&started_ms.to_be_bytes());
    k.extend_from_slice(execution.as_bytes());
    k
}

pub(crate) fn keep(
    shared: &Shared,
    agent: &str,
    trigger: &Trigger,
    started_ms: u64,
    outcome: &Outcome,
) {
    let record = ExecutionRecord {
        execution: outcome.execution.clone(),
        agent: agent.to_string(),
        trigger: trigger.name().to_string(),
        status: outcome.status,
        output: outcome.output.chars().take(4096).collect(),
        tokens: outcome.tokens,
        tool_calls: outcome.tool_calls,
        trace: outcome.trace.clone(),
        messages: outcome.read.iter().map(|m| m.id.clone()).collect(),
        started_ms,
        ended_ms: crate::events::now_ms(),
    };
    let Ok(bytes) = serde_json::to_vec(&record) else {
        return;
    };
    let store = shared.inbox.store();
    if let Err(e) = store.put(
        EXECUTIONS,
        &key(agent, started_ms, &outcome.execution),
        &bytes,
    ) {
        tracing::warn!(%agent, error = %e, "cannot keep the run's record");
    }
    let mut prefix = agent.as_bytes().to_vec();
    prefix.push(0);
    if let Ok(all) = store.scan_prefix(EXECUTIONS, &prefix) {
        for (k, _) in all.iter().take(all.len().saturating_sub(MAX_KEPT)) {
            let _ = store.remove(EXECUTIONS, k);
        }
    }
}

/// The kept runs of `agent`, oldest first (unreadable entries skipped).
pub fn of(store: &autonet_store::Store, agent: &str) -> Vec<ExecutionRecord> {
    let mut prefix = agent.as_bytes().to_vec();
    prefix.push(0);
    store
        .scan_prefix(EXECUTIONS, &prefix)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect()
}
