//! The network bridge: turns overlay events into actor messages and actor requests into overlay
//! calls.
//!
//! The bridge owns the receiving end of the overlay's event channel (shared behind a mutex so a
//! restarted bridge picks it up again) and forwards every [`NetworkEvent`] to its subscribers.
//! Gossip messages need a verdict before they are relayed: the bridge asks its validator actor
//! (with a timeout; no answer means `Ignore`) or, without one, accepts every well-formed envelope.

use std::sync::Arc;
use std::time::Duration;

use autonet_p2p::{Client, GossipTopic, InboundMessage, MessageAcceptance, NetworkEvent};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

/// How long the validator may take before a message is ignored.
pub const VALIDATION_TIMEOUT: Duration = Duration::from_secs(2);

/// A validator actor's request: judge this message.
#[derive(Debug)]
pub struct Validate(pub InboundMessage, pub RpcReplyPort<MessageAcceptance>);

/// Messages the bridge handles.
#[derive(Debug)]
pub enum BridgeMsg {
    /// An event from the overlay (sent by the bridge's own reader task).
    Network(NetworkEvent),
    /// Publish on a topic.
    Publish(GossipTopic, Vec<u8>, RpcReplyPort<Result<(), String>>),
    /// Add a subscriber for overlay events.
    Subscribe(ActorRef<NetworkEvent>),
}

/// What the bridge starts with.
#[derive(Debug)]
pub struct BridgeArgs {
    pub client: Client,
    pub events: Arc<Mutex<mpsc::Receiver<NetworkEvent>>>,
    pub validator: Option<ActorRef<Validate>>,
}

/// The bridge actor.
#[derive(Debug, Default)]
pub struct NetworkBridge;

/// Aborts the reader task when the bridge's state is dropped (stop, failure or panic).
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The bridge's state.
#[derive(Debug)]
pub struct BridgeState {
    client: Client,
    validator: Option<ActorRef<Validate>>,
    subscribers: Vec<ActorRef<NetworkEvent>>,
    _reader: AbortOnDrop,
}

impl Actor for NetworkBridge {
    type Msg = BridgeMsg;
    type State = BridgeState;
    type Arguments = BridgeArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<BridgeMsg>,
        args: BridgeArgs,
    ) -> Result<BridgeState, ActorProcessingErr> {
        let events = args.events.clone();
        let reader = tokio::spawn(async move {
            let mut events = events.lock().await;
            while let Some(event) = events.recv().await {
                if myself.cast(BridgeMsg::Network(event)).is_err() {
                    break;
                }
            }
        });
        Ok(BridgeState {
            client: args.client,
            validator: args.validator,
            subscribers: Vec::new(),
            _reader: AbortOnDrop(reader),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<BridgeMsg>,
        message: BridgeMsg,
        state: &mut BridgeState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            BridgeMsg::Network(event) => {
                if let NetworkEvent::Message(m) = &event {
                    let acceptance = judge(state.validator.as_ref(), m.clone()).await;
                    state
                        .client
                        .report_validation(m.id.clone(), m.propagation_source, acceptance)
                        .await?;
                    if !matches!(acceptance, MessageAcceptance::Accept) {
                        return Ok(());
                    }
                }
                state.subscribers.retain(|s| s.cast(event.clone()).is_ok());
            }
            BridgeMsg::Publish(topic, body, reply) => {
                let result = state.client.publish(topic, body).await;
                let _ = reply.send(result.map(|_| ()).map_err(|e| e.to_string()));
            }
            BridgeMsg::Subscribe(subscriber) => state.subscribers.push(subscriber),
        }
        Ok(())
    }
}

async fn judge(
    validator: Option<&ActorRef<Validate>>,
    message: InboundMessage,
) -> MessageAcceptance {
    let Some(validator) = validator else {
        return MessageAcceptance::Accept;
    };
    match validator
        .call(|reply| Validate(message, reply), Some(VALIDATION_TIMEOUT))
        .await
    {
        Ok(ractor::rpc::CallResult::Success(acceptance)) => acceptance,
        _ => MessageAcceptance::Ignore,
    }
}
