//! `ProtocolView`: the reads a protocol role needs beyond [`Chain`]: a task's deadlines and
//! ground truth, who committed and what they revealed, the PeerId ↔ address bindings, final mint
//! roots, and the reward and slash events of a block range (for reports and audits).

use std::future::Future;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::SolEvent;

use crate::backend::{Backend, ChainError};
use crate::binding::{CLAIM_PAGE, MAX_CLAIMS_READ, PeerClaim, embedded_key, verified_owner};
use crate::bindings::{Project, RPB, ResultsRewards, TaskContract};
use crate::chain::Chain;
use crate::client::Contracts;

/// A task as the task contract stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// The project whose budget pays the rewards.
    pub project_id: U256,
    /// The account that proposed (and funded) the task.
    pub proposer: Address,
    /// Hash of the off-chain task specification.
    pub spec_hash: B256,
    /// The revealed held-out id (zero until the proposer reveals).
    pub ground_truth: B256,
    /// ATN wei shared among accepted solutions.
    pub solver_reward: U256,
    /// ATN wei shared among non-dissenting coordinators.
    pub coordinator_reward: U256,
    /// Last block at which solvers may commit.
    pub commit_deadline: u64,
    /// Last block at which solvers may reveal their commitments.
    pub reveal_deadline: u64,
    /// Last block of vote commits; votes are revealed until `vote_deadline`.
    pub vote_commit_deadline: u64,
    /// Last block of vote reveals; the task can be finalized after it.
    pub vote_deadline: u64,
    /// Where the task is in its lifecycle (open, finalized, expired).
    pub status: TaskStatus,
    /// The protocol epoch the task belongs to.
    pub epoch: u64,
}

/// A task's lifecycle state, `TaskStatus` in `AutonetTypes.sol` (same order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TaskStatus {
    /// No such task (the zero value of an unwritten record).
    None = 0,
    /// Created; commits, reveals and votes run by its deadlines.
    Open = 1,
    /// Settled by consensus: rewards paid, slashes applied.
    Finalized = 2,
    /// Closed without a quorum (or too few votes): nothing paid.
    Expired = 3,
}

/// A status value the contract's enum does not have (a newer contract than this node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown task status {0}")]
pub struct UnknownTaskStatus(pub u8);

impl TryFrom<u8> for TaskStatus {
    type Error = UnknownTaskStatus;

    fn try_from(v: u8) -> Result<Self, Self::Error> {
        match v {
            0 => Ok(TaskStatus::None),
            1 => Ok(TaskStatus::Open),
            2 => Ok(TaskStatus::Finalized),
            3 => Ok(TaskStatus::Expired),
            other => Err(UnknownTaskStatus(other)),
        }
    }
}

impl From<TaskStatus> for u8 {
    fn from(s: TaskStatus) -> u8 {
        s as u8
    }
}

/// A reward or slash event of the rewards contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewardEvent {
    /// An accepted solution was credited at finalisation.
    SolverRewarded {
        /// The task id.
        task: U256,
        /// The solver credited.
        solver: Address,
        /// The solution's consensus score `W̄_j` (WAD fixed point, 1e18 = 1.0).
        consensus: U256,
        /// ATN wei credited (withdrawn later with `claim`).
        amount: U256,
    },
    /// A non-dissenting coordinator was credited its fee at finalisation.
    CoordinatorRewarded {
        /// The task id.
        task: U256,
        /// The coordinator credited.
        coordinator: Address,
        /// ATN wei credited.
        amount: U256,
    },
    /// A participant's stake was slashed.
    Slashed {
        /// The task the offence was in.
        task: U256,
        /// The slashed account.
        account: Address,
        /// ATN wei taken from its stake.
        amount: U256,
        /// The on-chain `bytes32` reason as text (up to its first zero byte).
        reason: String,
    },
    /// An agent claimed its share of an epoch's mint root.
    MintClaimed {
        /// The epoch whose mint root was claimed from.
        epoch: U256,
        /// The claiming agent.
        agent: Address,
        /// ATN wei minted to it.
        amount: U256,
    },
    /// An account withdrew its credited rewards.
    Claimed {
        /// The withdrawing account.
        account: Address,
        /// ATN wei paid out.
        amount: U256,
    },
}

/// A change that may move a PeerId's binding or an account's stake (a reason to forget what a
/// gossip gate cached about them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingChange {
    /// A PeerId (multihash bytes) was claimed.
    Peer(Bytes),
    /// An account registered, deregistered, or its stake changed (staked, unstaking, unstaked,
    /// slashed).
    Account(Address),
}

