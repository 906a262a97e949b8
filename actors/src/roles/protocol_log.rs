//! The protocol log: a `tracing_subscriber` layer that collects the protocol events
//! ([`super::events`]) of each run — a simulation (many peers in one process) or a joined node —
//! into what progress lines, the status endpoint and the simulation report read: the events in
//! order, and the epochs published. A peer's events belong to the run named by the `run` field
//! of its role span; the peer, role, epoch and task come from the event and its spans.
//!
//! Install it once with the process's subscriber (filtered with [`ProtocolLog::filter`], so the
//! log level chosen for output never hides protocol events from it), then start a
//! [`RunLog`] per run with [`ProtocolLog::begin_run`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::events::{EpochRecord, Phase, RunId, TARGET};

/// One protocol event of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Seconds since the run began.
    pub at: f64,
    /// Name of the peer that emitted the event.
    pub peer: String,
    /// Its role (`solver`, `aggregator`, …).
    pub role: String,
    /// Epoch the event belongs to.
    pub epoch: u64,
    /// The task the event is about, where it ran in a task span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Which protocol step it reports.
    pub phase: Phase,
    /// The event's message.
    pub text: String,
}

/// The one progress-line format of every conductor and peer (`simulate`, `testnet drive`,
/// `join --role`): `[   4.3s] epoch 1 aggregate aggregator-1   task 1: …`.
pub fn progress_line(
    at: f64,
    epoch: u64,
    phase: impl fmt::Display,
    peer: &str,
    text: &str,
) -> String {
    format!("[{at:>6.1}s] epoch {epoch} {phase:<9} {peer:<14} {text}")
}

impl Entry {
    /// This event as a progress line.
    pub fn progress_line(&self) -> String {
        progress_line(self.at, self.epoch, self.phase, &self.peer, &self.text)
    }
}

#[derive(Debug)]
struct Run {
    start: Instant,
    entries: Vec<Entry>,
    epochs: Vec<EpochRecord>,
}

#[derive(Debug, Default)]
struct Runs {
    next: u64,
    /// Weak: a run's events are kept while its [`RunLog`] lives.
    live: BTreeMap<u64, Weak<Mutex<Run>>>,
}

/// The layer. Clones share the runs.
#[derive(Debug, Clone, Default)]
pub struct ProtocolLog {
    runs: Arc<Mutex<Runs>>,
}

/// One run's share of the protocol log (clones share it).
#[derive(Debug, Clone)]
pub struct RunLog {
    id: RunId,
    run: Arc<Mutex<Run>>,
}

impl ProtocolLog {
    /// A layer with no runs; [`ProtocolLog::begin_run`] starts one.
    pub fn new() -> Self {
        ProtocolLog::default()
    }

    /// What this layer must see: the protocol target at INFO, whatever the output's filter.
    pub fn filter() -> Targets {
        Targets::new().with_target(TARGET, tracing::Level::INFO)
    }

    /// The protocol log installed in the current subscriber, if any.
    pub fn installed() -> Option<ProtocolLog> {
        tracing::dispatcher::get_default(|d| d.downcast_ref::<ProtocolLog>().cloned())
    }

    /// Starts collecting a new run; its peers' role spans carry [`RunLog::id`].
    pub fn begin_run(&self) -> RunLog {
        let run = Arc::new(Mutex::new(Run {
            start: Instant::now(),
            entries: Vec::new(),
            epochs: Vec::new(),
        }));
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        runs.next += 1;
        let id = runs.next;
        // Forget runs that ended.
        runs.live.retain(|_, r| r.strong_count() > 0);
        runs.live.insert(id, Arc::downgrade(&run));
        RunLog { id: RunId(id), run }
    }

    fn run(&self, id: u64) -> Option<Arc<Mutex<Run>>> {
        let runs = self.runs.lock().ok()?;
        runs.live.get(&id).and_then(Weak::upgrade)
    }
}

impl RunLog {
    /// The id its peers' role spans carry in their `run` field.
    pub fn id(&self) -> RunId {
        self.id
    }

    fn with<T: Default>(&self, f: impl FnOnce(&Run) -> T) -> T {
        self.run.lock().map(|r| f(&r)).unwrap_or_default()
    }

    /// Seconds since the run began.
    pub fn now(&self) -> f64 {
        self.with(|r| r.start.elapsed().as_secs_f64())
    }

    /// Events from index `from` on.
    pub fn entries_since(&self, from: usize) -> Vec<Entry> {
        self.with(|r| r.entries.get(from..).map(<[Entry]>::to_vec))
            .unwrap_or_default()
    }

    /// The newest event, if any.
    pub fn last(&self) -> Option<Entry> {
        self.with(|r| r.entries.last().cloned())
    }

    /// Published epochs, in order.
    pub fn epochs(&self) -> Vec<EpochRecord> {
        let mut v = self.with(|r| r.epochs.clone());
        v.sort_by_key(|e| e.epoch);
        v
    }
}

impl Run {
    fn add(&mut self, e: Collected, entry: Entry) {
        if let Some(json) = e.record
            && let Ok(mut record) = serde_json::from_str::<EpochRecord>(&json)
            && !self.epochs.iter().any(|r| r.epoch == record.epoch)
        {
            if !e.restored {
                record.started_at = self
                    .entries
                    .iter()
                    .find(|x| x.epoch == record.epoch && x.phase == Phase::Propose)
                    .map(|x| x.at)
                    .unwrap_or_default();
                record.published_at = entry.at;
            }
            self.epochs.push(record);
        }
        // A restored record is bookkeeping, not something the peer did now.
        if !e.restored {
            self.entries.push(entry);
        }
    }
}

