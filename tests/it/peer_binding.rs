//! PeerId squatting over real libp2p. `RPB` cannot verify Ed25519, so anyone may claim any
//! PeerId; nodes trust only claims signed by the PeerId's key. A squatter (staked as proposer)
//! claims a victim's PeerId: (a) its claim binds nothing, (b) the victim still binds, whether
//! the squatter claimed before or after it, and is heard as itself, and (c) the victim's gossip
//! is never attributed to the squatter's stake.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use autonet_actors::roles::peer::bind_peer;
use autonet_actors::testing::squat;
use autonet_contracts::{ATN, Chain, EmbeddedChain, ProtocolView, Role};
use autonet_p2p::testnet::{accept_all, poll_until};
use autonet_p2p::{Keypair, PeerId};

use crate::gated::{DEADLINE, GatedNode, POLL, TestChain, announcement, gossip_peer, publish};

async fn owner(chain: &TestChain, peer: PeerId) -> Address {
    chain
        .peer_owner(Bytes::from(peer.to_bytes()))
        .await
        .unwrap()
}

/// A chain whose dev accounts 1..=3 are staked as proposers (victim, squatter, late squatter).
async fn proposers() -> (Arc<TestChain>, Vec<PrivateKeySigner>) {
    let chain = EmbeddedChain::genesis(4, ATN * U256::from(10_000))
        .await
        .unwrap();
    let signers = chain.backend().signers().to_vec();
    for s in &signers[1..4] {
        chain
            .stake(s.address(), Role::Proposer, Role::Proposer.min_stake())
            .await
            .unwrap();
    }
    (Arc::new(chain), signers[1..4].to_vec())
}

/// (a) A squatter's claim of a victim's PeerId binds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_squatters_claim_of_a_peer_id_binds_nothing() {
    let (chain, s) = proposers().await;
    let victim_peer = Keypair::generate_ed25519().public().to_peer_id();
    squat(&*chain, &s[1], victim_peer).await.unwrap();
    assert_eq!(
        owner(&chain, victim_peer).await,
        Address::ZERO,
        "a claim whose Ed25519 signature does not verify must bind nothing"
    );
}

/// (b) The victim binds after a squatter claimed its PeerId, keeps it when another squatter
/// claims it afterwards, and its restarted node is heard as itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_squatter_cannot_stop_the_victim_binding_its_peer_id() {
    let (chain, s) = proposers().await;
    let (victim, squatter, late) = (&s[0], &s[1], &s[2]);
    let key = Keypair::generate_ed25519();
    let victim_peer = key.public().to_peer_id();
    squat(&*chain, squatter, victim_peer).await.unwrap();
    bind_peer(&*chain, victim.address(), victim, &key)
        .await
        .expect("the victim must be able to bind its own PeerId after a squatter");
    assert_eq!(owner(&chain, victim_peer).await, victim.address());
    squat(&*chain, late, victim_peer).await.unwrap();
    assert_eq!(owner(&chain, victim_peer).await, victim.address());

    let node = GatedNode::start(chain.clone(), Duration::from_secs(60)).await;
    let sender = gossip_peer(key, &node, accept_all()).await;
    node.wait_for_subscribers(1).await;
    let body = announcement(2);
    publish(&sender, body.clone()).await;
    let heard = poll_until(DEADLINE, POLL, || async { node.heard(&body).then_some(()) }).await;
    assert!(heard.is_some(), "the bound victim was not heard");
    assert_eq!(node.heard_from(victim_peer), 1);
    sender.stop().await;
    node.stop().await;
}

/// (c) While only a squatter claims the victim's PeerId, the victim's gossip is not accepted
/// on the squatter's proposer stake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_of_a_squatted_peer_id_is_not_attributed_to_the_squatter() {
    let (chain, s) = proposers().await;
    let key = Keypair::generate_ed25519();
    squat(&*chain, &s[1], key.public().to_peer_id())
        .await
        .unwrap();
    let node = GatedNode::start(chain.clone(), Duration::from_secs(60)).await;
    let sender = gossip_peer(key, &node, accept_all()).await;
    node.wait_for_subscribers(1).await;
    let body = announcement(1);
    publish(&sender, body.clone()).await;
    let verdict = poll_until(DEADLINE, POLL, || async {
        if node.heard(&body) {
            return Some("accepted on the squatter's stake");
        }
        (node.status().await.counters.messages_rejected >= 1).then_some("rejected")
    })
    .await;
    assert_eq!(verdict, Some("rejected"));
    sender.stop().await;
    node.stop().await;
}