/// Protocol reads, implemented once for every backend.
pub trait ProtocolView: Chain {
    /// A task's record.
    fn task_info(&self, task: U256) -> impl Future<Output = Result<TaskInfo, ChainError>> + Send;
    /// The id the next task will get (ids are sequential from 1).
    fn next_task_id(&self) -> impl Future<Output = Result<U256, ChainError>> + Send;
    /// Solvers that committed, in commit order.
    fn committers(
        &self,
        task: U256,
    ) -> impl Future<Output = Result<Vec<Address>, ChainError>> + Send;
    /// The bundle id `solver` revealed (zero if none).
    fn revealed_bundle(
        &self,
        task: U256,
        solver: Address,
    ) -> impl Future<Output = Result<B256, ChainError>> + Send;
    /// The address a PeerId (its multihash bytes) is bound to: the newest claim whose Ed25519
    /// signature verifies under the PeerId's key ([`crate::binding::verified_owner`]); zero if
    /// no claim verifies. Unverified claims (squatters') are ignored.
    fn peer_owner(
        &self,
        peer_id: Bytes,
    ) -> impl Future<Output = Result<Address, ChainError>> + Send;
    /// Every claim of a PeerId as stored (unverified; at most
    /// [`crate::binding::MAX_CLAIMS_READ`]).
    fn peer_claims(
        &self,
        peer_id: Bytes,
    ) -> impl Future<Output = Result<Vec<PeerClaim>, ChainError>> + Send;
    /// The PeerId `agent` claims (empty if it is not registered), whether or not it verifies.
    fn agent_peer(&self, agent: Address) -> impl Future<Output = Result<Bytes, ChainError>> + Send;
    /// The digest both keys sign to bind `peer_id` to `agent`.
    fn binding_digest(
        &self,
        agent: Address,
        peer_id: Bytes,
    ) -> impl Future<Output = Result<B256, ChainError>> + Send;
    /// The confirmed mint root of an epoch (zero until final).
    fn final_mint_root(&self, epoch: U256)
    -> impl Future<Output = Result<B256, ChainError>> + Send;
    /// The model named by an epoch's final mint root (zero until final).
    fn final_model_of(&self, epoch: U256) -> impl Future<Output = Result<B256, ChainError>> + Send;
    /// A posted mint root's (poster, model id); `None` when nobody posted it.
    fn posted_mint_root(
        &self,
        epoch: U256,
        root: B256,
    ) -> impl Future<Output = Result<Option<(Address, B256)>, ChainError>> + Send;
    /// A project's acceptance threshold (WAD).
    fn project_threshold(
        &self,
        project: U256,
    ) -> impl Future<Output = Result<U256, ChainError>> + Send;
    /// Binding and stake changes in blocks `from..=to`, in chain order.
    fn binding_changes(
        &self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<BindingChange>, ChainError>> + Send;
    /// Reward, slash and claim events in blocks `from..=to`, in chain order.
    fn reward_events(
        &self,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<RewardEvent>, ChainError>> + Send;
}

fn reason_text(reason: B256) -> String {
    let bytes: Vec<u8> = reason.iter().copied().take_while(|b| *b != 0).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl<B: Backend> ProtocolView for Contracts<B> {
    async fn next_task_id(&self) -> Result<U256, ChainError> {
        self.view(self.addresses.task, TaskContract::nextTaskIdCall {})
            .await
    }

    async fn task_info(&self, task: U256) -> Result<TaskInfo, ChainError> {
        let t = self
            .view(
                self.addresses.task,
                TaskContract::getTaskCall { taskId: task },
            )
            .await?;
        Ok(TaskInfo {
            project_id: t.projectId,
            proposer: t.proposer,
            spec_hash: t.specHash,
            ground_truth: t.groundTruth,
            solver_reward: t.solverReward,
            coordinator_reward: t.coordinatorReward,
            commit_deadline: t.commitDeadline,
            reveal_deadline: t.revealDeadline,
            vote_commit_deadline: t.voteCommitDeadline,
            vote_deadline: t.voteDeadline,
            status: TaskStatus::try_from(t.status).map_err(|e| ChainError::Decode {
                what: "task status",
                reason: e.to_string(),
            })?,
            epoch: t.epoch,
        })
    }

    async fn committers(&self, task: U256) -> Result<Vec<Address>, ChainError> {
        self.view(
            self.addresses.task,
            TaskContract::getCommittersCall { taskId: task },
        )
        .await
    }

    async fn revealed_bundle(&self, task: U256, solver: Address) -> Result<B256, ChainError> {
        self.view(
            self.addresses.task,
            TaskContract::revealedBundlesCall {
                _0: task,
                _1: solver,
            },
        )
        .await
    }

    async fn peer_owner(&self, peer_id: Bytes) -> Result<Address, ChainError> {
        if embedded_key(&peer_id).is_none() {
            return Ok(Address::ZERO);
        }
        let claims = self.peer_claims(peer_id.clone()).await?;
        Ok(verified_owner(&peer_id, &claims).unwrap_or(Address::ZERO))
    }

    async fn peer_claims(&self, peer_id: Bytes) -> Result<Vec<PeerClaim>, ChainError> {
        let rpb = self.addresses.rpb;
        let count = self
            .view(
                rpb,
                RPB::claimCountCall {
                    peerId: peer_id.clone(),
                },
            )
            .await?;
        let count = count.saturating_to::<u64>().min(MAX_CLAIMS_READ);
        let mut out = Vec::new();
        let mut start = 0;
        while start < count {
            let page = self
                .view(
                    rpb,
                    RPB::claimsOfCall {
                        peerId: peer_id.clone(),
                        start: U256::from(start),
                        count: U256::from(CLAIM_PAGE.min(count - start)),
                    },
                )
                .await?;
            if page.is_empty() {
                break;
            }
            start += page.len() as u64;
            out.extend(page.into_iter().map(|c| PeerClaim {
                agent: c.agent,
                peer_signature: c.peerSignature,
                digest: c.digest,
                registered_at: c.registeredAt,
            }));
        }
        Ok(out)
    }

    async fn agent_peer(&self, agent: Address) -> Result<Bytes, ChainError> {
        let a = self
            .view(self.addresses.rpb, RPB::getAgentCall { agent })
            .await?;
        Ok(a.peerId)
    }

    async fn binding_digest(&self, agent: Address, peer_id: Bytes) -> Result<B256, ChainError> {
        self.view(
            self.addresses.rpb,
            RPB::bindingDigestCall {
                agent,
                peerId: peer_id,
            },
        )
        .await
    }

    async fn final_mint_root(&self, epoch: U256) -> Result<B256, ChainError> {
        self.view(
            self.addresses.rewards,
            ResultsRewards::finalMintRootCall(epoch),
        )
        .await
    }

    async fn final_model_of(&self, epoch: U256) -> Result<B256, ChainError> {
        let r = self
            .view(
                self.addresses.rewards,
                ResultsRewards::finalModelOfCall { epoch },
            )
            .await?;
        Ok(r.modelId)
    }

    async fn posted_mint_root(
        &self,
        epoch: U256,
        root: B256,
    ) -> Result<Option<(Address, B256)>, ChainError> {
        let r = self
            .view(
                self.addresses.rewards,
                ResultsRewards::getMintRootCall { epoch, root },
            )
            .await?;
        Ok((!r.poster.is_zero()).then_some((r.poster, r.modelId)))
    }

    async fn project_threshold(&self, project: U256) -> Result<U256, ChainError> {
        self.view(
            self.addresses.project,
            Project::thresholdOfCall { projectId: project },
        )
        .await
    }

    async fn binding_changes(&self, from: u64, to: u64) -> Result<Vec<BindingChange>, ChainError> {
        let (rpb, staking) = (self.addresses.rpb, self.addresses.staking);
        let logs = self.backend().logs(from, to, &[rpb, staking]).await?;
        let mut out = Vec::new();
        for l in logs {
            let log = &l.log;
            if log.address == rpb {
                if let Ok(e) = RPB::AgentRegistered::decode_log(log) {
                    out.push(BindingChange::Peer(e.peerId.clone()));
                    out.push(BindingChange::Account(e.agent));
                } else if let Ok(e) = RPB::AgentDeregistered::decode_log(log) {
                    out.push(BindingChange::Account(e.agent));
                }
            } else {
                // Every staking event names its account as the first indexed topic.
                if let Some(topic) = log.topics().get(1) {
                    out.push(BindingChange::Account(Address::from_word(*topic)));
                }
            }
        }
        Ok(out)
    }

    async fn reward_events(&self, from: u64, to: u64) -> Result<Vec<RewardEvent>, ChainError> {
        let logs = self
            .backend()
            .logs(from, to, &[self.addresses.rewards])
            .await?;
        let mut out = Vec::new();
        for l in logs {
            let log = &l.log;
            if let Ok(e) = ResultsRewards::SolverRewarded::decode_log(log) {
                out.push(RewardEvent::SolverRewarded {
                    task: e.taskId,
                    solver: e.solver,
                    consensus: e.consensus,
                    amount: e.amount,
                });
            } else if let Ok(e) = ResultsRewards::CoordinatorRewarded::decode_log(log) {
                out.push(RewardEvent::CoordinatorRewarded {
                    task: e.taskId,
                    coordinator: e.coordinator,
                    amount: e.amount,
                });
            } else if let Ok(e) = ResultsRewards::ParticipantSlashed::decode_log(log) {
                out.push(RewardEvent::Slashed {
                    task: e.taskId,
                    account: e.account,
                    amount: e.amount,
                    reason: reason_text(e.reason),
                });
            } else if let Ok(e) = ResultsRewards::MintClaimed::decode_log(log) {
                out.push(RewardEvent::MintClaimed {
                    epoch: e.epoch,
                    agent: e.agent,
                    amount: e.amount,
                });
            } else if let Ok(e) = ResultsRewards::Claimed::decode_log(log) {
                out.push(RewardEvent::Claimed {
                    account: e.account,
                    amount: e.amount,
                });
            }
        }
        Ok(out)
    }
}
