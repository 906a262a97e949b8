// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Role, TaskStatus, NotAuthorized, NotActive, ZeroAddress, ZeroAmount, AlreadyWired} from "./AutonetTypes.sol";

interface IStakingView {
    function isActiveParticipant(address account, Role role) external view returns (bool);
    function unbondingBlocks() external view returns (uint64);
    function lock(address account) external;
    function release(address account) external;
}

interface IProjectBudget {
    function reserveTaskBudget(uint256 projectId, uint256 amount) external;
}

/// @title Tasks: proposal, salted commit-reveal of solutions and of the proposer's ground truth.
/// @notice Phases end at block deadlines: commit (≤ commitDeadline), reveal (≤ revealDeadline),
/// vote (≤ voteDeadline, in ResultsRewards), then finalize or expire (ResultsRewards).
/// Solver commitment = keccak256(abi.encodePacked(bytes32 bundleId, bytes32 salt, address solver));
/// ground-truth commitment = keccak256(abi.encodePacked(bytes32 heldOutId, bytes32 salt)).
/// Security (SECURITY.md): one commit slot per solver (a zero commitment is refused, so nobody
/// commits twice); a task lasts less than the staking contract's unbonding period; the proposer's
/// and every committer's stake is locked until the task closes. Every task belongs to an epoch:
/// epochs open in order, at most one every `minEpochBlocks` blocks, and an epoch is sealed (no new
/// tasks) once a mint root is posted for it, so mint roots exist only for settled epochs and the
/// emission is bounded by time.
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
        uint64 epoch;
        uint64 createdBlock;
        uint64 voteCommitDeadline; // votes are committed until here, revealed until voteDeadline
    }

    struct EpochInfo {
        uint64 openedAt; // block of the epoch's first task
        uint32 tasks;
        uint32 open;
        bool closed; // sealed: a mint root was posted
    }

    IStakingView public immutable staking;
    IProjectBudget public immutable project;
    address public rewards;
    /// Blocks that must pass between the opening of one epoch and of the next.
    uint64 public immutable minEpochBlocks;
    /// The newest epoch with a task (0 before the first).
    uint64 public lastEpoch;
    mapping(uint64 => EpochInfo) public epochs;
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
    error ZeroCommitment(uint256 taskId);
    error TaskTooLong(uint256 blocks, uint64 unbondingBlocks);
    error BadEpoch(uint64 epoch, uint64 lastEpoch);
    error EpochTooSoon(uint64 epoch, uint64 openableAt);
    error EpochSealed(uint64 epoch);
    error EpochNotSettled(uint64 epoch);

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

    constructor(IStakingView staking_, IProjectBudget project_, address owner_, uint64 minEpochBlocks_)
        Ownable(owner_)
    {
        if (address(staking_) == address(0) || address(project_) == address(0)) revert ZeroAddress();
        if (minEpochBlocks_ == 0) revert InvalidPhases();
        staking = staking_;
        project = project_;
        minEpochBlocks = minEpochBlocks_;
    }

    function setRewards(address rewards_) external onlyOwner {
        if (rewards_ == address(0)) revert ZeroAddress();
        if (rewards != address(0)) revert AlreadyWired();
        rewards = rewards_;
    }

    /// Creates a task of `epoch` funded from the project's budget (escrowed in the rewards
    /// contract). `epoch` is an opened epoch without a mint root, or opens the next one
    /// (`minEpochBlocks` after the newest opened); the proposer's stake stays locked until the
    /// task closes.
    function createTask(
        uint256 projectId,
        bytes32 specHash,
        bytes32 groundTruthCommit,
        uint256 solverReward,
        uint256 coordinatorReward,
        uint64 commitBlocks,
        uint64 revealBlocks,
        uint64 voteBlocks,
        uint64 epoch
    ) external returns (uint256 taskId) {
        if (!staking.isActiveParticipant(msg.sender, Role.PROPOSER)) revert NotActive(msg.sender, Role.PROPOSER);
        if (commitBlocks == 0 || revealBlocks == 0 || voteBlocks < 2) revert InvalidPhases();
        uint256 length = uint256(commitBlocks) + revealBlocks + voteBlocks;
        uint64 unbonding = staking.unbondingBlocks();
        if (length >= unbonding) revert TaskTooLong(length, unbonding);
        if (solverReward == 0) revert ZeroAmount();
        _enterEpoch(epoch);
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
        t.voteCommitDeadline = t.revealDeadline + (voteBlocks + 1) / 2;
        t.status = TaskStatus.OPEN;
        t.epoch = epoch;
        t.createdBlock = uint64(block.number);
        staking.lock(msg.sender);
        project.reserveTaskBudget(projectId, solverReward + coordinatorReward);
        emit TaskCreated(taskId, projectId, msg.sender, specHash, t.commitDeadline, t.revealDeadline, t.voteDeadline);
    }

    function commitSolution(uint256 taskId, bytes32 commitment) external {
        Task storage t = _open(taskId);
        if (block.number > t.commitDeadline) revert WrongPhase(taskId, uint64(block.number));
        if (commitment == bytes32(0)) revert ZeroCommitment(taskId);
        if (!staking.isActiveParticipant(msg.sender, Role.SOLVER)) revert NotActive(msg.sender, Role.SOLVER);
        if (commitments[taskId][msg.sender] != bytes32(0)) revert AlreadyCommitted(taskId, msg.sender);
        if (committers[taskId].length >= MAX_SOLVERS) revert TooManySolvers(taskId);
        commitments[taskId][msg.sender] = commitment;
        committers[taskId].push(msg.sender);
        staking.lock(msg.sender);
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

    /// Called by the rewards contract when a task is finalized or expired (after its slashes):
    /// the proposer's and committers' obligations are settled.
    function closeTask(uint256 taskId, TaskStatus status) external {
        if (msg.sender != rewards) revert NotAuthorized(msg.sender);
        Task storage t = _open(taskId);
        t.status = status;
        epochs[t.epoch].open -= 1;
        staking.release(t.proposer);
        address[] storage all = committers[taskId];
        for (uint256 i = 0; i < all.length; i++) {
            staking.release(all[i]);
        }
        emit TaskClosedWith(taskId, status);
    }

    /// Called by the rewards contract when a mint root is posted for `epoch`: refuses an epoch
    /// that has no task or an open one; afterwards no task joins it.
    function sealEpoch(uint64 epoch) external {
        if (msg.sender != rewards) revert NotAuthorized(msg.sender);
        EpochInfo storage e = epochs[epoch];
        if (epoch == 0 || epoch > lastEpoch || e.tasks == 0 || e.open != 0) revert EpochNotSettled(epoch);
        e.closed = true;
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

    function _enterEpoch(uint64 epoch) private {
        uint64 last = lastEpoch;
        // Any unsealed epoch up to the next one: a proposer racing ahead to open a later epoch
        // cannot lock the others out of the current one.
        if (epoch == 0 || epoch > last + 1) revert BadEpoch(epoch, last);
        EpochInfo storage e = epochs[epoch];
        if (epoch == last + 1) {
            uint64 openableAt = last == 0 ? 0 : epochs[last].openedAt + minEpochBlocks;
            if (block.number < openableAt) revert EpochTooSoon(epoch, openableAt);
            lastEpoch = epoch;
            e.openedAt = uint64(block.number);
        }
        if (e.closed) revert EpochSealed(epoch);
        e.tasks += 1;
        e.open += 1;
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
