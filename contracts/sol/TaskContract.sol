// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Role, TaskStatus, NotAuthorized, NotActive, ZeroAddress, ZeroAmount, AlreadyWired} from "./AutonetTypes.sol";

interface IStakingView {
    function isActiveParticipant(address account, Role role) external view returns (bool);
}

interface IProjectBudget {
    function reserveTaskBudget(uint256 projectId, uint256 amount) external;
}

/// @title Tasks: proposal, salted commit-reveal of solutions and of the proposer's ground truth.
/// @notice Phases end at block deadlines: commit (≤ commitDeadline), reveal (≤ revealDeadline),
/// vote (≤ voteDeadline, in ResultsRewards), then finalize or expire (ResultsRewards).
/// Solver commitment = keccak256(abi.encodePacked(bytes32 bundleId, bytes32 salt, address solver));
/// ground-truth commitment = keccak256(abi.encodePacked(bytes32 heldOutId, bytes32 salt)).
contract TaskContract is Ownable {
    uint256 public constant MAX_SOLVERS = 32;

    struct Task {
        uint256 projectId;
        address proposer;
        bytes32 specHash;
        bytes32 groundTruthCommit;
        bytes32 groundTruth; // revealed held-out id, 0 until revealed
        uint256 solverReward;
        uint256 coordinatorReward;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint64 voteDeadline;
        TaskStatus status;
    }

    IStakingView public immutable staking;
    IProjectBudget public immutable project;
    address public rewards;
    uint256 public nextTaskId = 1;
    mapping(uint256 => Task) private tasks;
    mapping(uint256 => address[]) private committers;
    mapping(uint256 => mapping(address => bytes32)) public commitments;
    mapping(uint256 => mapping(address => bytes32)) public revealedBundles;

    error UnknownTask(uint256 taskId);
    error InvalidPhases();
    error WrongPhase(uint256 taskId, uint64 blockNumber);
    error AlreadyCommitted(uint256 taskId, address solver);
    error TooManySolvers(uint256 taskId);
    error NotCommitted(uint256 taskId, address solver);
    error AlreadyRevealed(uint256 taskId, address account);
    error CommitmentMismatch(uint256 taskId, address account);
    error NotProposer(uint256 taskId, address caller);
    error TaskClosed(uint256 taskId);

    event TaskCreated(
        uint256 indexed taskId,
        uint256 indexed projectId,
        address indexed proposer,
        bytes32 specHash,
        uint64 commitDeadline,
        uint64 revealDeadline,
        uint64 voteDeadline
    );
    event SolutionCommitted(uint256 indexed taskId, address indexed solver, bytes32 commitment);
    event GroundTruthRevealed(uint256 indexed taskId, bytes32 heldOutId);
    event SolutionRevealed(uint256 indexed taskId, address indexed solver, bytes32 bundleId);
    event TaskClosedWith(uint256 indexed taskId, TaskStatus status);

    constructor(IStakingView staking_, IProjectBudget project_, address owner_) Ownable(owner_) {
        if (address(staking_) == address(0) || address(project_) == address(0)) revert ZeroAddress();
        staking = staking_;
        project = project_;
    }

    function setRewards(address rewards_) external onlyOwner {
        if (rewards_ == address(0)) revert ZeroAddress();
        if (rewards != address(0)) revert AlreadyWired();
        rewards = rewards_;
    }

    /// Creates a task funded from the project's budget (escrowed in the rewards contract).
    function createTask(
        uint256 projectId,
        bytes32 specHash,
        bytes32 groundTruthCommit,
        uint256 solverReward,
        uint256 coordinatorReward,
        uint64 commitBlocks,
        uint64 revealBlocks,
        uint64 voteBlocks
    ) external returns (uint256 taskId) {
        if (!staking.isActiveParticipant(msg.sender, Role.PROPOSER)) revert NotActive(msg.sender, Role.PROPOSER);
        if (commitBlocks == 0 || revealBlocks == 0 || voteBlocks == 0) revert InvalidPhases();
        if (solverReward == 0) revert ZeroAmount();
        taskId = nextTaskId++;
        Task storage t = tasks[taskId];
        t.projectId = projectId;
        t.proposer = msg.sender;
        t.specHash = specHash;
        t.groundTruthCommit = groundTruthCommit;
        t.solverReward = solverReward;
        t.coordinatorReward = coordinatorReward;
        t.commitDeadline = uint64(block.number) + commitBlocks;
        t.revealDeadline = t.commitDeadline + revealBlocks;
        t.voteDeadline = t.revealDeadline + voteBlocks;
        t.status = TaskStatus.OPEN;
        project.reserveTaskBudget(projectId, solverReward + coordinatorReward);
        emit TaskCreated(taskId, projectId, msg.sender, specHash, t.commitDeadline, t.revealDeadline, t.voteDeadline);
    }

    function commitSolution(uint256 taskId, bytes32 commitment) external {
        Task storage t = _open(taskId);
        if (block.number > t.commitDeadline) revert WrongPhase(taskId, uint64(block.number));
        if (!staking.isActiveParticipant(msg.sender, Role.SOLVER)) revert NotActive(msg.sender, Role.SOLVER);
        if (commitments[taskId][msg.sender] != bytes32(0)) revert AlreadyCommitted(taskId, msg.sender);
        if (committers[taskId].length >= MAX_SOLVERS) revert TooManySolvers(taskId);
        commitments[taskId][msg.sender] = commitment;
        committers[taskId].push(msg.sender);
        emit SolutionCommitted(taskId, msg.sender, commitment);
    }

    function revealGroundTruth(uint256 taskId, bytes32 heldOutId, bytes32 salt) external {
        Task storage t = _open(taskId);
        _inReveal(taskId, t);
        if (msg.sender != t.proposer) revert NotProposer(taskId, msg.sender);
        if (t.groundTruth != bytes32(0)) revert AlreadyRevealed(taskId, msg.sender);
        if (keccak256(abi.encodePacked(heldOutId, salt)) != t.groundTruthCommit) {
            revert CommitmentMismatch(taskId, msg.sender);
        }
        t.groundTruth = heldOutId;
        emit GroundTruthRevealed(taskId, heldOutId);
    }

    function revealSolution(uint256 taskId, bytes32 bundleId, bytes32 salt) external {
        Task storage t = _open(taskId);
        _inReveal(taskId, t);
        bytes32 commitment = commitments[taskId][msg.sender];
        if (commitment == bytes32(0)) revert NotCommitted(taskId, msg.sender);
        if (revealedBundles[taskId][msg.sender] != bytes32(0)) revert AlreadyRevealed(taskId, msg.sender);
        if (bundleId == bytes32(0) || solutionCommitment(bundleId, salt, msg.sender) != commitment) {
            revert CommitmentMismatch(taskId, msg.sender);
        }
        revealedBundles[taskId][msg.sender] = bundleId;
        emit SolutionRevealed(taskId, msg.sender, bundleId);
    }

    /// Called by the rewards contract when a task is finalized or expired.
    function closeTask(uint256 taskId, TaskStatus status) external {
        if (msg.sender != rewards) revert NotAuthorized(msg.sender);
        Task storage t = _open(taskId);
        t.status = status;
        emit TaskClosedWith(taskId, status);
    }

    /// The commitment a solver must post for (bundleId, salt).
    function solutionCommitment(bytes32 bundleId, bytes32 salt, address solver) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(bundleId, salt, solver));
    }

    function getTask(uint256 taskId) external view returns (Task memory) {
        Task storage t = tasks[taskId];
        if (t.status == TaskStatus.NONE) revert UnknownTask(taskId);
        return t;
    }

    /// Every solver that committed, in commit order.
    function getCommitters(uint256 taskId) external view returns (address[] memory) {
        return committers[taskId];
    }

    /// Solvers that revealed, in commit order: the canonical order of a vote's score vector.
    function getRevealedSolvers(uint256 taskId) public view returns (address[] memory out) {
        address[] storage all = committers[taskId];
        uint256 n;
        for (uint256 i = 0; i < all.length; i++) {
            if (revealedBundles[taskId][all[i]] != bytes32(0)) n++;
        }
        out = new address[](n);
        n = 0;
        for (uint256 i = 0; i < all.length; i++) {
            if (revealedBundles[taskId][all[i]] != bytes32(0)) out[n++] = all[i];
        }
    }

    function _open(uint256 taskId) private view returns (Task storage t) {
        t = tasks[taskId];
        if (t.status == TaskStatus.NONE) revert UnknownTask(taskId);
        if (t.status != TaskStatus.OPEN) revert TaskClosed(taskId);
    }

    function _inReveal(uint256 taskId, Task storage t) private view {
        if (block.number <= t.commitDeadline || block.number > t.revealDeadline) {
            revert WrongPhase(taskId, uint64(block.number));
        }
    }
}
