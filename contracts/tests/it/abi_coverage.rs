//! Every external function of every ABI is exercised. Protocol functions get semantic scenarios
//! (lifecycle, governance, agent registry, shard registry); any function still untouched after
//! them (inherited OpenZeppelin surface such as `permit` or `castVoteBySig`) is swept with
//! zero-valued arguments from an unprivileged account and must either succeed or revert with a
//! named error. The test fails if any ABI function was never invoked.

use std::time::Duration;

use alloy::dyn_abi::{DynSolType, DynSolValue, JsonAbiExt, Specifier};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use autonet_contracts::bindings::{
    self, ATNToken, AutonetGovernor, ModelShardRegistry, ParticipantStaking, Project, RPB,
    RepToken, Timelock,
};
use autonet_contracts::embedded::dev_key;
use autonet_contracts::revert::{
    AutonetGovernorErrors, ModelShardRegistryErrors, ParticipantStakingErrors, ProjectErrors,
    RPBErrors, RepTokenErrors, TimelockErrors,
};
use autonet_contracts::{Backend, Chain, Contracts, ProtocolView, Role};

use crate::helpers::{Cast, advance_past, assert_revert, atn};
use crate::scenarios;

fn dev_index<B: Backend>(c: &Contracts<B>, who: Address) -> u32 {
    c.backend()
        .accounts()
        .iter()
        .position(|a| *a == who)
        .unwrap() as u32
}

/// What `agent` signs to register `peer_id` (`RPB.bindingDigest`).
async fn binding_digest<B: Backend>(c: &Contracts<B>, agent: Address, peer_id: &Bytes) -> B256 {
    c.view(
        c.addresses.rpb,
        RPB::bindingDigestCall {
            agent,
            peerId: peer_id.clone(),
        },
    )
    .await
    .unwrap()
}

/// `key`'s ECDSA signature of `digest`.
fn signature(key: &PrivateKeySigner, digest: B256) -> Bytes {
    Bytes::from(
        key.sign_message_sync(digest.as_slice())
            .unwrap()
            .as_bytes()
            .to_vec(),
    )
}

/// `owner` lets `spender` move `value` of its ATN.
async fn approve<B: Backend>(c: &Contracts<B>, owner: Address, spender: Address, value: U256) {
    c.send(
        owner,
        c.addresses.atn,
        ATNToken::approveCall { spender, value },
    )
    .await
    .unwrap();
}

