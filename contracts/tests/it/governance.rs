//! Governance end to end on the embedded chain: a REP holder proposes a governed Registry value,
//! votes, the proposal is queued on the Timelock and executed; the value reads back. Unknown keys
//! and writes that bypass the Timelock are refused, and nothing is set by them.

use alloy::primitives::{B256, U256};
use autonet_contracts::bindings::{Registry, RepToken};
use autonet_contracts::governance::{GovError, Proposal, keys};
use autonet_contracts::revert::RegistryErrors;
use autonet_contracts::{ATN, Backend, EmbeddedChain};

use crate::helpers::{advance_past, assert_revert};

#[tokio::test]
async fn a_fingerprint_goes_through_governor_timelock_and_registry() {
    let c = EmbeddedChain::genesis(3, ATN).await.unwrap();
    let d = c.addresses;
    let [deployer, voter, outsider] = c.backend().accounts()[..3] else {
        panic!("three accounts");
    };
    let key = keys::code_hash("0.1.0");
    let value = B256::repeat_byte(0x5a);
    assert_eq!(c.governed_value(&key).await.unwrap(), None);

    // Only the Timelock writes governed values, even the Registry's owner cannot.
    let direct = Registry::setBytes32Call {
        key: key.clone(),
        value,
    };
    assert_revert!(
        c.send(deployer, d.registry, direct).await,
        RegistryErrors::NotGovernance
    );
    // A key no node reads is refused before anything is sent.
    assert!(matches!(
        Proposal::set_bytes32(d.registry, "node.code.hash.", value, "x"),
        Err(GovError::UnknownKey(_))
    ));
    assert!(Proposal::set_bytes32(d.registry, "param.nonsense", value, "x").is_err());

    // Voting power is delegated REP at the snapshot.
    let mint = RepToken::mintCall {
        to: voter,
        amount: U256::from(100u64) * ATN,
    };
    c.send(deployer, d.rep, mint).await.unwrap();
    assert_eq!(c.voting_power(voter).await.unwrap(), U256::ZERO);
    c.delegate_rep(voter, voter).await.unwrap();
    assert_eq!(
        c.voting_power(voter).await.unwrap(),
        U256::from(100u64) * ATN
    );

    let p =
        Proposal::set_bytes32(d.registry, &key, value, "publish the 0.1.0 fingerprint").unwrap();
    let id = c.propose(outsider, &p).await.unwrap();
    assert_eq!(c.proposal(id).await.unwrap(), p);
    assert_eq!(c.proposal_status(id).await.unwrap().state, "pending");
    c.backend().mine(2).await.unwrap();
    c.cast_vote(voter, id, 1).await.unwrap();
    let status = c.proposal_status(id).await.unwrap();
    assert_eq!(status.state, "active");
    assert_eq!(status.key.as_deref(), Some(key.as_str()));
    advance_past(&c, status.deadline + 1).await;
    assert_eq!(c.proposal_status(id).await.unwrap().state, "succeeded");
    c.queue_proposal(outsider, &p).await.unwrap();
    assert_eq!(c.proposal_status(id).await.unwrap().state, "queued");
    // One block is one second on the embedded chain: the 1 s delay passes in two blocks.
    c.backend().mine(2).await.unwrap();
    c.execute_proposal(outsider, &p).await.unwrap();
    assert_eq!(c.proposal_status(id).await.unwrap().state, "executed");
    assert_eq!(c.governed_value(&key).await.unwrap(), Some(value));
    assert!(matches!(
        c.proposal(id + U256::from(1)).await,
        Err(GovError::UnknownProposal(_))
    ));
}
