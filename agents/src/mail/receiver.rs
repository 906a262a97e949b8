//! The receiving side of [`super::MAIL_SERVICE`]: open each envelope, penalize the peer that
//! delivered a bad one, deliver the rest locally and acknowledge only what is durably kept.

use std::sync::Arc;

use autonet_p2p::{InboundRpc, PeerAction, RpcResponse};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::envelope::open;
use super::mailer::{MailError, Shared, blocking};
use super::{MAIL_SERVICE, MailAck};
use crate::signed::to_cbor;

/// Registers the service and spawns the task that answers it.
pub(crate) async fn serve(shared: Arc<Shared>) -> Result<JoinHandle<()>, MailError> {
    let (tx, mut requests) = mpsc::channel::<InboundRpc>(64);
    let budget = Some(shared.config.budget);
    shared.client.serve_rpc(MAIL_SERVICE, tx, budget).await?;
    Ok(tokio::spawn(async move {
        while let Some(rpc) = requests.recv().await {
            let (ack, penalty) = receive(&shared, &rpc).await;
            let response = match to_cbor(&ack) {
                Ok(body) => RpcResponse::Ok { body },
                Err(reason) => RpcResponse::Error { reason },
            };
            // Answer first: a penalty that bans the peer closes its connection.
            let _ = shared.client.answer_rpc(rpc.id, response).await;
            if let Some(action) = penalty {
                let _ = shared.client.penalize(rpc.peer, action).await;
            }
        }
    }))
}

/// The answer to one envelope, and the penalty its deliverer earned.
async fn receive(shared: &Shared, rpc: &InboundRpc) -> (MailAck, Option<PeerAction>) {
    let message = match open(&rpc.body, &rpc.peer, &shared.me) {
        Ok(message) => message,
        Err(e) => {
            tracing::info!(peer = %rpc.peer, error = %e, "refused an agent-mail envelope");
            return (MailAck::Refused(e.to_string()), e.penalty());
        }
    };
    let local = shared.local.clone();
    let (id, target) = (message.id.clone(), message.target.clone());
    let ack = match blocking(move || local.deliver(message)).await {
        Ok(outcome) => MailAck::of(outcome),
        Err(e) => MailAck::Retry(e.to_string()),
    };
    tracing::debug!(peer = %rpc.peer, %id, %target, ?ack, "agent mail received");
    (ack, None)
}
