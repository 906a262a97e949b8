//! Finding agents by capability: provider records in the DHT say *which peers* have an agent
//! with a capability; the RPC service [`CARD_SERVICE`] asks such a peer for its current,
//! signed cards.
//!
//! Why provider records and an RPC rather than the cards as DHT records: this overlay's records
//! are content-addressed (key = BLAKE3(value)), so a finder could not look a card up without
//! already knowing it, and a changed card (a new capability, an agent stopped) would leave the
//! old one findable until it expired. A provider record is keyed by the capability
//! (`BLAKE3("autonet/agent-capability/v1/" ‖ capability)`, [`capability_key`]), is republished
//! by Kademlia while this node serves, and the card comes live from its own peer, which also
//! proves that peer is up. Every card is verified ([`AgentCard::verify`]: signed by the peer
//! that served it, lineage recomputed from the owner); a peer serving a bad card is penalized.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use autonet_p2p::{Client, InboundRpc, Keypair, P2pError, PeerAction, PeerId, RpcResponse};
use tokio::task::JoinHandle;

use crate::card::{AgentCard, CardError, capability_key, is_capability};
use crate::signed::{Signed, from_cbor, to_cbor};

/// The RPC service serving a peer's cards; the request is a capability (UTF-8; empty: every
/// card), the answer a CBOR list of [`Signed`] cards.
pub const CARD_SERVICE: &str = "agent-card/1";
/// The most cards in one answer.
pub const MAX_CARDS_PER_PEER: usize = 64;

/// Why publishing or finding failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The card is not valid or not this peer's.
    #[error(transparent)]
    Card(#[from] CardError),
    /// This peer serves [`MAX_CARDS_PER_PEER`] cards already.
    #[error("this peer already serves {MAX_CARDS_PER_PEER} cards")]
    Full,
    /// Not a capability label.
    #[error("{0:?} is not a capability (1 to 64 characters of [a-z0-9._/-])")]
    BadCapability(String),
    /// The overlay failed.
    #[error(transparent)]
    P2p(#[from] P2pError),
}

type Cards = Arc<RwLock<BTreeMap<String, (AgentCard, Signed)>>>;

/// This node's published cards and the finder of others'. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Directory {
    client: Client,
    key: Keypair,
    cards: Cards,
    task: Arc<JoinHandle<()>>,
}

fn matching(cards: &Cards, capability: &str) -> Vec<(AgentCard, Signed)> {
    let Ok(cards) = cards.read() else {
        return Vec::new();
    };
    cards
        .values()
        .filter(|(c, _)| capability.is_empty() || c.capabilities.iter().any(|x| x == capability))
        .cloned()
        .collect()
}

impl Directory {
    /// Serves [`CARD_SERVICE`] on a running node whose identity is `key`.
    pub async fn start(client: Client, key: Keypair) -> Result<Self, DirectoryError> {
        let cards: Cards = Arc::default();
        let (tx, mut requests) = tokio::sync::mpsc::channel::<InboundRpc>(32);
        client.serve_rpc(CARD_SERVICE, tx, None).await?;
        let (served, app) = (cards.clone(), client.clone());
        let task = tokio::spawn(async move {
            while let Some(rpc) = requests.recv().await {
                let capability = String::from_utf8_lossy(&rpc.body).into_owned();
                let signed: Vec<Signed> = matching(&served, &capability)
                    .into_iter()
                    .map(|(_, s)| s)
                    .collect();
                let response = match to_cbor(&signed) {
                    Ok(body) => RpcResponse::Ok { body },
                    Err(reason) => RpcResponse::Error { reason },
                };
                let _ = app.answer_rpc(rpc.id, response).await;
            }
        });
        Ok(Self {
            client,
            key,
            cards,
            task: Arc::new(task),
        })
    }

