//! The slow path of `autonet infer --model jepa`: ask inference peers (`--peer MULTIADDR`) for
//! an updated plan over the overlay's RPC protocol.
//!
//! A short-lived overlay node with a fresh key (the asker needs no identity) dials each peer in
//! the order given and sends a [`PlanRequest`]; the first well-formed [`PlanResponse`] answers.
//! Every failure (unreachable, refused, malformed answer, timeout) is kept with its reason, so
//! `infer` can say why the fast path answered instead.

use std::time::Duration;

use anyhow::Context;
use autonet_models::jepa::manifest::Config;
use autonet_models::jepa::{PLAN_SERVICE, PlanRequest, PlanResponse, PlanSource};
use autonet_p2p::{Client, DhtMode, Keypair, Multiaddr, NetworkConfig, PeerId, RpcResponse};
use prometheus_client::registry::Registry;

/// How long one peer gets to answer (dial, request, response).
pub const PEER_DEADLINE: Duration = Duration::from_secs(60);

/// The peer that answered a plan request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// Its peer id.
    pub peer: PeerId,
    /// Content id of the encoder parameters that made the plan.
    pub model: [u8; 32],
}

/// Inference peers reached over the overlay.
pub struct OverlayPlans {
    runtime: tokio::runtime::Runtime,
    client: Client,
    peers: Vec<(PeerId, Multiaddr)>,
    config: Config,
    /// Which peer answered the last request, if any.
    pub answered: Option<Answered>,
    /// Why each peer asked so far did not answer.
    pub failures: Vec<String>,
}

impl std::fmt::Debug for OverlayPlans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverlayPlans")
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

impl OverlayPlans {
    /// Starts the asking node. Each address must end in `/p2p/<peer id>`; plans must hold
    /// `config.latents × config.dim` values.
    pub fn start(addrs: &[Multiaddr], config: Config) -> anyhow::Result<Self> {
        let mut peers = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let peer = autonet_p2p::peer_id_of(addr)
                .with_context(|| format!("--peer {addr} has no /p2p/<peer id> suffix"))?;
            peers.push((peer, addr.clone()));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let mut network = NetworkConfig::new(Keypair::generate_ed25519());
        network.dht_mode = DhtMode::Client;
        network.topics = Vec::new();
        network.rpc_timeout = PEER_DEADLINE;
        let client = runtime.block_on(async {
            let (client, mut events, event_loop) =
                autonet_p2p::new(network, &mut Registry::default())?;
            tokio::spawn(event_loop.run());
            // The asker serves nothing; drain its events so the loop never waits on them.
            tokio::spawn(async move { while events.recv().await.is_some() {} });
            anyhow::Ok(client)
        })?;
        Ok(OverlayPlans {
            runtime,
            client,
            peers,
            config,
            answered: None,
            failures: Vec::new(),
        })
    }

    /// Closes the asking node's connections.
    pub fn shutdown(self) {
        let client = self.client.clone();
        let _ = self.runtime.block_on(async move {
            tokio::time::timeout(Duration::from_secs(3), client.shutdown()).await
        });
    }
}

async fn ask(
    client: &Client,
    peer: PeerId,
    addr: &Multiaddr,
    body: Vec<u8>,
    config: &Config,
) -> anyhow::Result<PlanResponse> {
    client.dial(addr.clone()).await?;
    match client.rpc(peer, PLAN_SERVICE, body).await? {
        RpcResponse::Ok { body } => Ok(PlanResponse::decode(&body, config)?),
        RpcResponse::Error { reason } => anyhow::bail!("refused: {reason}"),
        RpcResponse::Unavailable { reason } => anyhow::bail!("unavailable: {reason}"),
        RpcResponse::RateLimited => anyhow::bail!("rate limited"),
    }
}

impl PlanSource for OverlayPlans {
    fn plan(&mut self, request: &PlanRequest) -> Option<Vec<f32>> {
        self.answered = None;
        let body = request.encode();
        for (peer, addr) in &self.peers {
            // The timer must be created inside the runtime.
            let outcome = self.runtime.block_on(async {
                tokio::time::timeout(
                    PEER_DEADLINE,
                    ask(&self.client, *peer, addr, body.clone(), &self.config),
                )
                .await
            });
            match outcome {
                Ok(Ok(response)) => {
                    let mut model = [0u8; 32];
                    model.copy_from_slice(&response.model);
                    self.answered = Some(Answered { peer: *peer, model });
                    return Some(response.plan);
                }
                Ok(Err(err)) => self.failures.push(format!("{peer}: {err:#}")),
                Err(_) => self
                    .failures
                    .push(format!("{peer}: no answer within {PEER_DEADLINE:?}")),
            }
        }
        None
    }
}