/// Governance: REP delegation, a proposal that changes the timelock delay, vote, queue, execute.
pub async fn governance<B: Backend>(c: &Contracts<B>, cast: &Cast) {
    let d = c.addresses;
    let voter = cast.coordinators[0];
    c.send(
        cast.deployer,
        d.rep,
        RepToken::mintCall {
            to: voter,
            amount: atn(100),
        },
    )
    .await
    .unwrap();
    assert_revert!(
        c.send(
            voter,
            d.rep,
            RepToken::transferCall {
                to: cast.outsider,
                value: atn(1),
            },
        )
        .await,
        RepTokenErrors::Soulbound,
    );
    c.send(voter, d.rep, RepToken::delegateCall { delegatee: voter })
        .await
        .unwrap();
    c.backend().mine(1).await.unwrap();
    let targets = vec![d.timelock];
    let values = vec![U256::ZERO];
    let calldatas: Vec<Bytes> = vec![
        Timelock::updateDelayCall {
            newDelay: U256::from(2),
        }
        .abi_encode()
        .into(),
    ];
    let description = "raise the timelock delay".to_string();
    let description_hash = keccak256(description.as_bytes());
    let propose = AutonetGovernor::proposeCall {
        targets: targets.clone(),
        values: values.clone(),
        calldatas: calldatas.clone(),
        description,
    };
    c.send(voter, d.governor, propose).await.unwrap();
    let id = c
        .view(
            d.governor,
            AutonetGovernor::hashProposalCall {
                targets: targets.clone(),
                values: values.clone(),
                calldatas: calldatas.clone(),
                descriptionHash: description_hash,
            },
        )
        .await
        .unwrap();
    c.backend().mine(2).await.unwrap();
    c.send(
        voter,
        d.governor,
        AutonetGovernor::castVoteCall {
            proposalId: id,
            support: 1,
        },
    )
    .await
    .unwrap();
    assert_revert!(
        c.send(
            voter,
            d.governor,
            AutonetGovernor::castVoteCall {
                proposalId: id,
                support: 1,
            },
        )
        .await,
        AutonetGovernorErrors::GovernorAlreadyCastVote,
    );
    let deadline = c
        .view(
            d.governor,
            AutonetGovernor::proposalDeadlineCall { proposalId: id },
        )
        .await
        .unwrap();
    advance_past(c, deadline.to::<u64>()).await;
    let succeeded = 4u8;
    assert_eq!(
        c.view(d.governor, AutonetGovernor::stateCall { proposalId: id })
            .await
            .unwrap(),
        succeeded
    );
    let queue = AutonetGovernor::queueCall {
        targets: targets.clone(),
        values: values.clone(),
        calldatas: calldatas.clone(),
        descriptionHash: description_hash,
    };
    c.send(voter, d.governor, queue).await.unwrap();
    let execute = AutonetGovernor::executeCall {
        targets,
        values,
        calldatas,
        descriptionHash: description_hash,
    };
    // The timelock delay is in seconds: keep mining until the block timestamp passes it (a
    // generous deadline: on a loaded machine the node itself may answer slowly).
    let until = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        c.backend().mine(1).await.unwrap();
        match c.send(voter, d.governor, execute.clone()).await {
            Ok(_) => break,
            Err(e) if tokio::time::Instant::now() < until => {
                assert!(
                    matches!(
                        e.revert(),
                        Some(TimelockErrors::TimelockUnexpectedOperationState(_))
                    ),
                    "{e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("proposal never became executable: {e}"),
        }
    }
    assert_eq!(
        c.view(d.timelock, Timelock::getMinDelayCall {})
            .await
            .unwrap(),
        U256::from(2)
    );
}

/// Agent registry: binding with both signatures, inference revenue split, shares, sponsorship.
pub async fn agents<B: Backend>(c: &Contracts<B>, cast: &Cast) {
    let d = c.addresses;
    let agent = cast.solvers[0];
    let key = dev_key(dev_index(c, agent));
    let peer_id = Bytes::from_static(b"\x00\x24\x08\x01\x12\x20peer-id-bytes-of-agent-zero....");
    let digest = binding_digest(c, agent, &peer_id).await;
    let sig = signature(&key, digest);
    let wrong = signature(&dev_key(0), digest);
    let peer_sig = Bytes::from_static(&[7u8; 64]);
    // The outsider relays every registration of `agent`, with the same PeerId signature.
    let register = |peer: Bytes, sig: Bytes| {
        c.register_agent(cast.outsider, agent, peer, peer_sig.clone(), sig)
    };
    assert_revert!(
        register(peer_id.clone(), wrong).await,
        RPBErrors::BadAgentSignature
    );
    assert_revert!(
        register(Bytes::new(), sig.clone()).await,
        RPBErrors::EmptyPeerId
    );
    register(peer_id.clone(), sig.clone()).await.unwrap();
    assert_revert!(
        register(peer_id.clone(), sig.clone()).await,
        RPBErrors::AlreadyRegistered,
    );
    let stored = c.view(d.rpb, RPB::getAgentCall { agent }).await.unwrap();
    assert_eq!(stored.peerId, peer_id);
    assert_eq!(stored.digest, digest);
    let count = RPB::claimCountCall {
        peerId: peer_id.clone(),
    };
    assert_eq!(c.view(d.rpb, count.clone()).await.unwrap(), U256::from(1));
    let claims = c
        .view(
            d.rpb,
            RPB::claimsOfCall {
                peerId: peer_id.clone(),
                start: U256::ZERO,
                count: U256::MAX,
            },
        )
        .await
        .unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].agent, agent);
    assert_eq!(claims[0].peerSignature, peer_sig);
    // The signature is checked off chain: its bytes are not a valid Ed25519 signature, so the
    // claim binds nothing.
    assert_eq!(c.peer_owner(peer_id.clone()).await.unwrap(), Address::ZERO);
    assert_revert!(
        register(Bytes::from(vec![1u8; 129]), Bytes::new()).await,
        RPBErrors::PeerBytesTooLong,
    );
    c.deregister_agent(agent).await.unwrap();
    assert_eq!(c.view(d.rpb, count).await.unwrap(), U256::ZERO);
    register(peer_id.clone(), sig.clone())
        .await
        .map(|_| ())
        .expect_err("a registration cannot be replayed: the nonce moved on");
    let digest = binding_digest(c, agent, &peer_id).await;
    let sig = signature(&key, digest);
    register(peer_id.clone(), sig).await.unwrap();

    let holder = cast.coordinators[1];
    approve(c, holder, d.rpb, atn(10)).await;
    c.send(holder, d.rpb, RPB::purchaseSharesCall { amount: atn(10) })
        .await
        .unwrap();
    let payer = cast.coordinators[0];
    approve(c, payer, d.rpb, atn(100)).await;
    assert_revert!(
        c.send(
            payer,
            d.rpb,
            RPB::recordInferenceCall {
                provider: cast.outsider,
                amount: atn(100),
            },
        )
        .await,
        RPBErrors::NotRegistered,
    );
    c.send(
        payer,
        d.rpb,
        RPB::recordInferenceCall {
            provider: agent,
            amount: atn(100),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.view(d.rpb, RPB::balancesCall(agent)).await.unwrap(),
        atn(60)
    );
    assert_eq!(
        c.view(d.rpb, RPB::pendingDividendsCall { holder })
            .await
            .unwrap(),
        atn(25)
    );
    let before = c.atn_balance(holder).await.unwrap();
    c.send(holder, d.rpb, RPB::withdrawCall {}).await.unwrap();
    assert_eq!(c.atn_balance(holder).await.unwrap(), before + atn(25));
    assert_revert!(
        c.send(holder, d.rpb, RPB::withdrawCall {}).await,
        RPBErrors::NothingToWithdraw,
    );

    let sponsor = cast.aggregator;
    approve(c, sponsor, d.rpb, atn(5)).await;
    c.send(
        sponsor,
        d.rpb,
        RPB::registerAsSponsorCall { budget: atn(5) },
    )
    .await
    .unwrap();
    assert_revert!(
        c.send(
            sponsor,
            d.rpb,
            RPB::sponsorAgentCall {
                agent,
                amount: atn(6),
            },
        )
        .await,
        RPBErrors::InsufficientBudget,
    );
    c.send(
        sponsor,
        d.rpb,
        RPB::sponsorAgentCall {
            agent,
            amount: atn(5),
        },
    )
    .await
    .unwrap();
    let before = c.atn_balance(agent).await.unwrap();
    c.send(agent, d.rpb, RPB::withdrawCall {}).await.unwrap();
    assert_eq!(c.atn_balance(agent).await.unwrap(), before + atn(65));
    c.send(agent, d.rpb, RPB::deregisterAgentCall {})
        .await
        .unwrap();
    assert_revert!(
        c.send(agent, d.rpb, RPB::deregisterAgentCall {}).await,
        RPBErrors::NotRegistered,
    );
}

