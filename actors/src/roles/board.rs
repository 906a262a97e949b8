//! The block board: how a simulation's chain clock knows every role has acted on the current
//! block.
//!
//! Each role actor reports, after each step, the head it acted on and whether it is waiting for
//! something that arrives without new blocks (content from a provider, a gossip message). The
//! clock mines the next block only when every live role has acted on the head and none is
//! waiting — or when a stall timeout passes, as a real chain would move on without a slow peer.
//! Outcomes then depend on blocks, never on how fast this machine happens to be, which makes a
//! seeded run reproducible. Killed roles are removed and stop holding the chain back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy)]
struct Seat {
    acted_on: u64,
    waiting: bool,
}

/// Shared by the clock and every role actor of a simulation. Outside a simulation it is unused
/// (an empty board never holds anything back).
#[derive(Debug, Clone, Default)]
pub struct Board {
    seats: Arc<Mutex<BTreeMap<String, Seat>>>,
}

impl Board {
    /// Records that `role` acted on block `head`; `waiting` holds the chain until it reports
    /// again without waiting.
    pub fn report(&self, role: &str, head: u64, waiting: bool) {
        if let Ok(mut s) = self.seats.lock() {
            let seat = s.entry(role.to_string()).or_insert(Seat {
                acted_on: head,
                waiting,
            });
            seat.acted_on = seat.acted_on.max(head);
            seat.waiting = waiting;
        }
    }

    /// Adds a role that must act before the next block (a started or restarted actor).
    pub fn join(&self, role: &str) {
        if let Ok(mut s) = self.seats.lock() {
            s.insert(
                role.to_string(),
                Seat {
                    acted_on: 0,
                    waiting: true,
                },
            );
        }
    }

    /// Removes a role (killed or stopped).
    pub fn leave(&self, role: &str) {
        if let Ok(mut s) = self.seats.lock() {
            s.remove(role);
        }
    }

    /// True when every seated role acted on `head` and none is waiting.
    pub fn ready_for_next(&self, head: u64) -> bool {
        self.seats
            .lock()
            .map(|s| s.values().all(|x| x.acted_on >= head && !x.waiting))
            .unwrap_or(true)
    }

    /// (role, acted on, waiting) of every seat (diagnostics).
    pub fn seats(&self) -> Vec<(String, u64, bool)> {
        self.seats
            .lock()
            .map(|s| {
                s.iter()
                    .map(|(n, x)| (n.clone(), x.acted_on, x.waiting))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Names of the roles holding the chain back at `head`.
    pub fn holding(&self, head: u64) -> Vec<String> {
        self.seats
            .lock()
            .map(|s| {
                s.iter()
                    .filter(|(_, x)| x.acted_on < head || x.waiting)
                    .map(|(n, _)| n.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_block_waits_for_every_seated_role() {
        let b = Board::default();
        assert!(b.ready_for_next(5));
        b.join("a");
        b.join("b");
        assert!(!b.ready_for_next(1));
        b.report("a", 1, false);
        b.report("b", 1, true);
        assert_eq!(b.holding(1), vec!["b".to_string()]);
        b.report("b", 1, false);
        assert!(b.ready_for_next(1));
        assert!(!b.ready_for_next(2));
        b.leave("a");
        b.report("b", 2, false);
        assert!(b.ready_for_next(2));
    }
}
