//! Salts for commit-reveal, and the commitments built from them.
//!
//! A salt is derived from a per-role secret and the task id:
//! `keccak256("autonet/salt/v1" ‖ purpose ‖ secret ‖ task)`. Deriving instead of drawing makes a
//! run reproducible from its seed and lets a restarted role recompute a salt it lost; the role
//! still stores it (with the commitment) before sending the commit, so nothing depends on it.
//! The secret never leaves the peer, so others cannot predict the salt before the reveal.

use alloy::primitives::{Address, B256, U256, keccak256};
use autonet_contracts::commitment::{ground_truth_commitment, solution_commitment};

/// What a salt is for (separates the solver's and the proposer's salts for one task).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaltPurpose {
    /// A solver's solution commitment.
    Solution,
    /// The proposer's ground-truth (held-out set) commitment.
    GroundTruth,
    /// A coordinator's vote.
    Vote,
}

/// The salt of `purpose` for `task`.
pub fn derive_salt(secret: &[u8; 32], purpose: SaltPurpose, task: U256) -> B256 {
    let tag: &[u8] = match purpose {
        SaltPurpose::Solution => b"solution",
        SaltPurpose::GroundTruth => b"ground-truth",
        SaltPurpose::Vote => b"vote",
    };
    let mut buf = Vec::with_capacity(15 + tag.len() + 64);
    buf.extend_from_slice(b"autonet/salt/v1");
    buf.extend_from_slice(tag);
    buf.extend_from_slice(secret);
    buf.extend_from_slice(&task.to_be_bytes::<32>());
    keccak256(buf)
}

/// A solver's commitment (identical to `TaskContract.solutionCommitment`).
pub fn solver_commitment(bundle_id: B256, salt: B256, solver: Address) -> B256 {
    solution_commitment(bundle_id, salt, solver)
}

/// A proposer's ground-truth commitment (identical to the task contract's check).
pub fn proposer_commitment(held_out_id: B256, salt: B256) -> B256 {
    ground_truth_commitment(held_out_id, salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_depend_on_secret_purpose_and_task() {
        let s = [9u8; 32];
        let t = U256::from(3);
        let a = derive_salt(&s, SaltPurpose::Solution, t);
        assert_eq!(a, derive_salt(&s, SaltPurpose::Solution, t));
        assert_ne!(a, derive_salt(&s, SaltPurpose::GroundTruth, t));
        assert_ne!(a, derive_salt(&s, SaltPurpose::Solution, U256::from(4)));
        assert_ne!(a, derive_salt(&[8u8; 32], SaltPurpose::Solution, t));
        // A commitment binds the solver: the same bundle and salt commit differently for another.
        let b = B256::repeat_byte(1);
        assert_ne!(
            solver_commitment(b, a, Address::repeat_byte(1)),
            solver_commitment(b, a, Address::repeat_byte(2))
        );
    }
}
