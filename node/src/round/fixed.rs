//! A round with made-up payloads: bundle ids, scores and mints are fixed numbers, so every call
//! of the choreography runs with no model work (`autonet bench chain`'s gas table, tests).
//! Four roles stake, a project is funded, one task runs commit → reveal → vote → finalize,
//! rewards are claimed, an epoch mint root is confirmed and claimed, and a model's shards are
//! registered.

use alloy::primitives::{Address, B256, U256};
use anyhow::{Context, ensure};
use autonet_contracts::merkle::{MerkleTree, mint_leaf, shard_leaf};
use autonet_contracts::{ATN, Backend, Chain, Contracts, ModelRegistration};

use super::{Cast, Mint, PER_TASK, Proposal, Publication, Solution, Terms, Work};

/// Accounts a fixed round needs: 0 deploys and funds, 1 proposes, 2..=4 solve, 5..=7
/// coordinate, 8 aggregates.
pub const ACCOUNTS: usize = 9;

fn wad_milli(x: u64) -> U256 {
    U256::from(x) * U256::from(1_000_000_000_000_000u64)
}

/// Gives every account but the deployer (account 0) 100,000 ATN for its stakes.
pub async fn fund<B: Backend>(c: &Contracts<B>) -> anyhow::Result<()> {
    let accounts = c.backend().accounts();
    for a in accounts.iter().skip(1) {
        c.transfer_atn(accounts[0], *a, ATN * U256::from(100_000u64))
            .await?;
    }
    Ok(())
}

/// Runs fixed round number `round` (from 1) on `c` with the accounts of [`ACCOUNTS`]; the
/// number makes ids and the epoch unique when rounds repeat on one chain.
pub async fn round<B: Backend>(
    c: &Contracts<B>,
    accounts: &[Address],
    round: u64,
) -> anyhow::Result<()> {
    ensure!(
        accounts.len() >= ACCOUNTS,
        "a fixed round needs {ACCOUNTS} accounts"
    );
    let cast = Cast {
        funder: accounts[0],
        proposer: accounts[1],
        solvers: accounts[2..5].to_vec(),
        coordinators: accounts[5..8].to_vec(),
        aggregator: accounts[8],
    };
    let terms = Terms {
        epoch: round,
        threshold: wad_milli(500),
        funding: ATN * U256::from(1_000),
        solver_reward: ATN * U256::from(300),
        coordinator_reward: ATN * U256::from(30),
        windows: [5, 5, 10],
    };
    let mut work = Fixed {
        round,
        solvers: cast.solvers.clone(),
    };
    super::run(c, &cast, &terms, &mut work, |_| {}).await
}

/// The fixed payloads of one round.
struct Fixed {
    round: u64,
    solvers: Vec<Address>,
}

impl Fixed {
    fn shards(&self) -> Vec<B256> {
        (0..14u8)
            .map(|i| shard_leaf(&[i, self.round as u8]))
            .collect()
    }
}

impl Work for Fixed {
    fn propose(&mut self, _k: usize) -> anyhow::Result<Proposal> {
        Ok(Proposal {
            spec_hash: B256::repeat_byte(0x5e),
            held_out: B256::from(U256::from(self.round)),
            salt: B256::repeat_byte(0x22),
        })
    }

    fn solve(
        &mut self,
        k: usize,
        _task: U256,
        members: &[Address],
    ) -> anyhow::Result<Vec<Solution>> {
        let at = |i: usize, offset: u64| {
            B256::from(U256::from(
                self.round * 100 + (k * PER_TASK + i) as u64 + offset,
            ))
        };
        Ok((0..members.len())
            .map(|i| Solution {
                bundle: at(i, 1),
                salt: at(i, 50),
            })
            .collect())
    }

    fn score(
        &mut self,
        _k: usize,
        coordinator: usize,
        revealed: &[Address],
    ) -> anyhow::Result<Vec<U256>> {
        Ok((0..revealed.len())
            .map(|j| wad_milli(700 + 50 * ((j + coordinator) % 3) as u64))
            .collect())
    }

    fn aggregate(&mut self) -> anyhow::Result<Mint> {
        let mints: Vec<(Address, U256)> = self.solvers.iter().map(|s| (*s, ATN)).collect();
        let tree = MerkleTree::new(mints.iter().map(|(a, v)| mint_leaf(*a, *v)).collect())
            .context("empty mint tree")?;
        let mut claims = Vec::with_capacity(mints.len());
        for (i, (who, amount)) in mints.iter().enumerate() {
            claims.push((*who, *amount, tree.proof(i).context("missing proof")?));
        }
        Ok(Mint {
            root: tree.root(),
            total: ATN * U256::from(mints.len()),
            model: B256::from(U256::from(self.round)),
            claims,
        })
    }

    fn publish(&mut self, project: U256, mint: &Mint) -> anyhow::Result<Option<Publication>> {
        let leaves = self.shards();
        let tree = MerkleTree::new(leaves.clone()).context("empty shard tree")?;
        let holder = *self.solvers.first().context("no solver")?;
        Ok(Some(Publication {
            registration: ModelRegistration {
                model_id: mint.model,
                project_id: project,
                root: tree.root(),
                k: 10,
                m: 4,
                epoch: self.round,
                leaves,
            },
            holder,
            index: 0,
            proof: tree.proof(0).context("missing proof")?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use autonet_contracts::embedded::dev_key;
    use autonet_contracts::{DeployConfig, EmbeddedChain, deploy};

    use super::*;

    /// Two fixed rounds on one chain run through, and the gas table measures every step.
    #[tokio::test]
    async fn fixed_rounds_run_and_record_gas_per_function() {
        let chain = EmbeddedChain::new(ACCOUNTS as u32);
        let c = deploy(chain, dev_key(0).address(), &DeployConfig::default())
            .await
            .unwrap();
        fund(&c).await.unwrap();
        let accounts = c.backend().accounts();
        for n in 1..=2 {
            round(&c, &accounts, n).await.unwrap();
        }
        let table = c.gas_table();
        for f in [
            "stake",
            "createTask",
            "commitSolution",
            "revealSolution",
            "commitVote",
            "revealVote",
            "finalize",
            "claimMint",
            "registerModel",
            "announceShard",
        ] {
            let row = table
                .iter()
                .find(|r| r.function == f)
                .unwrap_or_else(|| panic!("{f} measured"));
            assert!(row.calls >= 2 && row.max < 16_000_000, "{row:?}");
        }
    }
}
