//! Differential bodies: Rust core vs the contracts, on any backend.

use alloy::primitives::{Address, B256, U256};
use autonet_contracts::bindings::{ModelShardRegistry, ResultsRewards, TaskContract};
use autonet_contracts::commitment::solution_commitment;
use autonet_contracts::consensus::{self, WAD};
use autonet_contracts::merkle::{MerkleTree, mint_leaf, shard_leaf};
use autonet_contracts::{Backend, Chain, Contracts, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::helpers::Cast;

fn random_score(rng: &mut StdRng) -> U256 {
    match rng.random_range(0..10) {
        0 => U256::ZERO,
        1 => WAD,
        2 => U256::from(rng.random_range(0..4u64)) * WAD / U256::from(4),
        _ => U256::from(rng.random_range(0..=1_000_000_000_000_000_000u64)),
    }
}

/// `cases` random vote sets through `consensus::run` and `ResultsRewards.computeConsensus`.
pub async fn consensus_matches<B: Backend>(c: &Contracts<B>, cases: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for case in 0..cases {
        let n = rng.random_range(1..=8usize);
        let m = rng.random_range(0..=8usize);
        let stakes: Vec<U256> = (0..n)
            .map(|_| U256::from(rng.random_range(500..5_000u64)) * autonet_contracts::ATN)
            .collect();
        let scores: Vec<Vec<U256>> = (0..n)
            .map(|_| (0..m).map(|_| random_score(&mut rng)).collect())
            .collect();
        let threshold = random_score(&mut rng);
        let pools = (
            U256::from(rng.random::<u64>()),
            U256::from(rng.random::<u64>()),
        );
        let rust = consensus::run(&stakes, &scores, threshold, pools.0, pools.1).unwrap();
        let call = ResultsRewards::computeConsensusCall {
            stakes: stakes.clone(),
            scores: scores.clone(),
            threshold,
            solverPool: pools.0,
            coordinatorPool: pools.1,
        };
        let chain = c.view(c.addresses.rewards, call).await.unwrap();
        assert_eq!(chain.consensus, rust.consensus, "case {case}: consensus");
        assert_eq!(chain.accepted, rust.accepted, "case {case}: accepted");
        assert_eq!(
            chain.solverRewards, rust.solver_rewards,
            "case {case}: solver rewards"
        );
        assert_eq!(chain.trust, rust.trust, "case {case}: trust");
        assert_eq!(chain.dissent, rust.dissent, "case {case}: dissent");
        assert_eq!(
            chain.coordinatorFees, rust.coordinator_fees,
            "case {case}: fees"
        );
    }
}

/// Every leaf of shard trees with 1..=max leaves verifies on chain; a wrong leaf does not.
pub async fn shard_proofs_verify<B: Backend>(c: &Contracts<B>, cast: &Cast, max: usize) {
    c.stake(
        cast.aggregator,
        Role::Aggregator,
        Role::Aggregator.min_stake(),
    )
    .await
    .unwrap();
    for n in 1..=max {
        let shards: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("shard {i} of {n}").into_bytes())
            .collect();
        let leaves: Vec<B256> = shards.iter().map(|s| shard_leaf(s)).collect();
        let tree = MerkleTree::new(leaves.clone()).unwrap();
        let model = B256::from(U256::from(n));
        // Registration also checks, on chain, that the leaves build the Rust tree's root.
        let registration = autonet_contracts::ModelRegistration {
            model_id: model,
            project_id: U256::ZERO,
            root: tree.root(),
            k: n as u16,
            m: 0,
            epoch: 0,
            leaves: leaves.clone(),
        };
        c.register_model(cast.aggregator, &registration)
            .await
            .unwrap();
        for (i, leaf) in leaves.iter().enumerate() {
            let proof = tree.proof(i).unwrap();
            let call = ModelShardRegistry::verifyShardCall {
                modelId: model,
                leaf: *leaf,
                proof: proof.clone(),
            };
            assert!(
                c.view(c.addresses.shards, call).await.unwrap(),
                "n={n} leaf {i}"
            );
        }
        let bad = ModelShardRegistry::verifyShardCall {
            modelId: model,
            leaf: B256::repeat_byte(1),
            proof: tree.proof(0).unwrap(),
        };
        assert!(!c.view(c.addresses.shards, bad).await.unwrap());
    }
}

/// The commitment and mint-leaf encodings agree on both sides.
pub async fn encodings_match<B: Backend>(c: &Contracts<B>, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..16 {
        let (bundle, salt) = (
            B256::from(rng.random::<[u8; 32]>()),
            B256::from(rng.random::<[u8; 32]>()),
        );
        let solver = Address::from(rng.random::<[u8; 20]>());
        let call = TaskContract::solutionCommitmentCall {
            bundleId: bundle,
            salt,
            solver,
        };
        assert_eq!(
            c.view(c.addresses.task, call).await.unwrap(),
            solution_commitment(bundle, salt, solver)
        );
        let amount = U256::from(rng.random::<u128>());
        let leaf = c
            .view(
                c.addresses.rewards,
                ResultsRewards::mintLeafCall {
                    agent: solver,
                    amount,
                },
            )
            .await
            .unwrap();
        assert_eq!(leaf, mint_leaf(solver, amount));
        let task = U256::from(rng.random::<u64>());
        let scores: Vec<U256> = (0..rng.random_range(0..6))
            .map(|_| U256::from(rng.random::<u64>()))
            .collect();
        let call = ResultsRewards::voteCommitmentCall {
            taskId: task,
            coordinator: solver,
            scores: scores.clone(),
            salt,
        };
        assert_eq!(
            c.view(c.addresses.rewards, call).await.unwrap(),
            autonet_contracts::commitment::vote_commitment(task, solver, &scores, salt)
        );
    }
}
