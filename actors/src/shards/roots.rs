//! Where a fetcher learns the registered Merkle root of a model: the chain, normally.
//!
//! A manifest is self-certifying only as far as its id; the id a fetcher asks for is trusted
//! because `ModelShardRegistry` records it with its root, k and m. [`ChainRoots`] reads that
//! record through any [`Chain`] backend. [`KnownRoot`] is a root the caller obtained from the
//! chain earlier (for example a parent process handing it to a child, or a CLI flag); it is
//! checked exactly the same way.

use std::future::Future;

use alloy::primitives::B256;
use autonet_contracts::Chain;

use super::ModelId;
use super::authority::HoldAuthority;
use super::error::ShardError;

/// A model's registered root and coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisteredRoot {
    /// Merkle root of the shard leaves.
    pub root: [u8; 32],
    /// Data shards.
    pub k: u16,
    /// Parity shards.
    pub m: u16,
}

/// A source of registered roots.
pub trait RootSource: Send + Sync {
    /// The registered root of `model`, or an error if it is not registered.
    fn registered(
        &self,
        model: ModelId,
    ) -> impl Future<Output = Result<RegisteredRoot, ShardError>> + Send;
}

/// Roots read from `ModelShardRegistry`.
#[derive(Debug)]
pub struct ChainRoots<'a, C>(pub &'a C);

impl<C: Chain> RootSource for ChainRoots<'_, C> {
    async fn registered(&self, model: ModelId) -> Result<RegisteredRoot, ShardError> {
        let info = self
            .0
            .model_info(B256::from(model))
            .await
            .map_err(|e| ShardError::Chain(format!("model {}: {e}", B256::from(model))))?;
        Ok(RegisteredRoot {
            root: info.root.0,
            k: info.k,
            m: info.m,
        })
    }
}

/// Roots read through a shard host's [`HoldAuthority`] (the chain, behind a trait object).
#[derive(Debug)]
pub struct AuthorityRoots<'a>(pub &'a (dyn HoldAuthority + 'static));

impl RootSource for AuthorityRoots<'_> {
    async fn registered(&self, model: ModelId) -> Result<RegisteredRoot, ShardError> {
        let info = self.0.registration(model).await?;
        Ok(RegisteredRoot {
            root: info.root.0,
            k: info.k,
            m: info.m,
        })
    }
}

/// A root the caller already read from the chain, for one model.
#[derive(Debug, Clone, Copy)]
pub struct KnownRoot {
    /// The model the root belongs to.
    pub model: ModelId,
    /// Its registered root and coding.
    pub root: RegisteredRoot,
}

impl RootSource for KnownRoot {
    async fn registered(&self, model: ModelId) -> Result<RegisteredRoot, ShardError> {
        if model == self.model {
            Ok(self.root)
        } else {
            Err(ShardError::Chain(format!(
                "no known root for model {}",
                B256::from(model)
            )))
        }
    }
}
