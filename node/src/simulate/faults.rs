//! Fault injection: churn (solvers killed right after they commit and restarted two blocks later
//! from their stored state) and a coordinator dropped for good after the first epoch. Byzantine
//! solvers are set up with the peers: [`byzantine_conduct`] is the conduct each kind injects
//! into an otherwise honest solver.

use std::collections::BTreeSet;

use std::sync::Arc;

use alloy::primitives::{Address, U256, keccak256};
use autonet_actors::roles::conduct::SolverConduct;
use autonet_actors::roles::events::Phase;
use autonet_actors::roles::protocol_log::RunLog;
use autonet_contracts::Role;
use serde::Serialize;

use super::network::PeerInfo;
use super::{ByzantineKind, SimulateArgs};

/// Blocks a churned peer stays down.
pub const DOWN_BLOCKS: u64 = 2;

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Stop the peer at this roster index (its data dir stays).
    Kill(usize),
    /// Start the peer at this roster index again from its stored state.
    Restart(usize),
}

/// One injected fault, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct FaultEvent {
    /// Name of the peer it hit (e.g. `solver-2`).
    pub peer: String,
    /// Epoch it belongs to (0 for a restart, which is not tied to one).
    pub epoch: u64,
    /// Chain head when it was acted out.
    pub block: u64,
    /// What happened, in words.
    pub what: String,
}

/// Decides and records faults as the run goes.
#[derive(Debug)]
pub struct FaultDriver {
    names: Vec<String>,
    churned: BTreeSet<usize>,
    /// (peer, epoch) pairs already killed.
    done: BTreeSet<(usize, u64)>,
    /// Peers down, with the block at which they come back.
    down: Vec<(usize, u64)>,
    drop_coordinator: Option<usize>,
    dropped: bool,
    /// Every fault acted out so far, in order.
    pub events: Vec<FaultEvent>,
}

impl FaultDriver {
    /// Plans the faults `args` asks for over `peers`: which solvers churn (`--churn`, picked by
    /// the seed) and which coordinator drops out (`--drop-coordinator`).
    pub fn new(args: &SimulateArgs, peers: &[PeerInfo]) -> Self {
        let solvers: Vec<usize> = peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.role == Role::Solver)
            .map(|(i, _)| i)
            .collect();
        let k = (args.churn * solvers.len() as f64).round() as usize;
        // The seed picks which solvers churn.
        let mut ranked: Vec<([u8; 32], usize)> = solvers
            .iter()
            .map(|i| (keccak256(format!("autonet/churn/{}/{i}", args.seed)).0, *i))
            .collect();
        ranked.sort();
        let churned = ranked.into_iter().take(k).map(|(_, i)| i).collect();
        let drop_coordinator = args
            .drop_coordinator
            .then(|| peers.iter().position(|p| p.role == Role::Coordinator))
            .flatten();
        FaultDriver {
            names: peers.iter().map(|p| p.name.clone()).collect(),
            churned,
            done: BTreeSet::new(),
            down: Vec::new(),
            drop_coordinator,
            dropped: false,
            events: Vec::new(),
        }
    }

    /// The actions due at `head`, given the run's protocol events.
    pub fn due(&mut self, log: &RunLog, head: u64) -> Vec<Action> {
        let mut out = Vec::new();
        let mut back = Vec::new();
        self.down.retain(|(i, at)| {
            if head >= *at {
                back.push(*i);
                false
            } else {
                true
            }
        });
        for i in back {
            self.record(i, 0, head, "restarted from its stored state");
            out.push(Action::Restart(i));
        }
        for e in log.entries_since(0) {
            if e.phase != Phase::Commit || !e.text.contains("committed") {
                continue;
            }
            let Some(i) = self.names.iter().position(|n| *n == e.peer) else {
                continue;
            };
            if self.churned.contains(&i) && self.done.insert((i, e.epoch)) {
                self.record(i, e.epoch, head, "killed right after its commit");
                self.down.push((i, head + DOWN_BLOCKS));
                out.push(Action::Kill(i));
            }
        }
        if let Some(c) = self.drop_coordinator
            && !self.dropped
            && !log.epochs().is_empty()
        {
            self.dropped = true;
            self.record(c, 2, head, "stopped for good");
            out.push(Action::Kill(c));
        }
        out
    }

    /// Records a fault acted out by something other than a roster peer.
    pub fn record_external(&mut self, peer: &str, epoch: u64, block: u64, what: &str) {
        self.events.push(FaultEvent {
            peer: peer.to_string(),
            epoch,
            block,
            what: what.to_string(),
        });
    }

    fn record(&mut self, i: usize, epoch: u64, block: u64, what: &str) {
        self.events.push(FaultEvent {
            peer: self.names[i].clone(),
            epoch,
            block,
            what: what.to_string(),
        });
    }
}

/// The conduct a Byzantine solver of `kind` runs with (`victim`: whose bundle `Copy` copies; with
/// none it trains its own slice).
pub fn byzantine_conduct(kind: ByzantineKind, victim: Option<Address>) -> Arc<dyn SolverConduct> {
    Arc::new(Byzantine { kind, victim })
}

#[derive(Debug)]
struct Byzantine {
    kind: ByzantineKind,
    victim: Option<Address>,
}

impl SolverConduct for Byzantine {
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// `Garbage` commits bytes no training produces (but the same after a restart).
    fn forged_bundle(&self, secret: &[u8; 32], task: U256) -> Option<Vec<u8>> {
        (self.kind == ByzantineKind::Garbage).then(|| {
            let mut buf = secret.to_vec();
            buf.extend_from_slice(&task.to_be_bytes::<32>());
            keccak256(&buf).to_vec().repeat(4)
        })
    }

    /// `Copy` trains its victim's public slice, producing the victim's bundle.
    fn slice_owner(&self, me: Address) -> Address {
        match (self.kind, self.victim) {
            (ByzantineKind::Copy, Some(victim)) => victim,
            _ => me,
        }
    }

    fn commits_in_window(&self) -> bool {
        self.kind != ByzantineKind::Late
    }

    fn commits_late(&self) -> bool {
        self.kind == ByzantineKind::Late
    }

    fn reveals(&self) -> bool {
        self.kind != ByzantineKind::Silent
    }
}
