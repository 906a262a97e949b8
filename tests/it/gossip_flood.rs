//! Gossip abuse over real libp2p: an unstaked peer floods `tasks` at a gated node while a bound,
//! staked proposer announces tasks. The flooder is penalized and banned, none of its messages is
//! handed to the application, and every honest announcement is. A second flooder relays
//! correctly signed messages of many fresh, unbound authors (each one not the sender, so not
//! rejected): it is throttled past its rate, loses score for it and is banned too.

use std::sync::Arc;
use std::time::Duration;

use autonet_actors::testing::chain_with_bound_proposer;
use autonet_p2p::testnet::{Peer, Validator, poll_until};
use autonet_p2p::{GossipTopic, Keypair, MessageAcceptance, PeerId};

use autonet_p2p::envelope::Envelope;

use crate::bad_signer::{BadSigner, Forgery};
use crate::gated::{DEADLINE, GatedNode, POLL, announcement, gossip_peer, publish};

const FLOOD: u64 = 3000;
const HONEST: u64 = 20;

/// An honest relay's verdict: only `author`'s messages are valid (as a gate would judge them).
fn only_from(author: PeerId) -> Validator {
    Arc::new(move |m| {
        if m.author == Some(author) {
            MessageAcceptance::Accept
        } else {
            MessageAcceptance::Reject
        }
    })
}

/// A gated node (bans of 120 s) and an honest gossip peer dialing it, whose PeerId is bound to a
/// staked proposer; and that PeerId.
async fn node_and_honest_proposer() -> (GatedNode, Peer, PeerId) {
    let key = Keypair::generate_ed25519();
    let id = key.public().to_peer_id();
    let (chain, _) = chain_with_bound_proposer(3, &key).await.unwrap();
    let node = GatedNode::start(Arc::new(chain), Duration::from_secs(120)).await;
    let honest = gossip_peer(key, &node, only_from(id)).await;
    (node, honest, id)
}

/// Waits until `culprit` (described as `who`) is banned and then until all `HONEST`
/// announcements of `honest_id` were handed to the application.
async fn await_ban_and_honest_tasks(
    node: &GatedNode,
    culprit: PeerId,
    who: &str,
    honest_id: PeerId,
) {
    let banned = poll_until(DEADLINE, POLL, || async {
        node.is_banned(culprit).await.then_some(())
    })
    .await;
    assert!(banned.is_some(), "{who} was never banned");
    let all_heard = poll_until(DEADLINE, POLL, || async {
        (0..HONEST)
            .all(|n| node.heard(&announcement(n)))
            .then_some(())
    })
    .await;
    assert!(
        all_heard.is_some(),
        "only {} of {HONEST} honest announcements got through",
        node.heard_from(honest_id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unstaked_flooder_is_banned_while_honest_tasks_get_through() {
    let (node, honest, honest_id) = node_and_honest_proposer().await;
    let flooder_key = Keypair::generate_ed25519();
    let flooder_id = flooder_key.public().to_peer_id();
    let flooder = gossip_peer(flooder_key, &node, only_from(flooder_id)).await;
    node.wait_for_subscribers(2).await;

    let flood_client = flooder.client.clone();
    let flood = tokio::spawn(async move {
        for n in 0..FLOOD {
            // Refused once the flooder is banned and has no one left to send to.
            let _ = flood_client
                .publish(GossipTopic::Tasks, announcement(1_000_000 + n))
                .await;
        }
    });
    for n in 0..HONEST {
        publish(&honest, announcement(n)).await;
    }

    await_ban_and_honest_tasks(&node, flooder_id, "the unstaked flooder", honest_id).await;
    assert_eq!(node.heard_from(flooder_id), 0);
    // The flooder was penalized for its messages (rejected), not merely ignored.
    assert!(node.status().await.counters.messages_rejected >= 1);
    assert!(
        !node.is_banned(honest_id).await,
        "the honest proposer was banned"
    );
    flood.abort();
    honest.stop().await;
    flooder.stop().await;
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_of_many_unbound_authors_is_throttled_and_banned() {
    let (node, honest, honest_id) = node_and_honest_proposer().await;
    let relay = BadSigner::start(node.addr.clone(), node.client.peer_id()).unwrap();
    node.wait_for_subscribers(2).await;

    let batch: Vec<_> = (0..300)
        .map(|n| {
            let body = Envelope::new(announcement(2_000_000 + n)).encode().unwrap();
            (Forgery::FreshAuthor, GossipTopic::Tasks, body)
        })
        .collect();
    relay.send(batch).await.unwrap();
    for n in 0..HONEST {
        publish(&honest, announcement(n)).await;
    }

    await_ban_and_honest_tasks(
        &node,
        relay.peer_id,
        "the relay of unbound authors",
        honest_id,
    )
    .await;
    assert_eq!(
        node.heard.lock().unwrap().len(),
        HONEST as usize,
        "a message of an unbound author was handed to the application"
    );
    assert!(
        !node.is_banned(honest_id).await,
        "the honest proposer was banned"
    );
    relay.stop().await;
    honest.stop().await;
    node.stop().await;
}
