//! The epoch mint tree: (address, amount) leaves in the contract's encoding, sorted by address.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use autonet_contracts::merkle::{MerkleTree, mint_leaf};
use serde::{Deserialize, Serialize};

use crate::ProtocolError;

/// The mint list of an epoch, as the aggregator publishes it (fetchable by content id).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MintList {
    /// Message version, [`crate::wire::WIRE_VERSION`]; decoding refuses any other.
    pub version: u16,
    /// Network epoch whose accepted solutions earn these mints.
    pub epoch: u64,
    /// (address, WAD amount), sorted by address, amounts > 0.
    pub entries: Vec<([u8; 20], [u8; 32])>,
}

impl crate::wire::Versioned for MintList {
    fn version(&self) -> u16 {
        self.version
    }
}

impl MintList {
    /// Builds a list from per-agent amounts; agent names that are not addresses are refused.
    pub fn from_agents(epoch: u64, mint: &BTreeMap<String, u128>) -> Result<Self, ProtocolError> {
        let mut by_address: BTreeMap<Address, U256> = BTreeMap::new();
        for (agent, amount) in mint {
            let a: Address = agent.parse().map_err(|_| {
                ProtocolError::Settlement(format!("mint agent {agent} is not an address"))
            })?;
            *by_address.entry(a).or_default() += U256::from(*amount);
        }
        Ok(MintList {
            version: crate::wire::WIRE_VERSION,
            epoch,
            entries: by_address
                .into_iter()
                .filter(|(_, v)| !v.is_zero())
                .map(|(a, v)| (a.into_array(), v.to_be_bytes::<32>()))
                .collect(),
        })
    }

    /// (address, amount) pairs.
    pub fn pairs(&self) -> Vec<(Address, U256)> {
        self.entries
            .iter()
            .map(|(a, v)| (Address::from(*a), U256::from_be_bytes(*v)))
            .collect()
    }

    /// Sum of the amounts.
    pub fn total(&self) -> U256 {
        self.pairs().iter().fold(U256::ZERO, |s, (_, v)| s + *v)
    }

    fn tree(&self) -> Option<MerkleTree> {
        MerkleTree::new(
            self.pairs()
                .iter()
                .map(|(a, v)| mint_leaf(*a, *v))
                .collect(),
        )
    }

    /// The mint root. An empty list has a root no leaf proves, derived from the epoch: every
    /// epoch posts a root, so every epoch's model is named on chain by a confirmed root.
    pub fn root(&self) -> B256 {
        self.tree().map(|t| t.root()).unwrap_or_else(|| {
            alloy::primitives::keccak256(
                [
                    b"autonet.empty-mint-root.v1".as_slice(),
                    &self.epoch.to_be_bytes(),
                ]
                .concat(),
            )
        })
    }

    /// `who`'s amount and proof, if it is in the list.
    pub fn proof_for(&self, who: Address) -> Option<(U256, Vec<B256>)> {
        let pairs = self.pairs();
        let i = pairs.iter().position(|(a, _)| *a == who)?;
        Some((pairs[i].1, self.tree()?.proof(i)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autonet_contracts::merkle::verify;

    #[test]
    fn proofs_verify_against_the_root() {
        let a = Address::repeat_byte(1);
        let b = Address::repeat_byte(2);
        let mint: BTreeMap<String, u128> = [
            (b.to_string(), 5u128),
            (a.to_string(), 7u128),
            (Address::repeat_byte(3).to_string(), 0u128),
        ]
        .into_iter()
        .collect();
        let list = MintList::from_agents(1, &mint).unwrap();
        assert_eq!(list.pairs().len(), 2);
        assert_eq!(list.total(), U256::from(12));
        let (amount, proof) = list.proof_for(b).unwrap();
        assert_eq!(amount, U256::from(5));
        assert!(verify(&proof, list.root(), mint_leaf(b, amount)));
        assert!(list.proof_for(Address::repeat_byte(9)).is_none());
        let bad: BTreeMap<String, u128> =
            [("_unattributed".to_string(), 1u128)].into_iter().collect();
        assert!(MintList::from_agents(1, &bad).is_err());
    }
}
