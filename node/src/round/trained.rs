//! A round with real work, done by the protocol core the role actors use: proposers draw a
//! batch and a hidden held-out set per task, every solver trains its slice, every coordinator
//! recomputes every bundle and scores it on the held-out set, the aggregator merges the bundles
//! and builds the mint list (`autonet bench epoch`).

use alloy::primitives::{Address, B256, U256, keccak256};
use anyhow::Context;
use autonet_actors::protocol::assign::slice_of;
use autonet_actors::protocol::data::{draw, held_out_turns, training_turns};
use autonet_actors::protocol::mint::MintList;
use autonet_actors::protocol::model::{Accepted, Substrate, TrainingModel};
use autonet_actors::protocol::score::score;
use autonet_actors::protocol::secrets::{SaltPurpose, derive_salt};
use autonet_actors::protocol::wire::content_id;

use super::{Mint, Proposal, Publication, Solution, Work};

/// Training items per task batch.
const BATCH: usize = 24;
/// Held-out items per task.
const HELD_OUT: usize = 4;

/// One task's data: its seed, training batch and held-out set, and its members' bundles.
#[derive(Debug)]
struct Drawn {
    seed: B256,
    batch: Vec<String>,
    held: Vec<String>,
    members: Vec<Address>,
    bundles: Vec<Vec<u8>>,
}

/// The substrate model trained from genesis, every solver on a slice of `slice_len` items.
#[derive(Debug)]
pub struct Trained {
    model: Substrate,
    base: Vec<u8>,
    slice_len: usize,
    epoch: u64,
    tasks: Vec<Drawn>,
}

impl Trained {
    /// A round of epoch `epoch` from the genesis model.
    pub fn new(slice_len: usize, epoch: u64) -> anyhow::Result<Self> {
        let model = Substrate::new()?;
        let base = model.genesis();
        Ok(Trained {
            model,
            base,
            slice_len,
            epoch,
            tasks: Vec::new(),
        })
    }

    fn task(&self, k: usize) -> anyhow::Result<&Drawn> {
        self.tasks.get(k).context("task not proposed")
    }
}

impl Work for Trained {
    fn propose(&mut self, k: usize) -> anyhow::Result<Proposal> {
        let seed = keccak256(format!("bench-epoch-{k}"));
        let batch = draw(
            &training_turns(),
            keccak256([seed.as_slice(), b"b"].concat()),
            BATCH,
        );
        let held = draw(
            &held_out_turns(),
            keccak256([seed.as_slice(), b"h"].concat()),
            HELD_OUT,
        );
        let held_out = B256::from(content_id(held.concat().as_bytes()));
        self.tasks.push(Drawn {
            seed,
            batch,
            held,
            members: Vec::new(),
            bundles: Vec::new(),
        });
        Ok(Proposal {
            spec_hash: seed,
            held_out,
            salt: derive_salt(&[7; 32], SaltPurpose::GroundTruth, U256::from(k)),
        })
    }

    fn solve(
        &mut self,
        k: usize,
        task: U256,
        members: &[Address],
    ) -> anyhow::Result<Vec<Solution>> {
        let (model, base, slice_len) = (&self.model, &self.base, self.slice_len);
        let t = self.tasks.get_mut(k).context("task not proposed")?;
        let salt = derive_salt(&[9; 32], SaltPurpose::Solution, task);
        let mut out = Vec::with_capacity(members.len());
        for s in members {
            let slice = slice_of(t.seed, *s, &t.batch, slice_len);
            let bundle = model.train(base, &slice, 1, &s.to_string())?;
            out.push(Solution {
                bundle: B256::from(content_id(&bundle)),
                salt,
            });
            t.bundles.push(bundle);
        }
        t.members = members.to_vec();
        Ok(out)
    }

    fn score(
        &mut self,
        k: usize,
        _coordinator: usize,
        revealed: &[Address],
    ) -> anyhow::Result<Vec<U256>> {
        let t = self.task(k)?;
        let mut scores = Vec::with_capacity(revealed.len());
        for s in revealed {
            let j = t
                .members
                .iter()
                .position(|m| m == s)
                .context("unknown solver")?;
            let slice = slice_of(t.seed, *s, &t.batch, self.slice_len);
            let author = s.to_string();
            let v = self
                .model
                .verify(&self.base, &slice, 1, &author, &t.bundles[j], &t.held)?;
            scores.push(score(&v));
        }
        Ok(scores)
    }

    fn aggregate(&mut self) -> anyhow::Result<Mint> {
        let mut all = Vec::new();
        for t in &self.tasks {
            for (s, bundle) in t.members.iter().zip(&t.bundles) {
                all.push(Accepted {
                    author: s.to_string(),
                    slice: slice_of(t.seed, *s, &t.batch, self.slice_len),
                    epochs: 1,
                    solution: bundle.clone(),
                });
            }
        }
        let agg = self.model.aggregate(&self.base, &all)?;
        let list = MintList::from_agents(self.epoch, &agg.mint)?;
        let claims = list
            .pairs()
            .into_iter()
            .filter_map(|(who, _)| {
                let (amount, proof) = list.proof_for(who)?;
                Some((who, amount, proof))
            })
            .collect();
        Ok(Mint {
            root: list.root(),
            total: list.total(),
            model: B256::from(content_id(&agg.model)),
            claims,
        })
    }

    fn publish(&mut self, _project: U256, _mint: &Mint) -> anyhow::Result<Option<Publication>> {
        Ok(None)
    }
}
