//! Agent lineages on RPB: an owner registers a root lineage with its signature, a child only
//! with the same owner's signature; bad signatures, unknown parents, zero and taken lineages
//! revert with named errors.

use alloy::primitives::{Address, B256, Bytes};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use autonet_contracts::bindings::RPB;
use autonet_contracts::embedded::dev_key;
use autonet_contracts::revert::RPBErrors;
use autonet_contracts::{Backend, Contracts};

use crate::helpers::{Cast, assert_revert};

/// `owner`'s EIP-191 signature of the digest of (`lineage`, `parent`, `agent_key`).
async fn owner_signature<B: Backend>(
    c: &Contracts<B>,
    owner: &PrivateKeySigner,
    lineage: B256,
    parent: B256,
    agent_key: Address,
) -> Bytes {
    let call = RPB::lineageDigestCall {
        lineage,
        parent,
        agentKey: agent_key,
    };
    let digest = c.view(c.addresses.rpb, call).await.unwrap();
    let sig = owner.sign_message_sync(digest.as_slice()).unwrap();
    Bytes::from(sig.as_bytes().to_vec())
}

/// Registers a root and a child lineage and checks every refusal.
pub async fn lineages<B: Backend>(c: &Contracts<B>, cast: &Cast) {
    let rpb = c.addresses.rpb;
    let (owner, stranger) = (dev_key(3), dev_key(4));
    let (root, child) = (B256::repeat_byte(0x11), B256::repeat_byte(0x22));
    let key = Address::repeat_byte(0x33);
    let register = |lineage: B256, parent: B256, sig: Bytes| {
        let call = RPB::registerLineageCall {
            lineage,
            parent,
            agentKey: key,
            ownerSig: sig,
        };
        c.send(cast.outsider, rpb, call)
    };
    // A child before its parent exists.
    let sig = owner_signature(c, &owner, child, root, key).await;
    assert_revert!(register(child, root, sig).await, RPBErrors::UnknownParent);
    assert_revert!(
        register(B256::ZERO, B256::ZERO, Bytes::new()).await,
        RPBErrors::ZeroLineage
    );
    assert_revert!(
        register(root, B256::ZERO, Bytes::from_static(&[1; 65])).await,
        RPBErrors::BadOwnerSignature
    );
    // The root, relayed by an outsider, belongs to the owner who signed it.
    let sig = owner_signature(c, &owner, root, B256::ZERO, key).await;
    register(root, B256::ZERO, sig.clone()).await.unwrap();
    assert_revert!(
        register(root, B256::ZERO, sig).await,
        RPBErrors::LineageTaken
    );
    let stored = c
        .view(rpb, RPB::getLineageCall { lineage: root })
        .await
        .unwrap();
    assert_eq!(
        (stored.owner, stored.parent, stored.agentKey),
        (owner.address(), B256::ZERO, key)
    );
    // A child signed by someone else than the root's owner is refused; the owner's is kept.
    let sig = owner_signature(c, &stranger, child, root, key).await;
    assert_revert!(
        register(child, root, sig).await,
        RPBErrors::BadOwnerSignature
    );
    let sig = owner_signature(c, &owner, child, root, key).await;
    register(child, root, sig).await.unwrap();
    let stored = c
        .view(rpb, RPB::getLineageCall { lineage: child })
        .await
        .unwrap();
    assert_eq!((stored.owner, stored.parent), (owner.address(), root));
}

#[tokio::test]
async fn lineages_are_registered_with_their_owners_signature_on_embedded() {
    let (c, cast) = crate::embedded::fixture().await;
    lineages(&c, &cast).await;
}
