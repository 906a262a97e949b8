//! [`Chain`] for [`Contracts`]: every call encoded once with the typed bindings, for any backend.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::SolEvent;

use super::{Chain, ModelRegistration, RegisteredModel, Role, StakeInfo, TaskParams};
use crate::backend::{Backend, ChainError, Receipt};
use crate::bindings::{
    ATNToken, ModelShardRegistry, ParticipantStaking, Project, RPB, ResultsRewards, TaskContract,
};
use crate::client::Contracts;

/// The first `E` event in `receipt`'s logs.
fn event_in<E: SolEvent>(receipt: &Receipt) -> Result<E, ChainError> {
    receipt
        .logs
        .iter()
        .find_map(|l| E::decode_log(l).ok().map(|d| d.data))
        .ok_or(ChainError::Decode {
            what: E::SIGNATURE,
            reason: "event missing from receipt".into(),
        })
}

impl<B: Backend> Chain for Contracts<B> {
    async fn stake(&self, from: Address, role: Role, amount: U256) -> Result<Receipt, ChainError> {
        let d = self.addresses;
        self.send(
            from,
            d.atn,
            ATNToken::approveCall {
                spender: d.staking,
                value: amount,
            },
        )
        .await?;
        self.send(
            from,
            d.staking,
            ParticipantStaking::stakeCall {
                role: role as u8,
                amount,
            },
        )
        .await
    }

