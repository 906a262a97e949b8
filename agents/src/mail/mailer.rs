//! The [`Mailer`] handle: sends messages to local and remote agents, serves the mail service,
//! and owns the sender task.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autonet_p2p::{Client, Keypair, P2pError, PeerId, RequestBudget};
use autonet_store::Store;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::envelope::{EnvelopeError, seal};
use super::outbox::{Outbox, OutboxError};
use super::{LocalDelivery, receiver, sender};
use crate::addr::AgentAddr;
use crate::inbox::{InboxError, Posted};
use crate::message::InboxMessage;

/// Timing and limits of mail delivery.
#[derive(Debug, Clone)]
pub struct MailerConfig {
    /// First retry delay after a failed delivery.
    pub min_backoff: Duration,
    /// The longest delay between two attempts at one envelope.
    pub max_backoff: Duration,
    /// How long one delivery attempt may take before it counts as failed.
    pub attempt_timeout: Duration,
    /// Envelopes delivered at once by the sender task.
    pub parallel: usize,
    /// Each peer's request budget on [`super::MAIL_SERVICE`].
    pub budget: RequestBudget,
}

impl Default for MailerConfig {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(30),
            parallel: 16,
            budget: RequestBudget {
                burst: 64,
                per_second: 32,
            },
        }
    }
}

/// What [`Mailer::send`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// A local agent: the outcome of the local delivery.
    Local(Posted),
    /// A remote agent: kept in the outbox under this sequence number until acknowledged.
    Queued(u64),
}

/// Why a send failed (nothing was kept).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message cannot be sealed (bad message, local signing failure).
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The local delivery refused it.
    #[error(transparent)]
    Inbox(#[from] InboxError),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The overlay failed (serving the mail service).
    #[error(transparent)]
    P2p(#[from] P2pError),
    /// The key is not this node's identity.
    #[error("the mailer's key is for {key}, the overlay runs as {node}")]
    WrongKey {
        /// The key's peer.
        key: String,
        /// The node's peer.
        node: String,
    },
    /// A blocking store task was lost.
    #[error("a store task failed: {0}")]
    Task(String),
}

pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) key: Keypair,
    pub(crate) me: PeerId,
    pub(crate) local: Arc<dyn LocalDelivery>,
    pub(crate) outbox: Outbox,
    pub(crate) wake: Notify,
    /// Peers that connected since the sender last looked: their envelopes are due at once.
    pub(crate) reconnected: Mutex<Vec<PeerId>>,
    pub(crate) config: MailerConfig,
}

/// Sends mail for this node's agents. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    shared: Arc<Shared>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("peer", &self.shared.me)
            .finish_non_exhaustive()
    }
}

/// Runs store work on a blocking thread.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, MailError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| MailError::Task(e.to_string()))
}

impl Mailer {
    /// Starts mail on a running node: serves [`super::MAIL_SERVICE`] into `local`, and starts the
    /// sender task over the outbox in `store` (whatever a previous run left there is sent
    /// first). `key` must be the node's identity key (it signs the envelopes).
    pub async fn start(
        client: Client,
        key: Keypair,
        store: Arc<Store>,
        local: Arc<dyn LocalDelivery>,
        config: MailerConfig,
    ) -> Result<Self, MailError> {
        let me = key.public().to_peer_id();
        if me != client.peer_id() {
            return Err(MailError::WrongKey {
                key: me.to_string(),
                node: client.peer_id().to_string(),
            });
        }
        let shared = Arc::new(Shared {
            client,
            key,
            me,
            local,
            outbox: Outbox::new(store),
            wake: Notify::new(),
            reconnected: Mutex::new(Vec::new()),
            config,
        });
        let serving = receiver::serve(shared.clone()).await?;
        let sending = tokio::spawn(sender::run(shared.clone()));
        Ok(Self {
            shared,
            tasks: Arc::new(Mutex::new(vec![serving, sending])),
        })
    }

    /// This node's peer id (the peer part of its agents' addresses).
    pub fn peer_id(&self) -> PeerId {
        self.shared.me
    }

