//! Slice assignment: which turns of a task's batch each solver trains on.
//!
//! The rule is public and deterministic: turn `i` of the batch gets the rank
//! `keccak256("autonet/slice/v1" ‖ seed ‖ solver ‖ i as u32 big-endian)`, and a solver's slice is
//! the `slice_len` turns of smallest rank, kept in batch order. Every solver gets its own subset,
//! so a neighbour's bundle (or a recomputation of another slice) is the answer to a different
//! question and fails verification.

use alloy::primitives::{Address, B256, keccak256};

/// Indices (ascending) of the batch turns assigned to `solver`.
pub fn slice_indices(
    seed: B256,
    solver: Address,
    batch_len: usize,
    slice_len: usize,
) -> Vec<usize> {
    let mut ranked: Vec<(B256, usize)> = (0..batch_len)
        .map(|i| {
            let mut buf = Vec::with_capacity(16 + 32 + 20 + 4);
            buf.extend_from_slice(b"autonet/slice/v1");
            buf.extend_from_slice(seed.as_slice());
            buf.extend_from_slice(solver.as_slice());
            buf.extend_from_slice(&(i as u32).to_be_bytes());
            (keccak256(&buf), i)
        })
        .collect();
    ranked.sort();
    let mut out: Vec<usize> = ranked
        .into_iter()
        .take(slice_len.min(batch_len))
        .map(|(_, i)| i)
        .collect();
    out.sort_unstable();
    out
}

/// The slice itself: the assigned turns in batch order.
pub fn slice_of<T: Clone>(seed: B256, solver: Address, batch: &[T], slice_len: usize) -> Vec<T> {
    slice_indices(seed, solver, batch.len(), slice_len)
        .into_iter()
        .filter_map(|i| batch.get(i).cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_deterministic_sized_and_differ_between_solvers() {
        let seed = B256::repeat_byte(7);
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let sa = slice_indices(seed, a, 24, 8);
        assert_eq!(sa, slice_indices(seed, a, 24, 8));
        assert_eq!(sa.len(), 8);
        assert!(sa.windows(2).all(|w| w[0] < w[1]));
        assert_ne!(sa, slice_indices(seed, b, 24, 8));
        assert_ne!(sa, slice_indices(B256::repeat_byte(8), a, 24, 8));
        assert_eq!(slice_indices(seed, a, 3, 8), vec![0, 1, 2]);
        let batch: Vec<u32> = (100..124).collect();
        let turns = slice_of(seed, a, &batch, 8);
        assert_eq!(turns, sa.iter().map(|i| batch[*i]).collect::<Vec<_>>());
    }
}
