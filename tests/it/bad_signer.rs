//! A raw libp2p peer that sends gossipsub messages whose signatures do not verify.
//!
//! libp2p's gossipsub signs every message it publishes correctly, so this peer writes the wire
//! format itself: it opens its own `/meshsub/1.1.0` stream to the victim (through a
//! request-response behaviour that only ever sends, with a codec that writes raw bytes) and writes
//! length-prefixed protobuf `RPC` frames built by hand, each holding a `Message` whose signature
//! is wrong. It also runs a real gossipsub, subscribed to every autonet topic, so the victim
//! treats it as an ordinary gossip peer until it checks the messages. The payload of every
//! forged message is a well-formed autonet envelope, so only the signature check stands between
//! it and the victim's mesh. It can also relay correctly signed messages of many fresh authors
//! ([`Forgery::FreshAuthor`]), a flood no signature check stops.

use std::io;
use std::time::Duration;

use autonet_p2p::GossipTopic;
use futures::{AsyncRead, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Multiaddr, PeerId, StreamProtocol, identify};
use tokio::sync::mpsc;

use crate::raw_peer::{RawBehaviour, gossipsub_behaviour, identify_behaviour, raw_swarm};

/// The gossipsub protocol the victim speaks.
const MESHSUB: StreamProtocol = StreamProtocol::new("/meshsub/1.1.0");

/// How a forged message's signature is wrong.
#[derive(Debug, Clone, Copy)]
pub enum Forgery {
    /// Signed correctly by the sender, then the payload was changed.
    TamperedPayload,
    /// Claims another peer as author, signed with the sender's own key.
    ImpersonatedAuthor(PeerId),
    /// Random bytes where the signature goes.
    GarbageSignature,
    /// Not a forgery: correctly signed by a fresh key, so every such message has a new (and
    /// unbound) author that this peer merely relays.
    FreshAuthor,
}

/// Writes pre-framed bytes on a fresh stream; never expects an answer.
#[derive(Debug, Clone, Default)]
struct RawFrames;

impl request_response::Codec for RawFrames {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = ();

    async fn read_request<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        Err(io::Error::new(io::ErrorKind::Unsupported, "send-only"))
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<()>
    where
        T: AsyncRead + Unpin + Send,
    {
        // Gossipsub never answers on a stream; the frames were written and the stream closed.
        Err(io::Error::new(io::ErrorKind::Unsupported, "no answer"))
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        frames: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&frames).await?;
        io.flush().await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, _: &mut T, (): ()) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        Ok(())
    }
}

#[derive(NetworkBehaviour)]
struct BadSignerBehaviour {
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
    raw: request_response::Behaviour<RawFrames>,
}

