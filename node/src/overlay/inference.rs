//! The inference service of an overlay node started with `--inference jepa`: it answers plan
//! requests ([`PLAN_SERVICE`]) with the plan of its own trained VL-JEPA.
//!
//! The encoder runs on a blocking thread (ONNX Runtime sessions are synchronous), one request
//! at a time. A request that does not decode or check out ([`PlanRequest::decode`]) is
//! answered with the reason and lowers the sender's score (three of them ban it); a failure
//! of our own is answered as an error without penalty.

use std::sync::{Arc, Mutex};

use autonet_models::jepa::params::Layout;
use autonet_models::jepa::{PLAN_SERVICE, Pipeline, PlanRequest, PlanResponse};
use autonet_p2p::{Client, InboundRpc, RpcResponse};

/// Shares one trained pipeline between requests.
#[derive(Clone)]
pub struct PlanServer {
    pipeline: Arc<Mutex<Pipeline>>,
    layout: Arc<Layout>,
    model: [u8; 32],
}

impl std::fmt::Debug for PlanServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanServer")
            .field("model", &hex::encode(self.model))
            .finish_non_exhaustive()
    }
}

/// Why a request was not answered with a plan.
enum Refusal {
    /// The sender's input was bad: answer, and penalise it.
    BadInput(String),
    /// Our failure: answer, no penalty.
    Internal(String),
}

impl PlanServer {
    /// Serves plans of `pipeline`'s encoder.
    pub fn new(pipeline: Pipeline) -> Self {
        PlanServer {
            layout: pipeline.vl.model.layout.clone(),
            model: pipeline.model_id(),
            pipeline: Arc::new(Mutex::new(pipeline)),
        }
    }

    /// Content id of the encoder parameters that answer.
    pub fn model_id(&self) -> [u8; 32] {
        self.model
    }

    /// Answers [`PLAN_SERVICE`] on `client` from now on, within the node's default per-peer
    /// request budget; each request on a task of its own (the encoder runs on a blocking thread,
    /// one request at a time).
    pub async fn serve(self, client: &Client) -> Result<(), autonet_p2p::P2pError> {
        let (tx, mut requests) = tokio::sync::mpsc::channel(64);
        client.serve_rpc(PLAN_SERVICE, tx, None).await?;
        let client = client.clone();
        tokio::spawn(async move {
            while let Some(rpc) = requests.recv().await {
                tokio::spawn(self.clone().handle(client.clone(), rpc));
            }
        });
        Ok(())
    }

    /// Answers one inbound request (spawn it: the encoder runs on a blocking thread).
    async fn handle(self, client: Client, rpc: InboundRpc) {
        let peer = rpc.peer;
        let server = self.clone();
        let outcome = tokio::task::spawn_blocking(move || server.answer(&rpc.body))
            .await
            .unwrap_or_else(|e| Err(Refusal::Internal(format!("plan task failed: {e}"))));
        let (response, penalty) = match outcome {
            Ok(body) => (RpcResponse::Ok { body }, false),
            Err(Refusal::BadInput(reason)) => {
                tracing::info!(%peer, %reason, "bad plan request");
                (RpcResponse::Error { reason }, true)
            }
            Err(Refusal::Internal(reason)) => {
                tracing::warn!(%peer, %reason, "cannot answer plan request");
                (RpcResponse::Error { reason }, false)
            }
        };
        // Answer first: the strike may ban the peer and close the connection.
        let _ = client.answer_rpc(rpc.id, response).await;
        if penalty {
            let _ = client
                .penalize(peer, autonet_p2p::PeerAction::Malformed)
                .await;
        }
    }

    fn answer(&self, body: &[u8]) -> Result<Vec<u8>, Refusal> {
        // Serving inference is an action the constitution checks before it runs.
        let action = autonet_actors::protocol::constitution::Action::new(
            autonet_actors::protocol::constitution::ActionKind::ServeInference,
            format!("serve a jepa plan of model {}", hex::encode(self.model)),
        );
        crate::constitution::check(&action).map_err(|e| Refusal::Internal(e.to_string()))?;
        let request = PlanRequest::decode(body, &self.layout)
            .map_err(|e| Refusal::BadInput(e.to_string()))?;
        let mut pipeline = self
            .pipeline
            .lock()
            .map_err(|_| Refusal::Internal("the model is unusable after a panic".to_string()))?;
        let plan = pipeline
            .plan_for(&request)
            .map_err(|e| Refusal::Internal(e.to_string()))?;
        Ok(PlanResponse::new(self.model, plan).encode())
    }
}
