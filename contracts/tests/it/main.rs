//! Integration tests of the contract suite. Scenario bodies in `scenarios` are generic over the
//! backend; `embedded` runs them on revm in process, `anvil` on a local anvil node.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abi_coverage;
mod anvil;
mod attacks;
mod differential;
mod embedded;
mod events;
mod faults;
mod governance;
mod helpers;
mod invariants;
mod lineage;
mod reorg;
mod scenarios;
mod settlement;
