//! Who may make a host hold what: the chain's word on models and peers.
//!
//! A host takes a shard only of a model registered on `ModelShardRegistry` whose root, k and m
//! match the manifest it is handed, and only when asked by a staked peer (its PeerId bound on
//! chain to an address with an active role stake, as the gossip gate checks senders) or by the
//! peer the placement rule makes responsible for re-placing that shard (a repairing holder).
//! Old versions are collected by on-chain registration order, never by the manifest's
//! self-declared name or version. [`HoldAuthority`] is the object-safe view of the chain the host
//! needs; [`ChainAuthority`] reads it from any [`ProtocolView`].

use std::sync::Arc;

use alloy::primitives::{B256, Bytes};
use autonet_contracts::{ProtocolView, RegisteredModel};
use autonet_p2p::PeerId;
use futures::future::BoxFuture;

use super::ModelId;
use super::error::ShardError;

/// What a shard host asks the chain.
pub trait HoldAuthority: Send + Sync {
    /// `model`'s registration on `ModelShardRegistry`; an error when it is not registered or the
    /// chain cannot be read.
    fn registration(&self, model: ModelId) -> BoxFuture<'_, Result<RegisteredModel, ShardError>>;
    /// Whether `peer` is bound on chain to an address staked (bonded, not unbonding) in a role.
    fn is_staked(&self, peer: PeerId) -> BoxFuture<'_, bool>;
}

impl std::fmt::Debug for dyn HoldAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HoldAuthority")
    }
}

/// [`HoldAuthority`] over a chain.
pub struct ChainAuthority<C>(pub Arc<C>);

impl<C> std::fmt::Debug for ChainAuthority<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainAuthority")
    }
}

impl<C: ProtocolView + 'static> HoldAuthority for ChainAuthority<C> {
    fn registration(&self, model: ModelId) -> BoxFuture<'_, Result<RegisteredModel, ShardError>> {
        Box::pin(async move {
            self.0
                .model_info(B256::from(model))
                .await
                .map_err(|e| ShardError::Chain(format!("model {}: {e}", B256::from(model))))
        })
    }

    fn is_staked(&self, peer: PeerId) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            // The same rule as the gossip gate's sender check.
            let Ok(owner) = self.0.peer_owner(Bytes::from(peer.to_bytes())).await else {
                return false;
            };
            if owner.is_zero() {
                return false;
            }
            self.0
                .stake_of(owner)
                .await
                .is_ok_and(|s| !s.amount.is_zero() && s.role != 0 && s.unlock_block == 0)
        })
    }
}

/// Whether `manifest`'s root and coding are the registered ones.
pub fn matches_registration(
    manifest: &autonet_models::sharding::ShardManifest,
    registered: &RegisteredModel,
) -> bool {
    manifest.root.0 == registered.root.0 && manifest.k == registered.k && manifest.m == registered.m
}
