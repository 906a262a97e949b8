//! Mail between agents on different peers: signed envelopes, a durable outbox, delivery at
//! least once over the RPC service [`MAIL_SERVICE`], deduplicated by the receiver's inbox.
//!
//! - [`envelope`]: the signed envelope and the receiver's checks (every refusal penalizes the
//!   delivering peer);
//! - [`outbox`]: envelopes kept in the node's store until their receiver acknowledges them;
//! - [`Mailer`]: the handle agents send with (a local agent's message goes straight to the
//!   local inbox, a remote one through the outbox); it serves [`MAIL_SERVICE`] and runs the
//!   sender task that retries with exponential backoff.
//!
//! The guarantee: once [`Mailer::send`] returns, the message reaches the receiving agent's
//! inbox at least once, across crashes of either side (`kill -9` included), as long as the
//! receiver comes back; the receiver's inbox recognises a repeat by message id and answers it
//! as delivered, so the agent sees it once. A receiver that refuses a message for good (it can
//! never be accepted) is reported to the sending agent by an alert in its own inbox.

pub mod envelope;
mod mailer;
pub mod outbox;
mod receiver;
mod sender;

use serde::{Deserialize, Serialize};

use crate::inbox::{Inbox, InboxError, Posted};
use crate::message::InboxMessage;

pub use mailer::{MailError, Mailer, MailerConfig, Sent};

/// The RPC service mail is delivered over; the request body is a sealed envelope, the answer a
/// CBOR [`MailAck`].
pub const MAIL_SERVICE: &str = "agent-mail/1";

/// Where the receiver puts a message that passed the envelope checks: the local inbox, or the
/// agent runtime (which also wakes the agent). Called from a blocking thread.
pub trait LocalDelivery: Send + Sync + 'static {
    /// Keeps `message` for its target durably (or recognises its id as already kept).
    fn deliver(&self, message: InboxMessage) -> Result<Posted, InboxError>;
}

impl LocalDelivery for Inbox {
    fn deliver(&self, message: InboxMessage) -> Result<Posted, InboxError> {
        self.post(&message)
    }
}

/// The receiver's answer to one envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailAck {
    /// The receiving inbox durably holds the message now.
    Delivered,
    /// It already held a message with this id (a redelivery): as good as delivered.
    Duplicate,
    /// Not kept this time (inbox full, store error): send again later.
    Retry(String),
    /// Never acceptable (a bad envelope or message): sending again cannot help.
    Refused(String),
}

impl MailAck {
    /// The answer for a delivery outcome.
    pub(crate) fn of(outcome: Result<Posted, InboxError>) -> Self {
        match outcome {
            Ok(Posted::New(_)) => MailAck::Delivered,
            Ok(Posted::Duplicate) => MailAck::Duplicate,
            Err(InboxError::Message(e)) => MailAck::Refused(e.to_string()),
            Err(e) => MailAck::Retry(e.to_string()),
        }
    }
}
