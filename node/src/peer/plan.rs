//! The network plan file (`--plan FILE`, JSON): what every staked peer of a network agrees on —
//! where the suite is (the Governor), the project tasks are funded from, how many epochs run, the
//! proposers in leader order, batch sizes, phase lengths in blocks and the reward pools.
//! `autonet testnet setup` writes one; a project operator publishes theirs.

use std::path::Path;

use alloy::primitives::{Address, U256};
use anyhow::{Context, bail};
use autonet_actors::protocol::phase::PhaseBlocks;
use autonet_actors::roles::ctx::NetworkPlan;
use serde::{Deserialize, Serialize};

/// The plan as stored on disk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// The discovery root of the contract suite.
    pub governor: Address,
    /// Id of the project every epoch's task is funded from.
    pub project: U256,
    /// Epochs the network runs (at least 1); peers stop after the last.
    pub epochs: u64,
    /// Epoch `e` is led by `proposers[(e - 1) % len]`.
    pub proposers: Vec<Address>,
    /// Turns per task batch (at least 1).
    pub batch: usize,
    /// Turns per solver slice of a batch (at least 1).
    pub slice: usize,
    /// Hidden held-out turns per task (at least 1).
    pub held_out: usize,
    /// Training passes a solver makes over its slice (coordinators recompute with the same).
    pub train_epochs: u32,
    /// Length of a task's commit phase, in blocks (at least 1).
    pub commit_blocks: u64,
    /// Length of the reveal phase, in blocks (at least 1).
    pub reveal_blocks: u64,
    /// Length of the vote phase, in blocks (at least 1).
    pub vote_blocks: u64,
    /// Solver reward pool per task, in ATN wei.
    pub solver_reward_wei: U256,
    /// Coordinator reward pool per task, in ATN wei.
    pub coordinator_reward_wei: U256,
}

impl PlanFile {
    /// Reads and checks a plan file.
    pub fn read(path: &Path) -> anyhow::Result<PlanFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the plan file {}", path.display()))?;
        let plan: PlanFile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid network plan", path.display()))?;
        plan.check()
            .with_context(|| format!("bad network plan {}", path.display()))?;
        Ok(plan)
    }

    /// Writes the plan (pretty JSON).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write the plan file {}", path.display()))
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.proposers.is_empty() {
            bail!("no proposers");
        }
        if self.epochs == 0 || self.batch == 0 || self.slice == 0 || self.held_out == 0 {
            bail!("epochs, batch, slice and held_out must each be at least 1");
        }
        if self.commit_blocks == 0 || self.reveal_blocks == 0 || self.vote_blocks == 0 {
            bail!("every phase needs at least one block");
        }
        Ok(())
    }

    /// The plan as the role actors take it.
    pub fn network_plan(&self) -> NetworkPlan {
        NetworkPlan {
            project: self.project,
            epochs: self.epochs,
            proposers: self.proposers.clone(),
            batch_len: self.batch,
            slice_len: self.slice,
            held_out_len: self.held_out,
            train_epochs: self.train_epochs,
            phases: PhaseBlocks {
                commit: self.commit_blocks,
                reveal: self.reveal_blocks,
                vote: self.vote_blocks,
            },
            solver_reward: self.solver_reward_wei,
            coordinator_reward: self.coordinator_reward_wei,
        }
    }

    /// The file form of a plan.
    pub fn from_network_plan(governor: Address, p: &NetworkPlan) -> PlanFile {
        PlanFile {
            governor,
            project: p.project,
            epochs: p.epochs,
            proposers: p.proposers.clone(),
            batch: p.batch_len,
            slice: p.slice_len,
            held_out: p.held_out_len,
            train_epochs: p.train_epochs,
            commit_blocks: p.phases.commit,
            reveal_blocks: p.phases.reveal,
            vote_blocks: p.phases.vote,
            solver_reward_wei: p.solver_reward,
            coordinator_reward_wei: p.coordinator_reward,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_survives_the_file_and_bad_plans_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let plan = PlanFile {
            governor: Address::repeat_byte(7),
            project: U256::from(1),
            epochs: 2,
            proposers: vec![Address::repeat_byte(1)],
            batch: 16,
            slice: 4,
            held_out: 4,
            train_epochs: 1,
            commit_blocks: 10,
            reveal_blocks: 11,
            vote_blocks: 10,
            solver_reward_wei: U256::from(30),
            coordinator_reward_wei: U256::from(6),
        };
        plan.write(&path).unwrap();
        assert_eq!(PlanFile::read(&path).unwrap(), plan);
        let back = PlanFile::from_network_plan(plan.governor, &plan.network_plan());
        assert_eq!(back, plan);
        let empty = PlanFile {
            proposers: vec![],
            ..plan
        };
        empty.write(&path).unwrap();
        let err = PlanFile::read(&path).unwrap_err();
        assert!(format!("{err:#}").contains("no proposers"), "{err:#}");
        std::fs::write(&path, "{not json").unwrap();
        assert!(PlanFile::read(&path).is_err());
    }
}
