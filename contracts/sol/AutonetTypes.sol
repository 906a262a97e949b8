// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Shared types and errors of the autonet protocol.
/// @notice Roles are staked per address: one active role per chain address.
library AutonetTypes {
    /// WAD fixed point: 1.0 == 1e18. All protocol fractions use it, with floor rounding.
    uint256 internal constant WAD = 1e18;
}

/// Protocol roles. A process running several roles uses one key per role.
enum Role {
    NONE,
    PROPOSER,
    SOLVER,
    COORDINATOR,
    AGGREGATOR
}

/// Lifecycle of a task; phases end at block deadlines.
enum TaskStatus {
    NONE,
    OPEN,
    FINALIZED,
    EXPIRED
}

/// Shared custom errors.
error NotAuthorized(address caller);
error ZeroAddress();
error AlreadyWired();
error NotActive(address account, Role role);
error ZeroAmount();