/// Shard registry management and staking/project administration.
pub async fn registries<B: Backend>(c: &Contracts<B>, cast: &Cast) {
    use autonet_contracts::merkle::{MerkleTree, shard_leaf};
    let d = c.addresses;
    let leaves: Vec<B256> = (0..14u8).map(|i| shard_leaf(&[i; 10])).collect();
    let tree = MerkleTree::new(leaves.clone()).unwrap();
    let model = B256::repeat_byte(0xab);
    let registration = autonet_contracts::ModelRegistration {
        model_id: model,
        project_id: U256::ZERO,
        root: tree.root(),
        k: 10,
        m: 4,
        epoch: 0,
        leaves: leaves.clone(),
    };
    assert_revert!(
        c.register_model(cast.outsider, &registration).await,
        ModelShardRegistryErrors::NotActive,
    );
    // A project's models are registered by its founder or publishers only.
    let foreign = autonet_contracts::ModelRegistration {
        project_id: U256::from(1),
        ..registration.clone()
    };
    assert_revert!(
        c.register_model(cast.aggregator, &foreign).await,
        ModelShardRegistryErrors::NotAuthorized,
    );
    c.register_model(cast.aggregator, &registration)
        .await
        .unwrap();
    assert_revert!(
        c.register_model(cast.aggregator, &registration).await,
        ModelShardRegistryErrors::ModelExists,
    );
    assert_revert!(
        c.announce_shard(cast.outsider, model, 3, leaves[3], tree.proof(3).unwrap())
            .await,
        ModelShardRegistryErrors::NotStaked,
    );
    let holder = cast.aggregator;
    assert_revert!(
        c.announce_shard(holder, model, 3, leaves[2], tree.proof(3).unwrap())
            .await,
        ModelShardRegistryErrors::InvalidProof,
    );
    assert_revert!(
        c.announce_shard(holder, model, 14, leaves[2], tree.proof(2).unwrap())
            .await,
        ModelShardRegistryErrors::ShardIndexOutOfRange,
    );
    c.announce_shard(holder, model, 3, leaves[3], tree.proof(3).unwrap())
        .await
        .unwrap();
    assert_revert!(
        c.announce_shard(holder, model, 3, leaves[3], tree.proof(3).unwrap())
            .await,
        ModelShardRegistryErrors::AlreadyHolder,
    );
    assert_eq!(
        c.view(
            d.shards,
            ModelShardRegistry::getHoldersCall {
                modelId: model,
                index: 3
            }
        )
        .await
        .unwrap(),
        vec![holder]
    );
    assert_eq!(
        c.view(
            d.shards,
            ModelShardRegistry::availableShardsCall { modelId: model }
        )
        .await
        .unwrap(),
        1
    );
    let report = ModelShardRegistry::reportVerificationCall {
        modelId: model,
        holder,
        ok: false,
    };
    assert_revert!(
        c.send(holder, d.shards, report.clone()).await,
        ModelShardRegistryErrors::NotAuthorized,
    );
    c.send(cast.coordinators[0], d.shards, report)
        .await
        .unwrap();
    assert_eq!(
        c.view(d.shards, ModelShardRegistry::reputationCall { holder })
            .await
            .unwrap()
            .as_i64(),
        450
    );
    c.send(
        holder,
        d.shards,
        ModelShardRegistry::removeShardCall {
            modelId: model,
            index: 3,
        },
    )
    .await
    .unwrap();
    assert_revert!(
        c.send(
            holder,
            d.shards,
            ModelShardRegistry::removeShardCall {
                modelId: model,
                index: 3,
            },
        )
        .await,
        ModelShardRegistryErrors::NotHolder,
    );

    let solver = cast.solvers[0];
    approve(c, solver, d.staking, atn(5)).await;
    c.send(
        solver,
        d.staking,
        ParticipantStaking::addToStakeCall { amount: atn(5) },
    )
    .await
    .unwrap();
    assert_revert!(
        c.stake(solver, Role::Solver, atn(50)).await,
        ParticipantStakingErrors::AlreadyStaked,
    );
    assert_revert!(
        c.stake(cast.outsider, Role::Solver, atn(49)).await,
        ParticipantStakingErrors::BelowMinimum,
    );
    assert_revert!(
        c.send(
            cast.outsider,
            d.staking,
            ParticipantStaking::slashCall {
                account: solver,
                amount: atn(1),
                reason: B256::ZERO,
            },
        )
        .await,
        ParticipantStakingErrors::NotAuthorized,
    );
    c.send(
        cast.deployer,
        d.staking,
        ParticipantStaking::setMinStakeCall {
            role: Role::Solver as u8,
            amount: atn(50),
        },
    )
    .await
    .unwrap();
    c.send(
        cast.deployer,
        d.staking,
        ParticipantStaking::setUnbondingBlocksCall { blocks: 150 },
    )
    .await
    .unwrap();
    assert_revert!(
        c.send(
            cast.outsider,
            d.staking,
            ParticipantStaking::setMinStakeCall {
                role: 2,
                amount: U256::ZERO,
            },
        )
        .await,
        ParticipantStakingErrors::OwnableUnauthorizedAccount,
    );
    let id = c
        .create_project(cast.proposer, "publishing", U256::from(1))
        .await
        .unwrap();
    assert_revert!(
        c.send(
            cast.outsider,
            d.project,
            Project::publishModelCall {
                projectId: id,
                modelHash: B256::ZERO,
            },
        )
        .await,
        ProjectErrors::NotAuthorized,
    );
    c.send(
        cast.proposer,
        d.project,
        Project::setModelPublisherCall {
            projectId: id,
            publisher: cast.aggregator,
            allowed: true,
        },
    )
    .await
    .unwrap();
    c.send(
        cast.aggregator,
        d.project,
        Project::publishModelCall {
            projectId: id,
            modelHash: B256::repeat_byte(1),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.view(d.project, Project::getProjectCall { projectId: id })
            .await
            .unwrap()
            .modelVersion,
        1
    );
    assert_revert!(
        c.send(
            cast.outsider,
            d.project,
            Project::reserveTaskBudgetCall {
                projectId: id,
                amount: U256::from(1),
            },
        )
        .await,
        ProjectErrors::NotAuthorized,
    );
    assert_revert!(
        c.send(
            cast.deployer,
            d.project,
            Project::wireCall {
                taskContract_: d.task,
                rewards_: d.rewards,
            },
        )
        .await,
        ProjectErrors::AlreadyWired,
    );
    assert_revert!(
        c.create_project(cast.proposer, "bad", U256::ZERO).await,
        ProjectErrors::InvalidThreshold,
    );
    assert_revert!(
        c.fund_project(cast.proposer, U256::from(999), atn(1)).await,
        ProjectErrors::UnknownProject,
    );
}

fn zero_value(ty: &DynSolType) -> DynSolValue {
    match ty {
        DynSolType::Address => DynSolValue::Address(Address::ZERO),
        DynSolType::Bool => DynSolValue::Bool(false),
        DynSolType::Uint(n) => DynSolValue::Uint(U256::ZERO, *n),
        DynSolType::Int(n) => DynSolValue::Int(alloy::primitives::I256::ZERO, *n),
        DynSolType::FixedBytes(n) => DynSolValue::FixedBytes(B256::ZERO, *n),
        DynSolType::Bytes => DynSolValue::Bytes(vec![]),
        DynSolType::String => DynSolValue::String(String::new()),
        DynSolType::Array(_) => DynSolValue::Array(vec![]),
        DynSolType::FixedArray(t, n) => DynSolValue::FixedArray(vec![zero_value(t); *n]),
        DynSolType::Tuple(ts) => DynSolValue::Tuple(ts.iter().map(zero_value).collect()),
        other => panic!("unsupported ABI type {other:?}"),
    }
}

/// Runs every semantic scenario, sweeps what is left, and checks every ABI function was invoked.
pub async fn every_function<B: Backend>(c: &Contracts<B>, cast: &Cast) {
    scenarios::lifecycle(c, cast).await;
    governance(c, cast).await;
    agents(c, cast).await;
    crate::lineage::lineages(c, cast).await;
    registries(c, cast).await;
    crate::differential::encodings_match(c, 1).await;
    crate::differential::consensus_matches(c, 5, 1).await;
    let mut swept = Vec::new();
    for (_, name, address) in c.addresses.entries() {
        let artifact = bindings::cached(name).unwrap();
        for f in artifact.abi.functions() {
            if c.invoked().contains(&(name, f.selector())) {
                continue;
            }
            let args: Vec<DynSolValue> = f
                .inputs
                .iter()
                .map(|p| zero_value(&p.resolve().unwrap()))
                .collect();
            let data: Bytes = f.abi_encode_input(&args).unwrap().into();
            let view = matches!(
                f.state_mutability,
                alloy::json_abi::StateMutability::View | alloy::json_abi::StateMutability::Pure
            );
            let result = if view {
                c.call_raw(cast.outsider, address, data).await.map(|_| ())
            } else {
                c.send_raw(cast.outsider, address, data).await.map(|_| ())
            };
            if let Err(e) = &result {
                assert!(
                    e.is_declared_revert(),
                    "{name}.{}: unnamed failure {e}",
                    f.name
                );
            }
            swept.push(format!("{name}.{}", f.name));
        }
    }
    println!(
        "swept with zero arguments ({}): {}",
        swept.len(),
        swept.join(", ")
    );
    let invoked = c.invoked();
    let mut missing = Vec::new();
    for a in bindings::all_artifacts().unwrap() {
        for f in a.abi.functions() {
            if !invoked.contains(&(a.name, f.selector())) {
                missing.push(format!("{}.{}", a.name, f.name));
            }
        }
    }
    assert!(missing.is_empty(), "untested ABI functions: {missing:?}");
}

#[tokio::test]
async fn every_abi_function_is_exercised_on_embedded() {
    let (c, cast) = crate::embedded::fixture().await;
    every_function(&c, &cast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_abi_function_is_exercised_on_anvil() {
    let (_anvil, c, cast) = crate::anvil::fixture().await;
    every_function(&c, &cast).await;
}
