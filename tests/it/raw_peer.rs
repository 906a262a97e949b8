//! The swarm under the raw libp2p test peers ([`crate::forger`], [`crate::bad_signer`],
//! [`crate::liar`]): TCP with noise and yamux, the autonet identify version, a gossipsub
//! subscribed to every autonet topic, and a dial of the target, so the target treats the peer
//! as an ordinary autonet peer until it looks at what the peer sends.

use std::time::Duration;

use autonet_p2p::GossipTopic;
use autonet_p2p::config::PROTOCOL_VERSION;
use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Multiaddr, Swarm, SwarmBuilder, identify, noise, tcp, yamux};

/// A raw peer's behaviour, with the gossipsub it subscribes with.
pub trait RawBehaviour: NetworkBehaviour {
    fn gossipsub(&mut self) -> &mut gossipsub::Behaviour;
}

/// A swarm of `keypair` whose behaviour `behaviour` builds from the key, subscribed to every
/// autonet topic and dialing `target`.
pub fn raw_swarm<B: RawBehaviour>(
    keypair: Keypair,
    target: Multiaddr,
    behaviour: impl FnOnce(&Keypair) -> B,
) -> anyhow::Result<Swarm<B>> {
    let mut swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(behaviour)?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    for topic in GossipTopic::ALL {
        swarm
            .behaviour_mut()
            .gossipsub()
            .subscribe(&topic.ident())?;
    }
    swarm.dial(target)?;
    Ok(swarm)
}

/// Identify with the autonet protocol version.
pub fn identify_behaviour(key: &Keypair) -> identify::Behaviour {
    identify::Behaviour::new(identify::Config::new(
        PROTOCOL_VERSION.to_string(),
        key.public(),
    ))
}

/// A gossipsub with a 500 ms heartbeat.
pub fn gossipsub_behaviour(
    authenticity: MessageAuthenticity,
    validation: ValidationMode,
) -> gossipsub::Behaviour {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(validation)
        .heartbeat_interval(Duration::from_millis(500))
        .build()
        .expect("gossipsub config");
    gossipsub::Behaviour::new(authenticity, config).expect("gossipsub")
}
