//! The protocol events: what roles did, as `tracing` events on one target with fixed field
//! names, inside the spans `role{run, peer, role}` → `epoch{epoch}` → `task{task}`. Log output
//! (`--log-format json`) shows them as they are; [`super::protocol_log::ProtocolLog`] collects
//! them for progress lines, the status endpoint and the simulation report.
//!
//! Fields of every event: `event` (a [`Phase`] name), `epoch`, and the message. An epoch's
//! publication also carries `record` (the [`EpochRecord`] as JSON); `restored = true` marks a
//! record a restarted aggregator read back from its store.

use std::fmt;

use alloy::primitives::{Address, U256};
use autonet_contracts::Role;
use serde::{Deserialize, Serialize};
use tracing::Span;

/// The target of every protocol event and span.
pub const TARGET: &str = "autonet::protocol";

/// Name of a peer's outermost span (fields `run`, `peer`, `role`).
pub const ROLE_SPAN: &str = "role";
/// Name of the span of one epoch inside a role span (field `epoch`).
pub const EPOCH_SPAN: &str = "epoch";
/// Name of the span of one task inside an epoch span (field `task`).
pub const TASK_SPAN: &str = "task";

/// Which protocol step an event reports (its `event` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// A proposer created an epoch's task.
    Propose,
    /// A solver trained its slice.
    Train,
    /// A solver committed (or tried to, late).
    Commit,
    /// A solver revealed its bundle, or a proposer the ground truth.
    Reveal,
    /// A solver's window closed before it acted.
    Missed,
    /// A coordinator committed or revealed its scores.
    Vote,
    /// A coordinator judged a bundle invalid.
    Verify,
    /// A task was finalized (or expired).
    Finalize,
    /// A coordinator confirmed an epoch's mint root.
    Confirm,
    /// Rewards were withdrawn.
    Claim,
    /// An epoch's mint was claimed.
    Mint,
    /// An aggregator started merging the accepted bundles.
    Aggregate,
    /// An aggregator posted the epoch's mint root and announced its model, or registered the
    /// model and placed its shards.
    Publish,
}

impl Phase {
    /// Every phase, in protocol order.
    pub const ALL: [Phase; 13] = [
        Phase::Propose,
        Phase::Train,
        Phase::Commit,
        Phase::Reveal,
        Phase::Missed,
        Phase::Vote,
        Phase::Verify,
        Phase::Finalize,
        Phase::Confirm,
        Phase::Claim,
        Phase::Mint,
        Phase::Aggregate,
        Phase::Publish,
    ];

    /// The `event` field's value.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Propose => "propose",
            Phase::Train => "train",
            Phase::Commit => "commit",
            Phase::Reveal => "reveal",
            Phase::Missed => "missed",
            Phase::Vote => "vote",
            Phase::Verify => "verify",
            Phase::Finalize => "finalize",
            Phase::Confirm => "confirm",
            Phase::Claim => "claim",
            Phase::Mint => "mint",
            Phase::Aggregate => "aggregate",
            Phase::Publish => "publish",
        }
    }

    /// The phase whose [`Phase::name`] is `name`.
    pub fn parse(name: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so progress lines can align it with `{:<9}`.
        f.pad(self.name())
    }
}

/// What an aggregator published for an epoch (for the report; kept in its store).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch published.
    pub epoch: u64,
    /// The task whose accepted bundles were merged (decimal id).
    pub task: String,
    /// Content id of the new model, hex.
    pub model_id: String,
    /// Merkle root of the epoch's mint list as posted on chain, hex.
    pub mint_root: String,
    /// Solvers whose bundles were accepted and merged.
    pub accepted: Vec<Address>,
    /// Agents in the mint list.
    pub mint_agents: usize,
    /// Root scores of the new model (model-specific diagnostics).
    pub root_scores: Vec<(String, f64)>,
    /// Novelty per agent (a diagnostic of the merge).
    pub novelty: Vec<(String, f64)>,
    /// Held-out loss of the base and of the new model (model kinds that measure it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out_loss: Option<(f64, f64)>,
    /// Seconds since the run began at the epoch's first `propose` event; stamped by the
    /// protocol log (0 where it did not see it).
    #[serde(default)]
    pub started_at: f64,
    /// Seconds since the run began at the epoch's publication; stamped likewise.
    #[serde(default)]
    pub published_at: f64,
}

/// Which collection of a [`super::protocol_log::ProtocolLog`] a peer's events go to (one per
/// simulation, one per joined node): the `run` field of its role span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RunId(pub u64);

/// The span a peer's role acts in.
pub fn role_span(run: RunId, peer: &str, role: Role) -> Span {
    let role = match role {
        Role::Proposer => "proposer",
        Role::Solver => "solver",
        Role::Coordinator => "coordinator",
        Role::Aggregator => "aggregator",
    };
    tracing::info_span!(target: TARGET, ROLE_SPAN, run = run.0, peer, role)
}

/// The span of the work on one epoch (inside the role span).
pub fn epoch_span(epoch: u64) -> Span {
    tracing::info_span!(target: TARGET, EPOCH_SPAN, epoch)
}

/// The span of the work on one task of `epoch`: an epoch span holding a task span.
pub fn task_span(epoch: u64, task: U256) -> Span {
    let parent = epoch_span(epoch);
    tracing::info_span!(target: TARGET, parent: &parent, TASK_SPAN, task = %task)
}

/// Emits a protocol event; `epoch` 0 is an event of no epoch (reward claims).
pub fn emit(phase: Phase, epoch: u64, text: impl fmt::Display) {
    tracing::info!(target: TARGET, event = phase.name(), epoch, "{text}");
}

/// Emits the `publish` event of an epoch the aggregator just published, with its record.
pub fn published(record: &EpochRecord, text: impl fmt::Display) {
    publish_event(record, false, text);
}

/// Emits the record of an epoch published before a restart (read back from the store).
pub fn restored(record: &EpochRecord) {
    publish_event(record, true, "epoch published before a restart");
}

/// The `publish` event with its record; `restored` marks bookkeeping after a restart, which
/// the protocol log files without a progress entry.
fn publish_event(record: &EpochRecord, restored: bool, text: impl fmt::Display) {
    let record_json = record_json(record);
    tracing::info!(
        target: TARGET,
        event = Phase::Publish.name(),
        epoch = record.epoch,
        model = %record.model_id,
        record = %record_json,
        restored,
        "{text}"
    );
}

fn record_json(record: &EpochRecord) -> String {
    // Plain data (strings, numbers, addresses): serialising it cannot fail.
    serde_json::to_string(record).unwrap_or_default()
}