impl RawBehaviour for BadSignerBehaviour {
    fn gossipsub(&mut self) -> &mut gossipsub::Behaviour {
        &mut self.gossipsub
    }
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A length-delimited protobuf field.
fn field(number: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(number << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// gossipsub `Message { from = 1, data = 2, seqno = 3, topic = 4, signature = 5 }`.
fn message(
    from: &PeerId,
    data: &[u8],
    seqno: u64,
    topic: &str,
    signature: Option<&[u8]>,
) -> Vec<u8> {
    let mut m = Vec::new();
    field(1, &from.to_bytes(), &mut m);
    field(2, data, &mut m);
    field(3, &seqno.to_be_bytes(), &mut m);
    field(4, topic.as_bytes(), &mut m);
    if let Some(sig) = signature {
        field(5, sig, &mut m);
    }
    m
}

/// A gossipsub `Message` on `topic` carrying `data`, signed wrongly as `how`.
fn forged_message(
    key: &Keypair,
    how: Forgery,
    topic: GossipTopic,
    data: &[u8],
    seqno: u64,
) -> Vec<u8> {
    let me = key.public().to_peer_id();
    let topic = topic.hash().into_string();
    // The signature covers "libp2p-pubsub:" ‖ the message without signature and key.
    let sign = |from: &PeerId, data: &[u8]| {
        let mut bytes = b"libp2p-pubsub:".to_vec();
        bytes.extend(message(from, data, seqno, &topic, None));
        key.sign(&bytes).expect("ed25519 signing")
    };
    match how {
        Forgery::TamperedPayload => {
            let mut original = data.to_vec();
            original.push(0);
            message(&me, data, seqno, &topic, Some(&sign(&me, &original)))
        }
        Forgery::ImpersonatedAuthor(author) => {
            message(&author, data, seqno, &topic, Some(&sign(&author, data)))
        }
        Forgery::GarbageSignature => {
            let garbage: Vec<u8> = (0..64).map(|_| rand::random::<u8>()).collect();
            message(&me, data, seqno, &topic, Some(&garbage))
        }
        Forgery::FreshAuthor => {
            let author_key = Keypair::generate_ed25519();
            let author = author_key.public().to_peer_id();
            let mut bytes = b"libp2p-pubsub:".to_vec();
            bytes.extend(message(&author, data, seqno, &topic, None));
            let signature = author_key.sign(&bytes).expect("ed25519 signing");
            message(&author, data, seqno, &topic, Some(&signature))
        }
    }
}

/// One length-prefixed `RPC { repeated publish = 2 }` frame holding `messages`: all of them go
/// on one stream, since the victim reads only its newest inbound gossipsub stream.
fn rpc_frame(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut rpc = Vec::new();
    for m in messages {
        field(2, m, &mut rpc);
    }
    let mut frame = Vec::new();
    varint(rpc.len() as u64, &mut frame);
    frame.extend(rpc);
    frame
}

/// A running bad signer.
pub struct BadSigner {
    pub peer_id: PeerId,
    commands: mpsc::Sender<Vec<(Forgery, GossipTopic, Vec<u8>)>>,
    task: tokio::task::JoinHandle<()>,
}

impl BadSigner {
    /// Starts the peer and dials `victim` (whose peer id it must know to open streams).
    pub fn start(victim_addr: Multiaddr, victim: PeerId) -> anyhow::Result<BadSigner> {
        let keypair = Keypair::generate_ed25519();
        let signing_key = keypair.clone();
        let mut swarm = raw_swarm(keypair, victim_addr, |key| BadSignerBehaviour {
            identify: identify_behaviour(key),
            gossipsub: gossipsub_behaviour(
                MessageAuthenticity::Signed(key.clone()),
                ValidationMode::Strict,
            ),
            raw: request_response::Behaviour::new(
                [(MESHSUB, ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(5)),
            ),
        })?;
        let peer_id = *swarm.local_peer_id();
        let (tx, mut rx) = mpsc::channel::<Vec<(Forgery, GossipTopic, Vec<u8>)>>(64);
        let task = tokio::spawn(async move {
            let mut seqno = rand::random::<u64>();
            loop {
                tokio::select! {
                    _ = swarm.select_next_some() => {}
                    command = rx.recv() => match command {
                        Some(batch) => {
                            let messages: Vec<Vec<u8>> = batch
                                .iter()
                                .map(|(how, topic, data)| {
                                    seqno += 1;
                                    forged_message(&signing_key, *how, *topic, data, seqno)
                                })
                                .collect();
                            swarm.behaviour_mut().raw.send_request(&victim, rpc_frame(&messages));
                        }
                        None => break,
                    },
                }
            }
        });
        Ok(BadSigner {
            peer_id,
            commands: tx,
            task,
        })
    }

    /// Sends one message on `topic` with payload `data`, signed wrongly as `how`.
    /// Sends messages (how each is signed wrongly, topic, payload) in one RPC on a new stream.
    pub async fn send(&self, batch: Vec<(Forgery, GossipTopic, Vec<u8>)>) -> anyhow::Result<()> {
        self.commands.send(batch).await?;
        Ok(())
    }

    pub async fn stop(self) {
        drop(self.commands);
        let _ = self.task.await;
    }
}
