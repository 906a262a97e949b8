//! Where recorded traces go: the node's store (table `agents.traces`, id → signed trace, so
//! nothing recorded is lost on a crash) and, when one is set, a sink that announces them (gossip
//! in a node, the proposers' pool in `simulate`).

use std::sync::{Arc, Mutex};

use autonet_store::{Store, Table};
use tokio::sync::mpsc;

use crate::trace::SignedTrace;

const TRACES: Table = Table::new("agents.traces");

/// The node's recorded traces.
#[derive(Debug)]
pub struct TraceLog {
    store: Arc<Store>,
    sink: Mutex<Option<mpsc::UnboundedSender<SignedTrace>>>,
}

impl TraceLog {
    /// Traces kept in `store`.
    pub fn new(store: Arc<Store>) -> Self {
        TraceLog {
            store,
            sink: Mutex::new(None),
        }
    }

    /// Sends every trace recorded from now on to `sink` as well.
    pub fn set_sink(&self, sink: mpsc::UnboundedSender<SignedTrace>) {
        if let Ok(mut s) = self.sink.lock() {
            *s = Some(sink);
        }
    }

    /// Keeps a trace and hands it to the sink.
    pub fn keep(&self, trace: &SignedTrace) {
        if let Err(e) = self.store.put(TRACES, trace.id.as_bytes(), &trace.encode()) {
            tracing::warn!(trace = %trace.id, error = %e, "cannot keep a trace");
        }
        if let Ok(sink) = self.sink.lock()
            && let Some(tx) = sink.as_ref()
        {
            let _ = tx.send(trace.clone());
        }
    }

    /// Every kept trace (verified again on the way out: the store may have been edited).
    pub fn all(&self) -> Vec<SignedTrace> {
        self.store
            .scan(TRACES)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(_, v)| SignedTrace::decode(&v).ok())
            .collect()
    }
}