    async fn request_unstake(&self, from: Address) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.staking,
            ParticipantStaking::requestUnstakeCall {},
        )
        .await
    }

    async fn unstake(&self, from: Address) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.staking,
            ParticipantStaking::unstakeCall {},
        )
        .await
    }

    async fn stake_of(&self, who: Address) -> Result<StakeInfo, ChainError> {
        let r = self
            .view(
                self.addresses.staking,
                ParticipantStaking::getStakeCall { account: who },
            )
            .await?;
        Ok(StakeInfo {
            amount: r.amount,
            role: r.role,
            unlock_block: r.unlockBlock,
        })
    }

    async fn atn_balance(&self, who: Address) -> Result<U256, ChainError> {
        self.view(self.addresses.atn, ATNToken::balanceOfCall { account: who })
            .await
    }

    async fn transfer_atn(
        &self,
        from: Address,
        to: Address,
        amount: U256,
    ) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.atn,
            ATNToken::transferCall { to, value: amount },
        )
        .await
    }

    async fn register_agent(
        &self,
        from: Address,
        agent: Address,
        peer_id: Bytes,
        peer_signature: Bytes,
        agent_signature: Bytes,
    ) -> Result<Receipt, ChainError> {
        let call = RPB::registerAgentCall {
            agent,
            peerId: peer_id,
            peerSignature: peer_signature,
            agentSignature: agent_signature,
        };
        self.send(from, self.addresses.rpb, call).await
    }

    async fn deregister_agent(&self, from: Address) -> Result<Receipt, ChainError> {
        self.send(from, self.addresses.rpb, RPB::deregisterAgentCall {})
            .await
    }

    async fn create_project(
        &self,
        from: Address,
        name: &str,
        threshold: U256,
    ) -> Result<U256, ChainError> {
        let call = Project::createProjectCall {
            name: name.into(),
            descriptionHash: B256::ZERO,
            threshold,
        };
        let r = self.send(from, self.addresses.project, call).await?;
        Ok(event_in::<Project::ProjectCreated>(&r)?.projectId)
    }

    async fn fund_project(
        &self,
        from: Address,
        project_id: U256,
        amount: U256,
    ) -> Result<Receipt, ChainError> {
        let d = self.addresses;
        self.send(
            from,
            d.atn,
            ATNToken::approveCall {
                spender: d.project,
                value: amount,
            },
        )
        .await?;
        self.send(
            from,
            d.project,
            Project::fundProjectCall {
                projectId: project_id,
                amount,
            },
        )
        .await
    }

    async fn create_task(&self, from: Address, p: &TaskParams) -> Result<U256, ChainError> {
        let call = TaskContract::createTaskCall {
            projectId: p.project_id,
            specHash: p.spec_hash,
            groundTruthCommit: p.ground_truth_commit,
            solverReward: p.solver_reward,
            coordinatorReward: p.coordinator_reward,
            commitBlocks: p.commit_blocks,
            revealBlocks: p.reveal_blocks,
            voteBlocks: p.vote_blocks,
            epoch: p.epoch,
        };
        let r = self.send(from, self.addresses.task, call).await?;
        Ok(event_in::<TaskContract::TaskCreated>(&r)?.taskId)
    }

    async fn commit(
        &self,
        from: Address,
        task: U256,
        commitment: B256,
    ) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.task,
            TaskContract::commitSolutionCall {
                taskId: task,
                commitment,
            },
        )
        .await
    }

    async fn reveal_ground_truth(
        &self,
        from: Address,
        task: U256,
        held_out: B256,
        salt: B256,
    ) -> Result<Receipt, ChainError> {
        let call = TaskContract::revealGroundTruthCall {
            taskId: task,
            heldOutId: held_out,
            salt,
        };
        self.send(from, self.addresses.task, call).await
    }

    async fn reveal(
        &self,
        from: Address,
        task: U256,
        bundle_id: B256,
        salt: B256,
    ) -> Result<Receipt, ChainError> {
        let call = TaskContract::revealSolutionCall {
            taskId: task,
            bundleId: bundle_id,
            salt,
        };
        self.send(from, self.addresses.task, call).await
    }

    async fn revealed_solvers(&self, task: U256) -> Result<Vec<Address>, ChainError> {
        self.view(
            self.addresses.task,
            TaskContract::getRevealedSolversCall { taskId: task },
        )
        .await
    }

    async fn commit_vote(
        &self,
        from: Address,
        task: U256,
        commitment: B256,
    ) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.rewards,
            ResultsRewards::commitVoteCall {
                taskId: task,
                commitment,
            },
        )
        .await
    }

    async fn reveal_vote(
        &self,
        from: Address,
        task: U256,
        scores: Vec<U256>,
        salt: B256,
    ) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.rewards,
            ResultsRewards::revealVoteCall {
                taskId: task,
                scores,
                salt,
            },
        )
        .await
    }

    async fn finalize(&self, from: Address, task: U256) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.rewards,
            ResultsRewards::finalizeCall { taskId: task },
        )
        .await
    }

    async fn expire(&self, from: Address, task: U256) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.rewards,
            ResultsRewards::expireCall { taskId: task },
        )
        .await
    }

    async fn claimable(&self, who: Address) -> Result<U256, ChainError> {
        self.view(self.addresses.rewards, ResultsRewards::claimableCall(who))
            .await
    }

    async fn claim(&self, from: Address) -> Result<Receipt, ChainError> {
        self.send(from, self.addresses.rewards, ResultsRewards::claimCall {})
            .await
    }

    async fn post_mint_root(
        &self,
        from: Address,
        epoch: U256,
        root: B256,
        total: U256,
        model_id: B256,
    ) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.rewards,
            ResultsRewards::postMintRootCall {
                epoch,
                root,
                total,
                modelId: model_id,
            },
        )
        .await
    }

    async fn confirm_mint_root(
        &self,
        from: Address,
        epoch: U256,
        root: B256,
    ) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.rewards,
            ResultsRewards::confirmMintRootCall { epoch, root },
        )
        .await
    }

    async fn claim_mint(
        &self,
        from: Address,
        epoch: U256,
        amount: U256,
        proof: Vec<B256>,
    ) -> Result<Receipt, ChainError> {
        self.send(
            from,
            self.addresses.rewards,
            ResultsRewards::claimMintCall {
                epoch,
                amount,
                proof,
            },
        )
        .await
    }

    async fn register_model(
        &self,
        from: Address,
        model: &ModelRegistration,
    ) -> Result<Receipt, ChainError> {
        let call = ModelShardRegistry::registerModelCall {
            modelId: model.model_id,
            projectId: model.project_id,
            merkleRoot: model.root,
            k: model.k,
            m: model.m,
            epoch: model.epoch,
            shardLeaves: model.leaves.clone(),
        };
        self.send(from, self.addresses.shards, call).await
    }

    async fn announce_shard(
        &self,
        from: Address,
        model_id: B256,
        index: u16,
        leaf: B256,
        proof: Vec<B256>,
    ) -> Result<Receipt, ChainError> {
        let call = ModelShardRegistry::announceShardCall {
            modelId: model_id,
            index,
            leaf,
            proof,
        };
        self.send(from, self.addresses.shards, call).await
    }

    async fn model_info(&self, model_id: B256) -> Result<RegisteredModel, ChainError> {
        let r = self
            .view(
                self.addresses.shards,
                ModelShardRegistry::getModelCall { modelId: model_id },
            )
            .await?;
        Ok(RegisteredModel {
            project_id: r.projectId,
            root: r.merkleRoot,
            k: r.dataShards,
            m: r.parityShards,
            registrant: r.registrant,
            registered_at: r.registeredAt,
        })
    }

    async fn block_number(&self) -> Result<u64, ChainError> {
        self.backend().block_number().await
    }
}
