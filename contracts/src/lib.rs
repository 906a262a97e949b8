//! The on-chain protocol of autonet.
//!
//! Bird's-eye view (filled in by the chain issue): Solidity sources under `contracts/src/sol`,
//! committed build artifacts, alloy bindings, and a `Chain` trait with two backends: an embedded
//! EVM (revm, the same bytecode, the default for `simulate`) and JSON-RPC for real chains.