    /// Signs and serves `card` (replacing this agent's earlier card) and announces each of its
    /// capabilities in the DHT.
    pub async fn publish(&self, card: AgentCard) -> Result<(), DirectoryError> {
        let signed = card.sign(&self.key)?;
        let capabilities = card.capabilities.clone();
        {
            let mut cards = self
                .cards
                .write()
                .map_err(|_| DirectoryError::Card(CardError::Invalid("lock poisoned".into())))?;
            if cards.len() >= MAX_CARDS_PER_PEER && !cards.contains_key(&card.agent) {
                return Err(DirectoryError::Full);
            }
            cards.insert(card.agent.clone(), (card, signed));
        }
        for capability in capabilities {
            self.client.announce(capability_key(&capability)).await?;
        }
        Ok(())
    }

    /// Stops serving `agent`'s card (provider records of capabilities no other local card has
    /// are withdrawn).
    pub async fn unpublish(&self, agent: &str) {
        let removed = self.cards.write().ok().and_then(|mut c| c.remove(agent));
        let Some((card, _)) = removed else { return };
        for capability in card.capabilities {
            if matching(&self.cards, &capability).is_empty() {
                let _ = self
                    .client
                    .stop_providing(capability_key(&capability))
                    .await;
            }
        }
    }

    /// Verified cards of agents with `capability`: this node's own, then those of every peer
    /// the DHT names as a provider. Peers that serve bad cards are penalized and skipped;
    /// unreachable ones are skipped.
    pub async fn find(&self, capability: &str) -> Result<Vec<AgentCard>, DirectoryError> {
        if !is_capability(capability) {
            let cut = capability.chars().take(64).collect();
            return Err(DirectoryError::BadCapability(cut));
        }
        let mut found: Vec<AgentCard> = matching(&self.cards, capability)
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        let me = self.client.peer_id();
        let providers = self
            .client
            .all_providers(capability_key(capability))
            .await?;
        for peer in providers.into_iter().filter(|p| *p != me) {
            match self.cards_of(peer, capability).await {
                Ok(cards) => found.extend(cards),
                Err(e) => tracing::debug!(%peer, error = %e, "no cards from a provider"),
            }
        }
        Ok(found)
    }

    /// The verified cards `peer` serves for `capability`.
    pub async fn cards_of(
        &self,
        peer: PeerId,
        capability: &str,
    ) -> Result<Vec<AgentCard>, DirectoryError> {
        let body = capability.as_bytes().to_vec();
        let answer = match self.client.rpc(peer, CARD_SERVICE, body).await? {
            RpcResponse::Ok { body } => body,
            other => {
                let reason = format!("{peer} did not serve cards: {other:?}");
                return Err(DirectoryError::P2p(P2pError::Request {
                    peer: peer.to_string(),
                    reason,
                }));
            }
        };
        let limit = MAX_CARDS_PER_PEER * crate::card::MAX_CARD_BYTES;
        let signed: Vec<Signed> = if answer.len() > limit {
            Err(CardError::Oversized(answer.len()))
        } else {
            from_cbor(&answer).map_err(CardError::Malformed)
        }
        .inspect_err(|_| self.punish(peer, PeerAction::Malformed))?;
        let mut cards = Vec::new();
        for s in signed.iter().take(MAX_CARDS_PER_PEER) {
            match AgentCard::verify(s, &peer) {
                Ok(card) if card.capabilities.iter().any(|c| c == capability) => cards.push(card),
                Ok(_) => self.punish(peer, PeerAction::Malformed),
                Err(e) => {
                    tracing::info!(%peer, error = %e, "refused an agent card");
                    self.punish(peer, PeerAction::Lied);
                }
            }
        }
        Ok(cards)
    }

    fn punish(&self, peer: PeerId, action: PeerAction) {
        let client = self.client.clone();
        tokio::spawn(async move {
            let _ = client.penalize(peer, action).await;
        });
    }

    /// Stops serving cards.
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// The runtime finds remote delegates through the directory: the first verified card of another
/// peer offering the capability.
impl crate::runtime::RemoteFinder for Directory {
    fn find<'a>(&'a self, capability: &'a str) -> futures::future::BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let me = self.client.peer_id().to_string();
            let cards = Directory::find(self, capability).await.ok()?;
            cards
                .into_iter()
                .find(|c| c.peer != me)
                .map(|c| format!("{}/{}", c.peer, c.agent))
        })
    }
}
