// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title The protocol's consensus rule (Yuma-style), pure integer arithmetic with floor rounding.
/// @notice For coordinators i (stake S_i) scoring solutions j with W_ij ∈ [0, WAD]:
/// - W̄_j, the κ-majority stake-weighted median (κ = ½): the largest submitted score w such that
///   the coordinators scoring ≥ w hold strictly more than κ of the voting stake (a tie, e.g. two
///   equal voters scoring 1 and 0, gives 0: half the stake cannot accept a solution);
/// - accepted_j ⇔ W̄_j ≥ threshold and W̄_j > 0; solver reward_j = ⌊solverPool·W̄_j / Σ_acc W̄⌋;
/// - trust T_i = ⌊WAD·Σ_j min(W_ij, W̄_j) / Σ_j W_ij⌋ (WAD when Σ_j W_ij = 0);
///   T_i < WAD/2 is dissent;
/// - fee_i = ⌊coordPool·S_i·T_i / Σ_{k not dissenting} S_k·T_k⌋ for non-dissenting coordinators.
/// The Rust core (`autonet_contracts::consensus`) mirrors this exactly; a differential test checks it.
library YumaConsensus {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant KAPPA = 5e17;
    uint256 internal constant DISSENT_TRUST = 5e17;

    struct Outcome {
        uint256[] consensus; // W̄_j
        bool[] accepted;
        uint256[] solverRewards;
        uint256[] trust; // T_i
        bool[] dissent;
        uint256[] coordinatorFees;
    }

    error BadShape();
    error ScoreOutOfRange(uint256 score);

    function run(
        uint256[] memory stakes,
        uint256[][] memory scores,
        uint256 threshold,
        uint256 solverPool,
        uint256 coordinatorPool
    ) internal pure returns (Outcome memory o) {
        uint256 n = stakes.length;
        if (n == 0 || scores.length != n) revert BadShape();
        uint256 m = scores[0].length;
        uint256 totalStake;
        for (uint256 i = 0; i < n; i++) {
            if (scores[i].length != m) revert BadShape();
            totalStake += stakes[i];
            for (uint256 j = 0; j < m; j++) {
                if (scores[i][j] > WAD) revert ScoreOutOfRange(scores[i][j]);
            }
        }
        o.consensus = new uint256[](m);
        o.accepted = new bool[](m);
        o.solverRewards = new uint256[](m);
        uint256 acceptedSum;
        for (uint256 j = 0; j < m; j++) {
            uint256 med;
            for (uint256 i = 0; i < n; i++) {
                uint256 w = scores[i][j];
                if (w <= med) continue;
                uint256 support;
                for (uint256 k = 0; k < n; k++) {
                    if (scores[k][j] >= w) support += stakes[k];
                }
                if (support * WAD > KAPPA * totalStake) med = w;
            }
            o.consensus[j] = med;
            if (med > 0 && med >= threshold) {
                o.accepted[j] = true;
                acceptedSum += med;
            }
        }
        if (acceptedSum > 0) {
            for (uint256 j = 0; j < m; j++) {
                if (o.accepted[j]) o.solverRewards[j] = solverPool * o.consensus[j] / acceptedSum;
            }
        }
        o.trust = new uint256[](n);
        o.dissent = new bool[](n);
        o.coordinatorFees = new uint256[](n);
        uint256 weightSum;
        for (uint256 i = 0; i < n; i++) {
            uint256 raw;
            uint256 clipped;
            for (uint256 j = 0; j < m; j++) {
                uint256 w = scores[i][j];
                raw += w;
                clipped += w < o.consensus[j] ? w : o.consensus[j];
            }
            o.trust[i] = raw == 0 ? WAD : clipped * WAD / raw;
            o.dissent[i] = o.trust[i] < DISSENT_TRUST;
            if (!o.dissent[i]) weightSum += stakes[i] * o.trust[i];
        }
        if (weightSum > 0) {
            for (uint256 i = 0; i < n; i++) {
                if (!o.dissent[i]) o.coordinatorFees[i] = coordinatorPool * (stakes[i] * o.trust[i]) / weightSum;
            }
        }
    }
}
