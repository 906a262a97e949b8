//! How a solver acts at the points where a dishonest one could deviate from the protocol.
//!
//! The roles are written once, honestly; they ask a [`SolverConduct`] at each such point.
//! Production peers use [`Honest`], whose every answer is the protocol's. Simulations inject
//! Byzantine strategies (`autonet simulate --byzantine-kind`, implemented in the node's
//! simulator), so fault code never lives in the honest path.

use std::fmt::Debug;

use alloy::primitives::{Address, U256};

/// A solver's choices at the protocol's decision points. The defaults are the honest ones.
pub trait SolverConduct: Send + Sync + Debug {
    /// Name in logs and reports (`honest`, `garbage`, …).
    fn name(&self) -> &'static str;

    /// Whether this is the protocol's own conduct.
    fn is_honest(&self) -> bool {
        false
    }

    /// Bytes to commit for `task` instead of a trained bundle; `None` trains.
    fn forged_bundle(&self, _secret: &[u8; 32], _task: U256) -> Option<Vec<u8>> {
        None
    }

    /// Whose public slice to train on; an honest solver trains its own (`me`).
    fn slice_owner(&self, me: Address) -> Address {
        me
    }

    /// Whether to send the commitment inside the commit window.
    fn commits_in_window(&self) -> bool {
        true
    }

    /// Whether to send a withheld commitment after the window closed (the chain must refuse it).
    fn commits_late(&self) -> bool {
        false
    }

    /// Whether to reveal in the reveal window.
    fn reveals(&self) -> bool {
        true
    }
}

/// The protocol's conduct: every decision point answered as the protocol says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Honest;

impl SolverConduct for Honest {
    fn name(&self) -> &'static str {
        "honest"
    }

    fn is_honest(&self) -> bool {
        true
    }
}
