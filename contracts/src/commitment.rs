//! Commit-reveal encodings, identical to `TaskContract`:
//! solver commitment `keccak256(abi.encodePacked(bytes32 bundle_id, bytes32 salt, address solver))`,
//! ground-truth commitment `keccak256(abi.encodePacked(bytes32 held_out_id, bytes32 salt))`;
//! and identical to `ResultsRewards`: vote commitment
//! `keccak256(abi.encode(uint256 task, address coordinator, uint256[] scores, bytes32 salt))`.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;

/// The commitment a coordinator posts for its score vector; binding task and coordinator stops
/// a copied commitment from being revealed by anyone else or on another task.
pub fn vote_commitment(task: U256, coordinator: Address, scores: &[U256], salt: B256) -> B256 {
    keccak256((task, coordinator, scores.to_vec(), salt).abi_encode_params())
}

/// The commitment a solver posts for its bundle; binding the solver's address stops a copied
/// commitment from being revealed by anyone else.
pub fn solution_commitment(bundle_id: B256, salt: B256, solver: Address) -> B256 {
    let mut buf = [0u8; 84];
    buf[..32].copy_from_slice(bundle_id.as_slice());
    buf[32..64].copy_from_slice(salt.as_slice());
    buf[64..].copy_from_slice(solver.as_slice());
    keccak256(buf)
}

/// The commitment a proposer posts for its hidden held-out set.
pub fn ground_truth_commitment(held_out_id: B256, salt: B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(held_out_id.as_slice());
    buf[32..].copy_from_slice(salt.as_slice());
    keccak256(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_abi_encode_packed() {
        let (b, s, a) = (
            B256::repeat_byte(1),
            B256::repeat_byte(2),
            Address::repeat_byte(3),
        );
        assert_eq!(
            solution_commitment(b, s, a),
            keccak256((b, s, a).abi_encode_packed())
        );
        assert_eq!(
            ground_truth_commitment(b, s),
            keccak256((b, s).abi_encode_packed())
        );
    }
}
