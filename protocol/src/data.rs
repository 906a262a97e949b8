//! The agent-turn traces shipped with the node (`protocol/data/`): 48 training turns and 12
//! held-out turns of coding-agent transcripts (assistant messages, shell commands, file edits,
//! refusals, destructive operations), written for this project in the shape the keyword
//! embedder reads. Proposers draw each task's batch from the training part and its hidden ground
//! truth from the held-out part, so held-out turns are never trained on.

use alloy::primitives::{B256, keccak256};

const TRAINING: &str = include_str!("../data/agent-turns.jsonl");
const HELD_OUT: &str = include_str!("../data/agent-turns-heldout.jsonl");

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The training turns (JSON texts).
pub fn training_turns() -> Vec<String> {
    lines(TRAINING)
}

/// The held-out turns (JSON texts).
pub fn held_out_turns() -> Vec<String> {
    lines(HELD_OUT)
}

/// `n` items of `pool` chosen by `seed` (a keccak ranking), in pool order.
pub fn draw(pool: &[String], seed: B256, n: usize) -> Vec<String> {
    let mut ranked: Vec<(B256, usize)> = (0..pool.len())
        .map(|i| {
            let mut buf = seed.to_vec();
            buf.extend_from_slice(&(i as u32).to_be_bytes());
            (keccak256(buf), i)
        })
        .collect();
    ranked.sort();
    let mut picked: Vec<usize> = ranked.into_iter().take(n).map(|(_, i)| i).collect();
    picked.sort_unstable();
    picked.into_iter().map(|i| pool[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_traces_parse_and_draws_are_deterministic() {
        let train = training_turns();
        let held = held_out_turns();
        assert_eq!((train.len(), held.len()), (48, 12));
        assert!(crate::model::parse_turns(&train).is_ok());
        assert!(crate::model::parse_turns(&held).is_ok());
        assert!(held.iter().all(|h| !train.contains(h)));
        let a = draw(&train, B256::repeat_byte(1), 12);
        assert_eq!(a, draw(&train, B256::repeat_byte(1), 12));
        assert_eq!(a.len(), 12);
        assert_ne!(a, draw(&train, B256::repeat_byte(2), 12));
    }
}
