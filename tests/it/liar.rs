//! A raw libp2p peer that lies on the transfer protocol: whatever chunk is asked for, it answers
//! 1 MiB of junk and claims a chunk count of its choosing (u32::MAX: 4 PiB; or a count that
//! changes between answers). It speaks the autonet identify version and gossipsub, so the fetcher
//! tracks its score like any peer's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use autonet_p2p::config::TRANSFER_PROTOCOL;
use autonet_p2p::transfer::{ChunkRequest, ChunkResponse, MAX_CHUNK_BYTES, MAX_RESPONSE_BYTES};
use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport, cbor};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, identify};

use crate::raw_peer::{RawBehaviour, gossipsub_behaviour, identify_behaviour, raw_swarm};

#[derive(NetworkBehaviour)]
struct LiarBehaviour {
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
    transfer: cbor::Behaviour<ChunkRequest, ChunkResponse>,
}

impl RawBehaviour for LiarBehaviour {
    fn gossipsub(&mut self) -> &mut gossipsub::Behaviour {
        &mut self.gossipsub
    }
}

/// A running liar.
pub struct Liar {
    pub peer_id: PeerId,
    /// Chunk requests answered with junk so far.
    pub served: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl Liar {
    /// Starts the liar and dials `target`. It answers up to `junk_chunks` requests with a
    /// 1 MiB chunk (the chunk index echoed back), then `NotFound`; its n-th answer claims
    /// `totals[n]` chunks (the last entry once past the end).
    pub fn start(target: Multiaddr, totals: Vec<u32>, junk_chunks: u32) -> anyhow::Result<Liar> {
        let mut swarm = raw_swarm(Keypair::generate_ed25519(), target, |key| {
            let codec = cbor::codec::Codec::default().set_response_size_maximum(MAX_RESPONSE_BYTES);
            LiarBehaviour {
                identify: identify_behaviour(key),
                gossipsub: gossipsub_behaviour(
                    MessageAuthenticity::Signed(key.clone()),
                    ValidationMode::Strict,
                ),
                transfer: request_response::Behaviour::with_codec(
                    codec,
                    [(TRANSFER_PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default(),
                ),
            }
        })?;
        let peer_id = *swarm.local_peer_id();
        let served = Arc::new(AtomicU32::new(0));
        let counter = served.clone();
        let task = tokio::spawn(async move {
            loop {
                let event = swarm.select_next_some().await;
                let SwarmEvent::Behaviour(LiarBehaviourEvent::Transfer(
                    request_response::Event::Message {
                        message:
                            request_response::Message::Request {
                                request, channel, ..
                            },
                        ..
                    },
                )) = event
                else {
                    continue;
                };
                let n = counter.load(Ordering::SeqCst);
                let answer = if n < junk_chunks {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let total = totals
                        .get(n as usize)
                        .or(totals.last())
                        .copied()
                        .unwrap_or(u32::MAX);
                    ChunkResponse::Chunk {
                        index: request.index,
                        total,
                        data: vec![0xa5; MAX_CHUNK_BYTES],
                    }
                } else {
                    ChunkResponse::NotFound
                };
                let _ = swarm
                    .behaviour_mut()
                    .transfer
                    .send_response(channel, answer);
            }
        });
        Ok(Liar {
            peer_id,
            served,
            task,
        })
    }

    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}
