//! The sender task: delivers outbox entries over [`super::MAIL_SERVICE`], each with its own
//! exponential backoff (with jitter), and removes an entry only on an acknowledgement.
//!
//! Backoff state lives in memory: after a restart every entry is tried at once, then backs off
//! again. An entry the receiver refuses for good is removed and reported to the sending agent
//! as an alert in its own inbox.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use autonet_p2p::RpcResponse;
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::time::Instant;

use super::envelope::EnvelopeBody;
use super::mailer::{Shared, blocking};
use super::outbox::Entry;
use super::{MAIL_SERVICE, MailAck};
use crate::message::{InboxMessage, MessageKind, Priority};
use crate::signed::{Signed, from_cbor};

/// How an attempt ended.
enum Outcome {
    /// Acknowledged (delivered or a duplicate): remove.
    Done,
    /// Refused for good: remove and tell the sender.
    Refused(String),
    /// Try again later.
    Again(String),
}

struct Backoff {
    next_at: Instant,
    delays: ExponentialBackoff,
}

/// Runs until aborted.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut backoffs: HashMap<u64, Backoff> = HashMap::new();
    loop {
        let outbox = shared.outbox.clone();
        let pending = match blocking(move || outbox.pending()).await {
            Ok(Ok(pending)) => pending,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the agent-mail outbox");
                Vec::new()
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the agent-mail outbox");
                Vec::new()
            }
        };
        let now = Instant::now();
        backoffs.retain(|seq, _| pending.iter().any(|(s, _)| s == seq));
        let reconnected: Vec<_> = shared
            .reconnected
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        if !reconnected.is_empty() {
            for (seq, entry) in &pending {
                if let Ok(entry) = entry
                    && entry.peer_id().is_some_and(|p| reconnected.contains(&p))
                {
                    backoffs.remove(seq);
                }
            }
        }
        let mut due = Vec::new();
        let mut more = false;
        for (seq, entry) in pending {
            if due.len() >= shared.config.parallel {
                more = true;
                break;
            }
            match entry {
                Ok(entry) if backoffs.get(&seq).is_none_or(|b| b.next_at <= now) => {
                    due.push((seq, entry));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(seq, error = %e, "dropping an unreadable outbox entry");
                    forget(&shared, seq).await;
                }
            }
        }
        let attempts = due.into_iter().map(|(seq, entry)| {
            let shared = shared.clone();
            async move { (seq, attempt(&shared, &entry).await, entry) }
        });
        for (seq, outcome, entry) in futures::future::join_all(attempts).await {
            match outcome {
                Outcome::Done => {
                    backoffs.remove(&seq);
                    forget(&shared, seq).await;
                }
                Outcome::Refused(reason) => {
                    tracing::warn!(seq, %reason, "agent mail refused for good");
                    backoffs.remove(&seq);
                    bounce(&shared, &entry, &reason).await;
                    forget(&shared, seq).await;
                }
                Outcome::Again(reason) => {
                    tracing::debug!(seq, %reason, "agent mail not delivered yet");
                    let b = backoffs.entry(seq).or_insert_with(|| Backoff {
                        next_at: now,
                        delays: ExponentialBuilder::new()
                            .with_min_delay(shared.config.min_backoff)
                            .with_max_delay(shared.config.max_backoff)
                            .with_jitter()
                            .without_max_times()
                            .build(),
                    });
                    let delay = b.delays.next().unwrap_or(shared.config.max_backoff);
                    b.next_at = Instant::now() + delay;
                }
            }
        }
        if more {
            continue;
        }
        // Sleep until the next entry is due or a new one is sent.
        let next = backoffs.values().map(|b| b.next_at).min();
        let idle = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            () = shared.wake.notified() => {}
            () = tokio::time::sleep_until(next.unwrap_or(idle)) => {}
        }
    }
}

async fn attempt(shared: &Shared, entry: &Entry) -> Outcome {
    let Some(peer) = entry.peer_id() else {
        return Outcome::Refused("the outbox entry names no peer".into());
    };
    let call = shared
        .client
        .rpc(peer, MAIL_SERVICE, entry.envelope.clone());
    let response = match tokio::time::timeout(shared.config.attempt_timeout, call).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Outcome::Again(e.to_string()),
        Err(_) => return Outcome::Again("timed out".into()),
    };
    match response {
        RpcResponse::Ok { body } => match from_cbor::<MailAck>(&body) {
            Ok(MailAck::Delivered | MailAck::Duplicate) => Outcome::Done,
            Ok(MailAck::Refused(reason)) => Outcome::Refused(reason),
            Ok(MailAck::Retry(reason)) => Outcome::Again(reason),
            Err(e) => Outcome::Again(format!("unreadable acknowledgement: {e}")),
        },
        other => Outcome::Again(format!("{other:?}")),
    }
}

async fn forget(shared: &Shared, seq: u64) {
    let outbox = shared.outbox.clone();
    if let Ok(Err(e)) = blocking(move || outbox.remove(seq)).await {
        tracing::warn!(seq, error = %e, "cannot remove an outbox entry");
    }
}

/// Tells the sending agent that its message was refused for good.
async fn bounce(shared: &Shared, entry: &Entry, reason: &str) {
    let Some(message) = sealed_message(entry) else {
        return;
    };
    let Some((_, agent)) = message.source.split_once('/') else {
        return;
    };
    let alert = InboxMessage {
        id: format!("bounce-{}", message.id).chars().take(64).collect(),
        source: "mailer".into(),
        target: agent.to_string(),
        kind: MessageKind::Alert,
        priority: Priority::Normal,
        data: serde_json::json!({
            "undeliverable": message.id,
            "to": message.target,
            "reason": reason.chars().take(512).collect::<String>(),
        }),
        timestamp_ms: message.timestamp_ms,
    };
    let local = shared.local.clone();
    if let Ok(Err(e)) = blocking(move || local.deliver(alert)).await {
        tracing::warn!(error = %e, "cannot tell an agent its mail bounced");
    }
}

/// The message inside an envelope this node sealed.
fn sealed_message(entry: &Entry) -> Option<InboxMessage> {
    let signed: Signed = from_cbor(&entry.envelope).ok()?;
    let body: EnvelopeBody = from_cbor(&signed.body).ok()?;
    InboxMessage::decode(&body.message).ok()
}
