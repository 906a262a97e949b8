//! Agent definitions and activation kept in the store (tables `agents.definitions`: id →
//! definition JSON, and `agents.active`: id → 1), so a restarted node restores its agents
//! ([`super::Runtime::restore`]).

use std::collections::BTreeSet;

use autonet_store::{StoreError, Table};

use super::Shared;
use crate::definition::AgentDefinition;

const DEFINITIONS: Table = Table::new("agents.definitions");
const ACTIVE: Table = Table::new("agents.active");

pub(crate) fn keep(shared: &Shared, def: &AgentDefinition) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(def).unwrap_or_default();
    shared
        .inbox
        .store()
        .put(DEFINITIONS, def.id.as_bytes(), &bytes)
}

pub(crate) fn set_active(shared: &Shared, id: &str, active: bool) {
    let store = shared.inbox.store();
    let result = if active {
        store.put(ACTIVE, id.as_bytes(), b"1")
    } else {
        store.remove(ACTIVE, id.as_bytes())
    };
    if let Err(e) = result {
        tracing::warn!(agent = %id, error = %e, "cannot keep the agent's activation");
    }
}

pub(crate) fn forget(shared: &Shared, id: &str) {
    let store = shared.inbox.store();
    let _ = store.remove(DEFINITIONS, id.as_bytes());
    let _ = store.remove(ACTIVE, id.as_bytes());
}

/// The kept definitions (unreadable or invalid ones skipped, with a warning) and the active ids.
pub(crate) fn load(shared: &Shared) -> (Vec<AgentDefinition>, BTreeSet<String>) {
    let store = shared.inbox.store();
    let defs = store
        .scan(DEFINITIONS)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| {
            let parsed = serde_json::from_slice(&v).map_err(|e| e.to_string()).and_then(|v| AgentDefinition::from_json(v).map_err(|e| e.to_string()));
            match parsed {
                Ok(def) => Some(def),
                Err(e) => {
                    tracing::warn!(key = %String::from_utf8_lossy(&k), error = %e, "a kept agent definition is unreadable");
                    None
                }
            }
        })
        .collect();
    let active = store
        .scan(ACTIVE)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
        .collect();
    (defs, active)
}
