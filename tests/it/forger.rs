//! A raw libp2p peer that forges gossip: messages that claim another author and carry no valid
//! signature. It speaks the autonet identify version and topic names so the victim treats it as
//! an ordinary peer until it looks at the messages.

use autonet_p2p::GossipTopic;
use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Multiaddr, PeerId, identify};
use tokio::sync::mpsc;

use crate::raw_peer::{RawBehaviour, gossipsub_behaviour, identify_behaviour, raw_swarm};

#[derive(NetworkBehaviour)]
struct ForgerBehaviour {
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
}

impl RawBehaviour for ForgerBehaviour {
    fn gossipsub(&mut self) -> &mut gossipsub::Behaviour {
        &mut self.gossipsub
    }
}

/// Commands to the forger's swarm task.
pub enum ForgerCommand {
    Publish(GossipTopic, Vec<u8>),
}

/// A running forger.
pub struct Forger {
    pub peer_id: PeerId,
    pub commands: mpsc::Sender<ForgerCommand>,
    task: tokio::task::JoinHandle<()>,
}

impl Forger {
    /// Starts the forger and dials `target`. Its messages claim `claimed_author` as their source.
    pub fn start(target: Multiaddr, claimed_author: PeerId) -> anyhow::Result<Forger> {
        let mut swarm = raw_swarm(Keypair::generate_ed25519(), target, |key| ForgerBehaviour {
            identify: identify_behaviour(key),
            gossipsub: gossipsub_behaviour(
                MessageAuthenticity::Author(claimed_author),
                ValidationMode::None,
            ),
        })?;
        let peer_id = *swarm.local_peer_id();
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = swarm.select_next_some() => {}
                    command = rx.recv() => match command {
                        Some(ForgerCommand::Publish(topic, data)) => {
                            let _ = swarm.behaviour_mut().gossipsub.publish(topic.ident(), data);
                        }
                        None => break,
                    },
                }
            }
        });
        Ok(Forger {
            peer_id,
            commands: tx,
            task,
        })
    }

    pub async fn stop(self) {
        drop(self.commands);
        let _ = self.task.await;
    }
}
