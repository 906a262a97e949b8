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
//!
//! Across peers ([`mail`]): agents are addressed `<peer-id>/<agent-id>` ([`addr`]); a message
//! travels in an envelope signed by the sending peer's identity key, waits in a durable outbox
//! until the receiver acknowledges that its inbox holds it, and is retried with backoff.
//! Agents are found by capability through the DHT ([`directory`], [`card`]), delegate work
//! with an A2A-style lifecycle ([`delegation`]) and carry owner-rooted lineages ([`lineage`]).

pub mod addr;
pub mod api;
pub mod builtin;
pub mod card;
pub mod definition;
pub mod delegation;
pub mod directory;
pub mod events;
pub mod inbox;
pub mod lineage;
pub mod mail;
pub mod mcp;
pub mod message;
pub mod runtime;
pub mod signed;
pub mod tools;
pub mod wake;

/// Traces (recorded runs) live in the protocol crate: proposers verify and draw from them.
pub use autonet_protocol::trace;

pub use addr::{AddrError, AgentAddr};
pub use builtin::{BuiltinTools, NodeApi};
pub use card::AgentCard;
pub use definition::{AgentDefinition, Mode, Step};
pub use delegation::{DelegationMessage, DelegationRequest, TaskState};
pub use directory::Directory;
pub use events::{Event, EventBus, EventType};
pub use inbox::{Inbox, InboxError, Posted};
pub use lineage::{Lineage, LineageProof};
pub use mail::{LocalDelivery, Mailer, MailerConfig};
pub use message::{InboxMessage, MessageError, MessageKind, Priority};
pub use tools::{ToolBox, ToolError, ToolOutput, ToolSource, ToolSpec};
pub use wake::{AgentStatus, wakes};
