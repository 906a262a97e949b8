//! The runtime's event bus (reference §9.2): every lifecycle change of an agent, execution,
//! step, message, schedule and delegation is an [`Event`] published here; the WebSocket API
//! pushes them, `autonet agents` prints them, tests wait on them.
//!
//! The bus is a bounded broadcast: a subscriber that falls behind loses the oldest events (it
//! is told how many) instead of slowing the agents down.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Events the bus carries (the reference's names; the `delegate.*` and `tool.*` values beyond
/// the reference's three are this runtime's choice, documented on each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// The runtime started.
    #[serde(rename = "runtime.started")]
    RuntimeStarted,
    /// The runtime stopped.
    #[serde(rename = "runtime.stopped")]
    RuntimeStopped,
    /// An agent definition was added.
    #[serde(rename = "agent.registered")]
    AgentRegistered,
    /// An agent was removed.
    #[serde(rename = "agent.unregistered")]
    AgentUnregistered,
    /// An agent became active (its schedule and inbox triggers run it).
    #[serde(rename = "agent.activated")]
    AgentActivated,
    /// An agent was deactivated.
    #[serde(rename = "agent.deactivated")]
    AgentDeactivated,
    /// The supervisor restarted a failed agent actor.
    #[serde(rename = "agent.restarted")]
    AgentRestarted,
    /// A run was asked for and waits for a free slot.
    #[serde(rename = "execution.queued")]
    ExecutionQueued,
    /// A run started.
    #[serde(rename = "execution.started")]
    ExecutionStarted,
    /// A run ended with an output.
    #[serde(rename = "execution.completed")]
    ExecutionCompleted,
    /// A run ended in an error.
    #[serde(rename = "execution.failed")]
    ExecutionFailed,
    /// A run was killed.
    #[serde(rename = "execution.killed")]
    ExecutionKilled,
    /// A step started.
    #[serde(rename = "step.started")]
    StepStarted,
    /// A step ended.
    #[serde(rename = "step.completed")]
    StepCompleted,
    /// A step failed.
    #[serde(rename = "step.failed")]
    StepFailed,
    /// A step was killed.
    #[serde(rename = "step.killed")]
    StepKilled,
    /// A piece of a step's streamed output (model text as it is generated).
    #[serde(rename = "step.output")]
    StepOutput,
    /// A message was put in an inbox.
    #[serde(rename = "message.posted")]
    MessagePosted,
    /// An agent read (and acknowledged) its inbox.
    #[serde(rename = "message.drained")]
    MessageDrained,
    /// A schedule ran an agent.
    #[serde(rename = "schedule.triggered")]
    ScheduleTriggered,
    /// Work was handed to a child or a remote agent (A2A state `submitted`).
    #[serde(rename = "delegate.spawned")]
    DelegateSpawned,
    /// The delegate is working on it (A2A `working`).
    #[serde(rename = "delegate.running")]
    DelegateRunning,
    /// The delegate finished (A2A `completed`).
    #[serde(rename = "delegate.completed")]
    DelegateCompleted,
    /// The delegate failed (A2A `failed`).
    #[serde(rename = "delegate.failed")]
    DelegateFailed,
    /// The delegation was canceled (A2A `canceled`).
    #[serde(rename = "delegate.canceled")]
    DelegateCanceled,
    /// The delegate needs input (A2A `input-required`).
    #[serde(rename = "delegate.input_required")]
    DelegateInputRequired,
    /// A delegation was refused (depth, children or budget limit, unknown agent, bad lineage).
    #[serde(rename = "delegate.refused")]
    DelegateRefused,
    /// An action was refused by the constitution or a budget (the reason names the rule).
    #[serde(rename = "action.refused")]
    ActionRefused,
    /// An agent's turn was recorded as a training trace.
    #[serde(rename = "trace.recorded")]
    TraceRecorded,
}

impl EventType {
    /// The reference's dotted name.
    pub fn as_str(self) -> &'static str {
        EVENT_NAMES
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }
}

const EVENT_NAMES: &[(EventType, &str)] = &[
    (EventType::RuntimeStarted, "runtime.started"),
    (EventType::RuntimeStopped, "runtime.stopped"),
    (EventType::AgentRegistered, "agent.registered"),
    (EventType::AgentUnregistered, "agent.unregistered"),
    (EventType::AgentActivated, "agent.activated"),
    (EventType::AgentDeactivated, "agent.deactivated"),
    (EventType::AgentRestarted, "agent.restarted"),
    (EventType::ExecutionQueued, "execution.queued"),
    (EventType::ExecutionStarted, "execution.started"),
    (EventType::ExecutionCompleted, "execution.completed"),
    (EventType::ExecutionFailed, "execution.failed"),
    (EventType::ExecutionKilled, "execution.killed"),
    (EventType::StepStarted, "step.started"),
    (EventType::StepCompleted, "step.completed"),
    (EventType::StepFailed, "step.failed"),
    (EventType::StepKilled, "step.killed"),
    (EventType::StepOutput, "step.output"),
    (EventType::MessagePosted, "message.posted"),
    (EventType::MessageDrained, "message.drained"),
    (EventType::ScheduleTriggered, "schedule.triggered"),
    (EventType::DelegateSpawned, "delegate.spawned"),
    (EventType::DelegateRunning, "delegate.running"),
    (EventType::DelegateCompleted, "delegate.completed"),
    (EventType::DelegateFailed, "delegate.failed"),
    (EventType::DelegateCanceled, "delegate.canceled"),
    (EventType::DelegateInputRequired, "delegate.input_required"),
    (EventType::DelegateRefused, "delegate.refused"),
    (EventType::ActionRefused, "action.refused"),
    (EventType::TraceRecorded, "trace.recorded"),
];

/// One event (reference: {type, source, data, timestamp, id}).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique per bus (a counter).
    pub id: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Who it happened to (an agent id, `runtime`).
    pub source: String,
    /// Details (execution id, step name, status, output preview, error).
    pub data: serde_json::Value,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The bus: cloneable, publish never blocks.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(4096)
    }
}

impl EventBus {
    /// A bus keeping at most `capacity` events for a slow subscriber.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        EventBus {
            sender,
            next: Default::default(),
        }
    }

    /// Publishes an event (dropped if nobody listens) and logs it as a tracing event.
    pub fn publish(&self, event_type: EventType, source: &str, data: serde_json::Value) -> Event {
        let event = Event {
            id: self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            event_type,
            source: source.to_string(),
            data,
            timestamp_ms: now_ms(),
        };
        tracing::debug!(target: "autonet::agents", event = event_type.as_str(), source, data = %event.data);
        let _ = self.sender.send(event.clone());
        event
    }

    /// A new subscriber, seeing events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for (t, n) in EVENT_NAMES {
            assert_eq!(serde_json::to_value(t).ok(), Some(serde_json::json!(n)));
            assert_eq!(t.as_str(), *n);
        }
    }
}