/// The fields of a protocol span or event that the log reads.
#[derive(Debug, Default, Clone)]
struct Collected {
    run: Option<u64>,
    peer: Option<String>,
    role: Option<String>,
    epoch: Option<u64>,
    task: Option<String>,
    event: Option<String>,
    message: Option<String>,
    record: Option<String>,
    restored: bool,
}

impl Collected {
    /// Fills what this one lacks from an enclosing span's fields.
    fn inherit(&mut self, outer: &Collected) {
        self.run = self.run.or(outer.run);
        self.epoch = self.epoch.or(outer.epoch);
        for (mine, theirs) in [
            (&mut self.peer, &outer.peer),
            (&mut self.role, &outer.role),
            (&mut self.task, &outer.task),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }

    fn set_text(&mut self, field: &Field, value: String) {
        match field.name() {
            "peer" => self.peer = Some(value),
            "role" => self.role = Some(value),
            "task" => self.task = Some(value),
            "event" => self.event = Some(value),
            "message" => self.message = Some(value),
            "record" => self.record = Some(value),
            _ => {}
        }
    }
}

impl Visit for Collected {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "run" => self.run = Some(value),
            "epoch" => self.epoch = Some(value),
            _ => {}
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "restored" {
            self.restored = value;
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.set_text(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set_text(field, format!("{value:?}"));
    }
}

impl<S> Layer<S> for ProtocolLog
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().target() != TARGET {
            return;
        }
        let mut fields = Collected::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Collected>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut e = Collected::default();
        event.record(&mut e);
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(outer) = span.extensions().get::<Collected>() {
                    e.inherit(outer);
                }
            }
        }
        let (Some(run_id), Some(phase)) = (e.run, e.event.as_deref().and_then(Phase::parse)) else {
            return;
        };
        let Some(run) = self.run(run_id) else {
            return;
        };
        let Ok(mut run) = run.lock() else {
            return;
        };
        let entry = Entry {
            at: run.start.elapsed().as_secs_f64(),
            peer: e.peer.clone().unwrap_or_default(),
            role: e.role.clone().unwrap_or_default(),
            epoch: e.epoch.unwrap_or_default(),
            task: e.task.clone(),
            phase,
            text: e.message.clone().unwrap_or_default(),
        };
        run.add(e, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::events::{self, Phase};
    use alloy::primitives::U256;
    use autonet_contracts::Role;
    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;

    fn record(epoch: u64) -> EpochRecord {
        EpochRecord {
            epoch,
            task: "7".into(),
            model_id: "ab".repeat(32),
            mint_root: "cd".repeat(32),
            accepted: Vec::new(),
            mint_agents: 2,
            root_scores: Vec::new(),
            novelty: Vec::new(),
            held_out_loss: None,
            started_at: 0.0,
            published_at: 0.0,
        }
    }

    #[test]
    fn events_go_to_their_runs_with_span_fields_whatever_the_output_level() {
        // The output layer's level hides INFO; the protocol log still sees its target.
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::sink)
                    .with_filter(tracing_subscriber::filter::LevelFilter::WARN),
            )
            .with(ProtocolLog::new().with_filter(ProtocolLog::filter()));
        two_runs(subscriber);
    }

    /// Emits events of two runs under `subscriber` and checks what each collected.
    fn two_runs<S>(subscriber: S)
    where
        S: Subscriber + Send + Sync + 'static,
    {
        let dispatch = tracing::Dispatch::new(subscriber);
        tracing::dispatcher::with_default(&dispatch, || {
            let log = ProtocolLog::installed().expect("installed");
            let (a, b) = (log.begin_run(), log.begin_run());
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            runtime.block_on(
                async {
                    events::emit(Phase::Propose, 1, "task 7 created");
                    async { events::emit(Phase::Commit, 1, "committed") }
                        .instrument(events::task_span(1, U256::from(7)))
                        .await;
                    events::published(&record(1), "model ab");
                    events::restored(&record(1));
                }
                .instrument(events::role_span(a.id(), "solver-1", Role::Solver)),
            );
            events::emit(Phase::Vote, 2, "voted");
            let _g = events::role_span(b.id(), "coordinator-1", Role::Coordinator).entered();
            events::emit(Phase::Vote, 2, "voted");
            events::restored(&record(2));
            let got: Vec<(Phase, String, Option<String>)> = a
                .entries_since(0)
                .into_iter()
                .map(|e| (e.phase, e.peer, e.task))
                .collect();
            assert_eq!(
                got,
                vec![
                    (Phase::Propose, "solver-1".to_string(), None),
                    (Phase::Commit, "solver-1".to_string(), Some("7".to_string())),
                    (Phase::Publish, "solver-1".to_string(), None),
                ]
            );
            let epochs = a.epochs();
            assert_eq!(epochs.len(), 1);
            assert!(epochs[0].published_at >= epochs[0].started_at);
            let other = b.entries_since(0);
            assert_eq!(other.len(), 1);
            assert_eq!((other[0].role.as_str(), other[0].epoch), ("coordinator", 2));
            assert_eq!(
                b.epochs().len(),
                1,
                "a restored record counts, without an entry"
            );
        });
    }
}
