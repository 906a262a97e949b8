//! Test support (feature `testing`; this crate's own unit tests always have it): an embedded
//! chain with a staked, optionally bound proposer, and a squatter's claim of a PeerId. Used by
//! the gate's and the peer's unit tests and by `autonet-tests`.

use alloy::primitives::{Bytes, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use autonet_contracts::{ATN, Chain, Contracts, EmbeddedChain, ProtocolView, Role};
use autonet_p2p::{Keypair, PeerId};

use crate::roles::RoleError;
use crate::roles::peer::bind_peer;

/// A fresh embedded chain of `accounts` dev accounts (1,000 ATN each) whose account 1 is
/// staked as a proposer, and the dev accounts' signers.
pub async fn chain_with_proposer(
    accounts: u32,
) -> Result<(Contracts<EmbeddedChain>, Vec<PrivateKeySigner>), RoleError> {
    let chain = EmbeddedChain::genesis(accounts, ATN * U256::from(1_000)).await?;
    let signers = chain.backend().signers().to_vec();
    let proposer = &signers[1];
    chain
        .stake(
            proposer.address(),
            Role::Proposer,
            Role::Proposer.min_stake(),
        )
        .await?;
    Ok((chain, signers))
}

/// [`chain_with_proposer`], with `key`'s PeerId bound to the proposer (account 0 relays).
pub async fn chain_with_bound_proposer(
    accounts: u32,
    key: &Keypair,
) -> Result<(Contracts<EmbeddedChain>, Vec<PrivateKeySigner>), RoleError> {
    let (chain, signers) = chain_with_proposer(accounts).await?;
    bind_peer(&chain, signers[0].address(), &signers[1], key).await?;
    Ok((chain, signers))
}

/// `squatter` claims `peer` on chain, relaying its own transaction: its ECDSA signature is
/// valid; the PeerId signature is not the PeerId key's, which the squatter does not have.
pub async fn squat<C: ProtocolView>(
    chain: &C,
    squatter: &PrivateKeySigner,
    peer: PeerId,
) -> Result<(), RoleError> {
    let peer = Bytes::from(peer.to_bytes());
    let digest = chain
        .binding_digest(squatter.address(), peer.clone())
        .await?;
    let sig = squatter
        .sign_message_sync(digest.as_slice())
        .map_err(|e| RoleError::Corrupt(e.to_string()))?;
    chain
        .register_agent(
            squatter.address(),
            squatter.address(),
            peer,
            Bytes::from(vec![0x5a; 64]),
            Bytes::from(sig.as_bytes().to_vec()),
        )
        .await?;
    Ok(())
}
