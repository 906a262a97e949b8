// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Role, TaskStatus, NotActive, ZeroAddress} from "./AutonetTypes.sol";
import {YumaConsensus} from "./YumaConsensus.sol";
import {TaskContract} from "./TaskContract.sol";

interface IStaking {
    function isActiveParticipant(address account, Role role) external view returns (bool);
    function activeStakeOf(address account, Role role) external view returns (uint256);
    function activeRoleStake(Role role) external view returns (uint256);
    function getStake(address account) external view returns (uint256, Role, uint64);
    function slash(address account, uint256 amount, bytes32 reason) external;
}

interface IProjectEscrow {
    function thresholdOf(uint256 projectId) external view returns (uint256);
    function refundTaskBudget(uint256 projectId, uint256 amount) external;
}

interface IMintable {
    function mint(address to, uint256 amount) external;
}

/// @title Coordinator votes, consensus rewards and slashing, and epoch mint roots.
/// @notice Rewards are credited at finalisation and withdrawn with `claim` (pull payments).
/// Mint roots: an aggregator posts keccak Merkle roots over (agent, amount) leaves
/// (leaf = keccak256(bytes.concat(keccak256(abi.encode(agent, amount)))), sorted-pair tree); a root
/// is final once coordinators holding ≥ 2/3 of active coordinator stake confirm it; agents then
/// claim their amounts with proofs and ATN is minted to them.
contract ResultsRewards {
    using SafeERC20 for IERC20;

    uint256 public constant MIN_VOTES = 2;
    uint256 public constant MAX_VOTERS = 16;
    uint256 public constant SLASH_FRACTION = 1e17; // 10% of current stake, WAD
    uint256 public constant BOND_ALPHA = 1e17; // EMA weight of the newest trust, WAD
    bytes32 public constant REASON_DISSENT = "dissent";
    bytes32 public constant REASON_NO_REVEAL = "no-reveal";
    bytes32 public constant REASON_INVALID = "invalid-solution";
    bytes32 public constant REASON_NO_GROUND_TRUTH = "no-ground-truth";

    struct MintRoot {
        address poster;
        uint256 total;
        uint256 confirmedStake;
        uint256 claimed;
    }

    IERC20 public immutable atn;
    IStaking public immutable staking;
    TaskContract public immutable tasks;
    IProjectEscrow public immutable project;

    mapping(uint256 => address[]) private voters;
    mapping(uint256 => mapping(address => uint256[])) private voteScores;
    mapping(uint256 => mapping(address => uint256)) public voteStake;
    mapping(address => uint256) public bonds; // coordinator trust EMA, WAD
    mapping(address => uint256) public claimable;

    mapping(uint256 => mapping(bytes32 => MintRoot)) private mintRoots;
    mapping(uint256 => mapping(bytes32 => mapping(address => bool))) public confirmedBy;
    mapping(uint256 => bytes32) public finalMintRoot;
    mapping(uint256 => mapping(address => bool)) public mintClaimed;

    error WrongPhase(uint256 taskId, uint64 blockNumber);
    error TaskNotOpen(uint256 taskId);
    error GroundTruthNotRevealed(uint256 taskId);
    error AlreadyVoted(uint256 taskId, address coordinator);
    error TooManyVoters(uint256 taskId);
    error WrongScoreCount(uint256 expected, uint256 got);
    error NotEnoughVotes(uint256 taskId, uint256 votes);
    error CanFinalize(uint256 taskId);
    error NothingToClaim(address account);
    error MintRootExists(uint256 epoch, bytes32 root);
    error UnknownMintRoot(uint256 epoch, bytes32 root);
    error EpochFinal(uint256 epoch);
    error EpochNotFinal(uint256 epoch);
    error AlreadyConfirmed(uint256 epoch, address coordinator);
    error AlreadyClaimed(uint256 epoch, address agent);
    error InvalidProof();
    error MintExceedsRoot(uint256 epoch, uint256 requested, uint256 remaining);

    event Voted(uint256 indexed taskId, address indexed coordinator, uint256 stake, uint256[] scores);
    event TaskFinalized(uint256 indexed taskId, uint256 accepted, uint256 solverPaid, uint256 coordinatorPaid, uint256 refund);
    event TaskExpired(uint256 indexed taskId, uint256 refund);
    event SolverRewarded(uint256 indexed taskId, address indexed solver, uint256 consensus, uint256 amount);
    event CoordinatorRewarded(uint256 indexed taskId, address indexed coordinator, uint256 trust, uint256 amount);
    event ParticipantSlashed(uint256 indexed taskId, address indexed account, uint256 amount, bytes32 reason);
    event BondUpdated(address indexed coordinator, uint256 bond);
    event Claimed(address indexed account, uint256 amount);
    event MintRootPosted(uint256 indexed epoch, bytes32 indexed root, uint256 total, address poster);
    event MintRootConfirmed(uint256 indexed epoch, bytes32 indexed root, address coordinator, uint256 confirmedStake);
    event MintRootFinalized(uint256 indexed epoch, bytes32 indexed root);
    event MintClaimed(uint256 indexed epoch, address indexed agent, uint256 amount);

    constructor(IERC20 atn_, IStaking staking_, TaskContract tasks_, IProjectEscrow project_) {
        if (
            address(atn_) == address(0) || address(staking_) == address(0) || address(tasks_) == address(0)
                || address(project_) == address(0)
        ) revert ZeroAddress();
        atn = atn_;
        staking = staking_;
        tasks = tasks_;
        project = project_;
    }

    // ----- votes and finalisation -----

    /// A coordinator's score vector over the task's revealed solutions (canonical order:
    /// `TaskContract.getRevealedSolvers`), each in [0, 1e18]. One vote per coordinator.
    function vote(uint256 taskId, uint256[] calldata scores) external {
        TaskContract.Task memory t = tasks.getTask(taskId);
        if (t.status != TaskStatus.OPEN) revert TaskNotOpen(taskId);
        if (block.number <= t.revealDeadline || block.number > t.voteDeadline) revert WrongPhase(taskId, uint64(block.number));
        if (t.groundTruth == bytes32(0)) revert GroundTruthNotRevealed(taskId);
        uint256 stake = staking.activeStakeOf(msg.sender, Role.COORDINATOR);
        if (stake == 0) revert NotActive(msg.sender, Role.COORDINATOR);
        if (voteStake[taskId][msg.sender] != 0) revert AlreadyVoted(taskId, msg.sender);
        if (voters[taskId].length >= MAX_VOTERS) revert TooManyVoters(taskId);
        uint256 m = tasks.getRevealedSolvers(taskId).length;
        if (scores.length != m || m == 0) revert WrongScoreCount(m, scores.length);
        for (uint256 j = 0; j < m; j++) {
            if (scores[j] > 1e18) revert YumaConsensus.ScoreOutOfRange(scores[j]);
        }
        voters[taskId].push(msg.sender);
        voteScores[taskId][msg.sender] = scores;
        voteStake[taskId][msg.sender] = stake;
        emit Voted(taskId, msg.sender, stake, scores);
    }

    /// After the vote deadline, with ≥ MIN_VOTES votes: consensus, credits, slashes, bonds, refund.
    function finalize(uint256 taskId) external {
        TaskContract.Task memory t = tasks.getTask(taskId);
        if (t.status != TaskStatus.OPEN) revert TaskNotOpen(taskId);
        if (block.number <= t.voteDeadline) revert WrongPhase(taskId, uint64(block.number));
        address[] memory vs = voters[taskId];
        if (vs.length < MIN_VOTES) revert NotEnoughVotes(taskId, vs.length);
        address[] memory solvers = tasks.getRevealedSolvers(taskId);
        uint256[] memory stakes = new uint256[](vs.length);
        uint256[][] memory scores = new uint256[][](vs.length);
        for (uint256 i = 0; i < vs.length; i++) {
            stakes[i] = voteStake[taskId][vs[i]];
            scores[i] = voteScores[taskId][vs[i]];
        }
        YumaConsensus.Outcome memory o = YumaConsensus.run(
            stakes, scores, project.thresholdOf(t.projectId), t.solverReward, t.coordinatorReward
        );
        uint256 paid;
        uint256 accepted;
        for (uint256 j = 0; j < solvers.length; j++) {
            if (o.accepted[j]) {
                accepted++;
                paid += o.solverRewards[j];
                claimable[solvers[j]] += o.solverRewards[j];
                emit SolverRewarded(taskId, solvers[j], o.consensus[j], o.solverRewards[j]);
            } else if (o.consensus[j] == 0) {
                _slash(taskId, solvers[j], REASON_INVALID);
            }
        }
        uint256 solverPaid = paid;
        for (uint256 i = 0; i < vs.length; i++) {
            uint256 bond = (bonds[vs[i]] * (1e18 - BOND_ALPHA) + o.trust[i] * BOND_ALPHA) / 1e18;
            bonds[vs[i]] = bond;
            emit BondUpdated(vs[i], bond);
            if (o.dissent[i]) {
                _slash(taskId, vs[i], REASON_DISSENT);
            } else {
                paid += o.coordinatorFees[i];
                claimable[vs[i]] += o.coordinatorFees[i];
                emit CoordinatorRewarded(taskId, vs[i], o.trust[i], o.coordinatorFees[i]);
            }
        }
        _slashNonRevealers(taskId);
        uint256 refund = t.solverReward + t.coordinatorReward - paid;
        _refund(t.projectId, refund);
        tasks.closeTask(taskId, TaskStatus.FINALIZED);
        emit TaskFinalized(taskId, accepted, solverPaid, paid - solverPaid, refund);
    }

    /// After the vote deadline, for a task that cannot finalize (fewer than MIN_VOTES votes):
    /// the whole escrow goes back to the project; non-revealing solvers, and a proposer that never
    /// revealed its ground truth, are slashed.
    function expire(uint256 taskId) external {
        TaskContract.Task memory t = tasks.getTask(taskId);
        if (t.status != TaskStatus.OPEN) revert TaskNotOpen(taskId);
        if (block.number <= t.voteDeadline) revert WrongPhase(taskId, uint64(block.number));
        if (voters[taskId].length >= MIN_VOTES) revert CanFinalize(taskId);
        _slashNonRevealers(taskId);
        if (t.groundTruth == bytes32(0)) _slash(taskId, t.proposer, REASON_NO_GROUND_TRUTH);
        uint256 refund = t.solverReward + t.coordinatorReward;
        _refund(t.projectId, refund);
        tasks.closeTask(taskId, TaskStatus.EXPIRED);
        emit TaskExpired(taskId, refund);
    }

    /// Withdraws everything credited to the caller.
    function claim() external {
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        claimable[msg.sender] = 0;
        atn.safeTransfer(msg.sender, amount);
        emit Claimed(msg.sender, amount);
    }

    /// The consensus rule on explicit inputs (used by nodes to preview and by differential tests).
    function computeConsensus(
        uint256[] calldata stakes,
        uint256[][] calldata scores,
        uint256 threshold,
        uint256 solverPool,
        uint256 coordinatorPool
    ) external pure returns (YumaConsensus.Outcome memory) {
        return YumaConsensus.run(stakes, scores, threshold, solverPool, coordinatorPool);
    }

    function getVoters(uint256 taskId) external view returns (address[] memory) {
        return voters[taskId];
    }

    function getVote(uint256 taskId, address coordinator) external view returns (uint256[] memory) {
        return voteScores[taskId][coordinator];
    }

    // ----- mint roots -----

    function postMintRoot(uint256 epoch, bytes32 root, uint256 total) external {
        if (!staking.isActiveParticipant(msg.sender, Role.AGGREGATOR)) revert NotActive(msg.sender, Role.AGGREGATOR);
        if (finalMintRoot[epoch] != bytes32(0)) revert EpochFinal(epoch);
        MintRoot storage r = mintRoots[epoch][root];
        if (r.poster != address(0)) revert MintRootExists(epoch, root);
        r.poster = msg.sender;
        r.total = total;
        emit MintRootPosted(epoch, root, total, msg.sender);
    }

    function confirmMintRoot(uint256 epoch, bytes32 root) external {
        uint256 stake = staking.activeStakeOf(msg.sender, Role.COORDINATOR);
        if (stake == 0) revert NotActive(msg.sender, Role.COORDINATOR);
        if (finalMintRoot[epoch] != bytes32(0)) revert EpochFinal(epoch);
        MintRoot storage r = mintRoots[epoch][root];
        if (r.poster == address(0)) revert UnknownMintRoot(epoch, root);
        if (confirmedBy[epoch][root][msg.sender]) revert AlreadyConfirmed(epoch, msg.sender);
        confirmedBy[epoch][root][msg.sender] = true;
        r.confirmedStake += stake;
        emit MintRootConfirmed(epoch, root, msg.sender, r.confirmedStake);
        if (r.confirmedStake * 3 >= staking.activeRoleStake(Role.COORDINATOR) * 2) {
            finalMintRoot[epoch] = root;
            emit MintRootFinalized(epoch, root);
        }
    }

    function claimMint(uint256 epoch, uint256 amount, bytes32[] calldata proof) external {
        bytes32 root = finalMintRoot[epoch];
        if (root == bytes32(0)) revert EpochNotFinal(epoch);
        if (mintClaimed[epoch][msg.sender]) revert AlreadyClaimed(epoch, msg.sender);
        if (!MerkleProof.verifyCalldata(proof, root, mintLeaf(msg.sender, amount))) revert InvalidProof();
        MintRoot storage r = mintRoots[epoch][root];
        if (amount > r.total - r.claimed) revert MintExceedsRoot(epoch, amount, r.total - r.claimed);
        mintClaimed[epoch][msg.sender] = true;
        r.claimed += amount;
        IMintable(address(atn)).mint(msg.sender, amount);
        emit MintClaimed(epoch, msg.sender, amount);
    }

    function getMintRoot(uint256 epoch, bytes32 root) external view returns (MintRoot memory) {
        return mintRoots[epoch][root];
    }

    /// Leaf of a mint tree (OpenZeppelin StandardMerkleTree encoding).
    function mintLeaf(address agent, uint256 amount) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(agent, amount))));
    }

    // ----- internals -----

    function _slashNonRevealers(uint256 taskId) private {
        address[] memory committed = tasks.getCommitters(taskId);
        for (uint256 k = 0; k < committed.length; k++) {
            if (tasks.revealedBundles(taskId, committed[k]) == bytes32(0)) _slash(taskId, committed[k], REASON_NO_REVEAL);
        }
    }

    function _slash(uint256 taskId, address account, bytes32 reason) private {
        (uint256 amount,,) = staking.getStake(account);
        uint256 cut = amount * SLASH_FRACTION / 1e18;
        if (cut == 0) return;
        staking.slash(account, cut, reason);
        emit ParticipantSlashed(taskId, account, cut, reason);
    }

    function _refund(uint256 projectId, uint256 amount) private {
        if (amount == 0) return;
        atn.forceApprove(address(project), amount);
        project.refundTaskBudget(projectId, amount);
    }
}
