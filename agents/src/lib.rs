//! autonet's agent layer (ATN, issue 20), starting from its durable part: the inbox.
//!
//! Every agent has an inbox in the node's store ([`inbox::Inbox`]). Messages carry the
//! reference framework's kinds (trigger, work, info, alert) and priorities (low to urgent);
//! whether a message wakes an agent depends on the agent's status ([`wake::wakes`]).
//!
//! Where the prototype's inbox (reference §9.4) loses messages, this one does not: the
//! prototype's `drain` pops everything before the agent has handled it, so a crash mid-turn
//! loses the batch. Here an agent reads its pending messages and acknowledges them once handled
//! ([`inbox::Inbox::ack`]); until then they survive restarts and `kill -9` (the store commits
//! durably). Delivery to the agent is at least once, so messages carry ids and a redelivered id
//! is recognised and dropped at the door ([`inbox::Posted::Duplicate`]).

pub mod definition;
pub mod events;
pub mod inbox;
pub mod message;
pub mod tools;
pub mod wake;

pub use definition::{AgentDefinition, Mode, Step};
pub use events::{Event, EventBus, EventType};
pub use inbox::{Inbox, InboxError, Posted};
pub use message::{InboxMessage, MessageError, MessageKind, Priority};
pub use tools::{ToolBox, ToolError, ToolOutput, ToolSource, ToolSpec};
pub use wake::{AgentStatus, wakes};
