//! The gossip gate and mailbox of a peer.
//!
//! [`Gate`] is the bridge's validator: a message is accepted only when its author's PeerId is
//! bound on chain (RPB registration, both keys signed) to an address staked in the role that may
//! send it — proposers on `tasks`, aggregators on `models` — and its body decodes. Messages from
//! unbound or unstaked peers are ignored (not relayed, not delivered); malformed ones are
//! rejected (a peer-score penalty). [`MailboxActor`] files accepted announcements in the peer's
//! [`Mailbox`] for its role actor.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::{Address, Bytes, U256};
use autonet_contracts::{ProtocolView, Role};
use autonet_p2p::{GossipTopic, MessageAcceptance, NetworkEvent, PeerId};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::ctx::Mailbox;
use crate::bridge::Validate;
use crate::protocol::wire::{MAX_ANNOUNCEMENT_BYTES, ModelAnnouncement, TaskAnnouncement, decode};

/// The validator actor.
#[derive(Debug)]
pub struct Gate<C>(std::marker::PhantomData<fn() -> C>);

impl<C> Default for Gate<C> {
    fn default() -> Self {
        Gate(std::marker::PhantomData)
    }
}

/// The gate's state: the chain and the bindings already seen.
#[derive(Debug)]
pub struct GateState<C> {
    chain: Arc<C>,
    bound: BTreeMap<PeerId, (Address, u8)>,
}

/// The on-chain role a message on `topic` must come from.
pub fn sender_role(topic: GossipTopic) -> Option<Role> {
    match topic {
        GossipTopic::Tasks => Some(Role::Proposer),
        GossipTopic::Models => Some(Role::Aggregator),
        _ => None,
    }
}

impl<C: ProtocolView + 'static> Actor for Gate<C> {
    type Msg = Validate;
    type State = GateState<C>;
    type Arguments = Arc<C>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Validate>,
        chain: Arc<C>,
    ) -> Result<GateState<C>, ActorProcessingErr> {
        Ok(GateState {
            chain,
            bound: BTreeMap::new(),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Validate>,
        Validate(m, reply): Validate,
        state: &mut GateState<C>,
    ) -> Result<(), ActorProcessingErr> {
        let verdict = judge(state, m.topic, m.author, &m.body).await;
        let _ = reply.send(verdict);
        Ok(())
    }
}

async fn judge<C: ProtocolView>(
    state: &mut GateState<C>,
    topic: GossipTopic,
    author: Option<PeerId>,
    body: &[u8],
) -> MessageAcceptance {
    let (Some(author), Some(role)) = (author, sender_role(topic)) else {
        return MessageAcceptance::Ignore;
    };
    let binding = match state.bound.get(&author) {
        Some(b) => Some(*b),
        None => lookup(&*state.chain, author).await,
    };
    let Some((address, staked_as)) = binding else {
        return MessageAcceptance::Ignore;
    };
    state.bound.insert(author, (address, staked_as));
    if staked_as != role as u8 {
        return MessageAcceptance::Ignore;
    }
    let well_formed = match topic {
        GossipTopic::Tasks => {
            decode::<TaskAnnouncement>("task announcement", body, MAX_ANNOUNCEMENT_BYTES).is_ok()
        }
        GossipTopic::Models => {
            decode::<ModelAnnouncement>("model announcement", body, MAX_ANNOUNCEMENT_BYTES).is_ok()
        }
        _ => false,
    };
    if well_formed {
        MessageAcceptance::Accept
    } else {
        MessageAcceptance::Reject
    }
}

/// The address `peer` is bound to and its staked role, if bound and staked.
pub async fn lookup<C: ProtocolView>(chain: &C, peer: PeerId) -> Option<(Address, u8)> {
    let owner = chain.peer_owner(Bytes::from(peer.to_bytes())).await.ok()?;
    if owner.is_zero() {
        return None;
    }
    let stake = chain.stake_of(owner).await.ok()?;
    (!stake.amount.is_zero() && stake.unlock_block == 0).then_some((owner, stake.role))
}

/// Files accepted announcements in the mailbox.
#[derive(Debug, Default)]
pub struct MailboxActor;

impl Actor for MailboxActor {
    type Msg = NetworkEvent;
    type State = Mailbox;
    type Arguments = Mailbox;

    async fn pre_start(
        &self,
        _myself: ActorRef<NetworkEvent>,
        mailbox: Mailbox,
    ) -> Result<Mailbox, ActorProcessingErr> {
        Ok(mailbox)
    }

    async fn handle(
        &self,
        _myself: ActorRef<NetworkEvent>,
        event: NetworkEvent,
        mailbox: &mut Mailbox,
    ) -> Result<(), ActorProcessingErr> {
        let NetworkEvent::Message(m) = event else {
            return Ok(());
        };
        match m.topic {
            GossipTopic::Tasks => {
                if let Ok(a) =
                    decode::<TaskAnnouncement>("task announcement", &m.body, MAX_ANNOUNCEMENT_BYTES)
                {
                    mailbox.put_spec(U256::from_be_bytes(a.task_id), a.spec);
                }
            }
            GossipTopic::Models => {
                if let Ok(a) = decode::<ModelAnnouncement>(
                    "model announcement",
                    &m.body,
                    MAX_ANNOUNCEMENT_BYTES,
                ) {
                    mailbox.put_model(a);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use autonet_contracts::{ATN, Chain, EmbeddedChain, Role};
    use autonet_p2p::Keypair;

    use super::*;
    use crate::protocol::wire::{WIRE_VERSION, encode};
    use crate::roles::peer::bind_peer;

    #[tokio::test]
    async fn only_peers_bound_to_a_staked_sender_role_are_heard() {
        let chain = EmbeddedChain::genesis(3, ATN * U256::from(1_000))
            .await
            .unwrap();
        let signers = chain.backend().signers().to_vec();
        let proposer = &signers[1];
        chain
            .stake(
                proposer.address(),
                Role::Proposer,
                Role::Proposer.min_stake(),
            )
            .await
            .unwrap();
        let bound = Keypair::generate_ed25519();
        let stranger = Keypair::generate_ed25519();
        bind_peer(&chain, signers[0].address(), proposer, &bound)
            .await
            .unwrap();
        let mut state = GateState {
            chain: Arc::new(chain),
            bound: BTreeMap::new(),
        };
        let body = encode(&TaskAnnouncement {
            version: WIRE_VERSION,
            task_id: [0; 32],
            spec: vec![1, 2, 3],
        });
        let (b, s) = (bound.public().to_peer_id(), stranger.public().to_peer_id());
        let t = GossipTopic::Tasks;
        assert_eq!(
            judge(&mut state, t, Some(b), &body).await,
            MessageAcceptance::Accept
        );
        assert_eq!(
            judge(&mut state, t, Some(s), &body).await,
            MessageAcceptance::Ignore
        );
        assert_eq!(
            judge(&mut state, t, None, &body).await,
            MessageAcceptance::Ignore
        );
        // A proposer may not announce models; a bound proposer's garbage is rejected.
        let models = GossipTopic::Models;
        assert_eq!(
            judge(&mut state, models, Some(b), &body).await,
            MessageAcceptance::Ignore
        );
        assert_eq!(
            judge(&mut state, t, Some(b), b"junk").await,
            MessageAcceptance::Reject
        );
    }
}