    /// The address of local agent `agent` as other peers see it.
    pub fn address_of(&self, agent: &str) -> Result<AgentAddr, crate::addr::AddrError> {
        AgentAddr::remote(self.shared.me, agent)
    }

    /// Sends `message` to `to`. Its target is set to `to`'s agent; its source must be a local
    /// agent id (or its full address), and is sent to remote peers as the full address. A local
    /// recipient gets it at once; a remote one through the outbox (durable when this returns).
    pub async fn send(&self, to: &AgentAddr, mut message: InboxMessage) -> Result<Sent, MailError> {
        message.target = to.agent.clone();
        if to.is_local_to(&self.shared.me) {
            message.check().map_err(InboxError::from)?;
            let local = self.shared.local.clone();
            let posted = blocking(move || local.deliver(message)).await??;
            return Ok(Sent::Local(posted));
        }
        let from = self.sender_addr(&message.source)?;
        message.source = from.to_string();
        let peer = to.peer.unwrap_or(self.shared.me);
        let envelope = seal(&self.shared.key, &from, to, &message)?;
        let outbox = self.shared.outbox.clone();
        let seq = blocking(move || outbox.push(peer, envelope)).await??;
        self.shared.wake.notify_one();
        Ok(Sent::Queued(seq))
    }

    /// [`Mailer::send`] on the calling thread (the store write included), for callers that are
    /// not async: the agent runtime's [`crate::runtime::Outbound`].
    pub fn send_now(&self, to: &AgentAddr, mut message: InboxMessage) -> Result<Sent, MailError> {
        message.target = to.agent.clone();
        if to.is_local_to(&self.shared.me) {
            message.check().map_err(InboxError::from)?;
            return Ok(Sent::Local(self.shared.local.deliver(message)?));
        }
        let from = self.sender_addr(&message.source)?;
        message.source = from.to_string();
        let peer = to.peer.unwrap_or(self.shared.me);
        let envelope = seal(&self.shared.key, &from, to, &message)?;
        let seq = self.shared.outbox.push(peer, envelope)?;
        self.shared.wake.notify_one();
        Ok(Sent::Queued(seq))
    }

    fn sender_addr(&self, source: &str) -> Result<AgentAddr, MailError> {
        let bad = |reason: String| {
            let m = crate::message::MessageError::BadName {
                field: "source",
                value: reason,
            };
            MailError::Inbox(InboxError::Message(m))
        };
        let addr: AgentAddr = source.parse().map_err(|_| bad(source.to_string()))?;
        if !addr.is_local_to(&self.shared.me) {
            return Err(bad(format!("{source} (not an agent of this peer)")));
        }
        Ok(addr.qualified(self.shared.me))
    }

    /// Tells the sender that `peer` connected: envelopes for it waiting out a backoff are sent
    /// now (a receiver that comes back after a crash gets its mail at once, not after the
    /// longest backoff).
    pub fn peer_connected(&self, peer: PeerId) {
        if let Ok(mut peers) = self.shared.reconnected.lock()
            && peers.len() < 1024
            && !peers.contains(&peer)
        {
            peers.push(peer);
        }
        self.shared.wake.notify_one();
    }

    /// Envelopes still waiting for their receivers' acknowledgement.
    pub async fn outbox_len(&self) -> Result<usize, MailError> {
        let outbox = self.shared.outbox.clone();
        Ok(blocking(move || outbox.len()).await??)
    }

    /// Stops serving and sending (the outbox stays in the store for the next start).
    pub async fn stop(&self) {
        let tasks: Vec<_> = match self.tasks.lock() {
            Ok(mut t) => t.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }
}

/// The runtime sends other peers' agents their mail (delegation requests and results, posted
/// messages) through the mailer: durable in the outbox once `send` returns.
impl crate::runtime::Outbound for Mailer {
    fn send(&self, to: &str, message: InboxMessage) -> Result<(), String> {
        let to: AgentAddr = to
            .parse()
            .map_err(|e: crate::addr::AddrError| e.to_string())?;
        self.send_now(&to, message)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
