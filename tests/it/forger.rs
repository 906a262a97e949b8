//! A raw libp2p peer that forges gossip: messages that claim another author and carry no valid
//! signature. It speaks the autonet identify version and topic names so the victim treats it as
//! an ordinary peer until it looks at the messages.

use std::time::Duration;

use autonet_p2p::GossipTopic;
use autonet_p2p::config::PROTOCOL_VERSION;
use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Multiaddr, PeerId, Swarm, SwarmBuilder, identify, noise, tcp, yamux};
use tokio::sync::mpsc;

#[derive(NetworkBehaviour)]
struct ForgerBehaviour {
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
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
        let keypair = Keypair::generate_ed25519();
        let peer_id = keypair.public().to_peer_id();
        let mut swarm: Swarm<ForgerBehaviour> = SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )?
            .with_behaviour(|key| {
                let config = gossipsub::ConfigBuilder::default()
                    .validation_mode(ValidationMode::None)
                    .heartbeat_interval(Duration::from_millis(500))
                    .build()
                    .expect("gossipsub config");
                let gossipsub =
                    gossipsub::Behaviour::new(MessageAuthenticity::Author(claimed_author), config)
                        .expect("gossipsub");
                ForgerBehaviour {
                    identify: identify::Behaviour::new(identify::Config::new(
                        PROTOCOL_VERSION.to_string(),
                        key.public(),
                    )),
                    gossipsub,
                }
            })?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
            .build();
        for topic in GossipTopic::ALL {
            swarm.behaviour_mut().gossipsub.subscribe(&topic.ident())?;
        }
        swarm.dial(target)?;
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
