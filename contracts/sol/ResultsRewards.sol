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
    function activeStakeAt(address account, Role role, uint256 blockNumber) external view returns (uint256);
    function activeRoleStakeAt(Role role, uint256 blockNumber) external view returns (uint256);
    function getStake(address account) external view returns (uint256, Role, uint64);
    function slash(address account, uint256 amount, bytes32 reason) external;
    function lock(address account) external;
    function release(address account) external;
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
/// Security (SECURITY.md):
/// - votes are committed (a hash of task, coordinator, scores and salt) and revealed in the second
///   half of the vote phase, so nobody copies a score vector; a committed vote that is not
///   revealed is slashed like a solution that is not revealed;
/// - a vote weighs the coordinator's stake at the block before the task was created; when the
///   16 voter slots are full, a vote with more stake evicts the smallest (Sybils of minimum stake
///   cannot crowd out larger coordinators); a voter's stake is locked until the task closes;
/// - a task finalizes only with ≥ MIN_VOTES voters holding ≥ half of the coordinator stake at
///   that snapshot, and consensus needs strictly more than κ of the voting stake;
/// - a mint root exists only for a settled epoch (every task closed, none can join), its total
///   is at most `epochEmission`, it names the epoch's model, and confirmations count each
///   coordinator once per epoch with its stake at the block before the root was posted.
contract ResultsRewards {
    using SafeERC20 for IERC20;

    uint256 public constant MIN_VOTES = 2;
    /// Voting stake needed to finalize, as a fraction (WAD) of the coordinator stake snapshot.
    uint256 public constant QUORUM = 5e17;
    uint256 public constant MAX_VOTERS = 16;
    uint256 public constant SLASH_FRACTION = 1e17; // 10% of current stake, WAD
    uint256 public constant BOND_ALPHA = 1e17; // EMA weight of the newest trust, WAD
    bytes32 public constant REASON_DISSENT = "dissent";
    bytes32 public constant REASON_NO_REVEAL = "no-reveal";
    bytes32 public constant REASON_INVALID = "invalid-solution";
    bytes32 public constant REASON_NO_GROUND_TRUTH = "no-ground-truth";
    bytes32 public constant REASON_NO_VOTE_REVEAL = "no-vote-reveal";

    struct MintRoot {
        address poster;
        uint256 total;
        uint256 confirmedStake;
        uint256 claimed;
        uint64 snapshotBlock; // confirmations count stake as of this block
        uint256 snapshotStake; // total active coordinator stake at the snapshot
        bytes32 modelId; // the epoch's model this root pays for
    }

    IERC20 public immutable atn;
    IStaking public immutable staking;
    TaskContract public immutable tasks;
    IProjectEscrow public immutable project;
    /// The most one epoch may mint.
    uint256 public immutable epochEmission;

    /// Coordinators holding a vote slot (committed), and those who revealed (the voters).
    mapping(uint256 => address[]) private voteCommitters;
    mapping(uint256 => mapping(address => bytes32)) public voteCommitments;
    mapping(uint256 => address[]) private voters;
    mapping(uint256 => mapping(address => uint256[])) private voteScores;
    mapping(uint256 => mapping(address => uint256)) public voteStake;
    mapping(address => uint256) public bonds; // coordinator trust EMA, WAD
    mapping(address => uint256) public claimable;

    mapping(uint256 => mapping(bytes32 => MintRoot)) private mintRoots;
    mapping(uint256 => mapping(bytes32 => mapping(address => bool))) public confirmedBy;
    mapping(uint256 => mapping(address => bool)) public confirmedEpoch;
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
    error NoQuorum(uint256 taskId, uint256 votingStake, uint256 snapshotStake);
    error SlotsTaken(uint256 taskId, uint256 stake, uint256 smallest);
    error EmissionExceeded(uint256 epoch, uint256 total, uint256 emission);
    error ZeroRoot();
    error EpochOutOfRange(uint256 epoch);
    error ZeroCommitment(uint256 taskId);
    error NotCommitted(uint256 taskId, address coordinator);
    error CommitmentMismatch(uint256 taskId, address coordinator);

    event Voted(uint256 indexed taskId, address indexed coordinator, uint256 stake, uint256[] scores);
    event VoteCommitted(uint256 indexed taskId, address indexed coordinator, uint256 stake, bytes32 commitment);
    event TaskFinalized(uint256 indexed taskId, uint256 accepted, uint256 solverPaid, uint256 coordinatorPaid, uint256 refund);
    event TaskExpired(uint256 indexed taskId, uint256 refund);
    event SolverRewarded(uint256 indexed taskId, address indexed solver, uint256 consensus, uint256 amount);
    event CoordinatorRewarded(uint256 indexed taskId, address indexed coordinator, uint256 trust, uint256 amount);
    event ParticipantSlashed(uint256 indexed taskId, address indexed account, uint256 amount, bytes32 reason);
    event BondUpdated(address indexed coordinator, uint256 bond);
    event Claimed(address indexed account, uint256 amount);
    event MintRootPosted(uint256 indexed epoch, bytes32 indexed root, uint256 total, address poster, bytes32 modelId);
    event VoterEvicted(uint256 indexed taskId, address indexed coordinator, address indexed by);
    event MintRootConfirmed(uint256 indexed epoch, bytes32 indexed root, address coordinator, uint256 confirmedStake);
    event MintRootFinalized(uint256 indexed epoch, bytes32 indexed root);
    event MintClaimed(uint256 indexed epoch, address indexed agent, uint256 amount);

    constructor(IERC20 atn_, IStaking staking_, TaskContract tasks_, IProjectEscrow project_, uint256 epochEmission_) {
        if (
            address(atn_) == address(0) || address(staking_) == address(0) || address(tasks_) == address(0)
                || address(project_) == address(0)
        ) revert ZeroAddress();
        atn = atn_;
        staking = staking_;
        tasks = tasks_;
        project = project_;
        epochEmission = epochEmission_;
    }

    // ----- votes and finalisation -----

    /// Commits a coordinator's vote: `voteCommitment(taskId, coordinator, scores, salt)`, in the
    /// first half of the vote phase. One slot per coordinator, weighted by its stake at the block
    /// before the task was created; when all slots are taken, a vote with more stake than the
    /// smallest slot holder's takes that slot.
    function commitVote(uint256 taskId, bytes32 commitment) external {
        TaskContract.Task memory t = tasks.getTask(taskId);
        if (t.status != TaskStatus.OPEN) revert TaskNotOpen(taskId);
        if (block.number <= t.revealDeadline || block.number > t.voteCommitDeadline) {
            revert WrongPhase(taskId, uint64(block.number));
        }
        if (t.groundTruth == bytes32(0)) revert GroundTruthNotRevealed(taskId);
        if (commitment == bytes32(0)) revert ZeroCommitment(taskId);
        if (!staking.isActiveParticipant(msg.sender, Role.COORDINATOR)) revert NotActive(msg.sender, Role.COORDINATOR);
        uint256 stake = staking.activeStakeAt(msg.sender, Role.COORDINATOR, t.createdBlock - 1);
        if (stake == 0) revert NotActive(msg.sender, Role.COORDINATOR);
        if (voteCommitments[taskId][msg.sender] != bytes32(0)) revert AlreadyVoted(taskId, msg.sender);
        if (voteCommitters[taskId].length >= MAX_VOTERS) _evictSmallest(taskId, stake);
        voteCommitters[taskId].push(msg.sender);
        voteCommitments[taskId][msg.sender] = commitment;
        voteStake[taskId][msg.sender] = stake;
        staking.lock(msg.sender);
        emit VoteCommitted(taskId, msg.sender, stake, commitment);
    }

    /// Reveals a committed vote in the second half of the vote phase: a score vector over the
    /// task's revealed solutions (canonical order: `TaskContract.getRevealedSolvers`), each in
    /// [0, 1e18].
    function revealVote(uint256 taskId, uint256[] calldata scores, bytes32 salt) external {
        TaskContract.Task memory t = tasks.getTask(taskId);
        if (t.status != TaskStatus.OPEN) revert TaskNotOpen(taskId);
        if (block.number <= t.voteCommitDeadline || block.number > t.voteDeadline) {
            revert WrongPhase(taskId, uint64(block.number));
        }
        bytes32 commitment = voteCommitments[taskId][msg.sender];
        if (commitment == bytes32(0)) revert NotCommitted(taskId, msg.sender);
        if (voteScores[taskId][msg.sender].length != 0) revert AlreadyVoted(taskId, msg.sender);
        uint256 m = tasks.getRevealedSolvers(taskId).length;
        if (scores.length != m || m == 0) revert WrongScoreCount(m, scores.length);
        for (uint256 j = 0; j < m; j++) {
            if (scores[j] > 1e18) revert YumaConsensus.ScoreOutOfRange(scores[j]);
        }
        if (voteCommitment(taskId, msg.sender, scores, salt) != commitment) {
            revert CommitmentMismatch(taskId, msg.sender);
        }
        voters[taskId].push(msg.sender);
        voteScores[taskId][msg.sender] = scores;
        emit Voted(taskId, msg.sender, voteStake[taskId][msg.sender], scores);
    }

    /// The commitment of a vote.
    function voteCommitment(uint256 taskId, address coordinator, uint256[] calldata scores, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, coordinator, scores, salt));
    }

    /// After the vote deadline, with ≥ MIN_VOTES votes: consensus, credits, slashes, bonds, refund.
    function finalize(uint256 taskId) external {
        TaskContract.Task memory t = tasks.getTask(taskId);
        if (t.status != TaskStatus.OPEN) revert TaskNotOpen(taskId);
        if (block.number <= t.voteDeadline) revert WrongPhase(taskId, uint64(block.number));
        address[] memory vs = voters[taskId];
        if (vs.length < MIN_VOTES) revert NotEnoughVotes(taskId, vs.length);
        _requireQuorum(taskId, t, vs);
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
        _settleVoteCommitters(taskId);
        uint256 refund = t.solverReward + t.coordinatorReward - paid;
        _refund(t.projectId, refund);
        tasks.closeTask(taskId, TaskStatus.FINALIZED);
        emit TaskFinalized(taskId, accepted, solverPaid, paid - solverPaid, refund);
    }

    /// After the vote deadline, for a task that cannot finalize (fewer than MIN_VOTES votes, or
    /// less than the quorum of stake):
    /// the whole escrow goes back to the project; non-revealing solvers, and a proposer that never
    /// revealed its ground truth, are slashed.
    function expire(uint256 taskId) external {
        TaskContract.Task memory t = tasks.getTask(taskId);
        if (t.status != TaskStatus.OPEN) revert TaskNotOpen(taskId);
        if (block.number <= t.voteDeadline) revert WrongPhase(taskId, uint64(block.number));
        address[] memory vs = voters[taskId];
        if (vs.length >= MIN_VOTES && _quorum(taskId, t, vs)) revert CanFinalize(taskId);
        _slashNonRevealers(taskId);
        _settleVoteCommitters(taskId);
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

    /// Coordinators that revealed their vote, in reveal order.
    function getVoters(uint256 taskId) external view returns (address[] memory) {
        return voters[taskId];
    }

    /// Coordinators holding a vote slot (committed, revealed or not).
    function getVoteCommitters(uint256 taskId) external view returns (address[] memory) {
        return voteCommitters[taskId];
    }

    function getVote(uint256 taskId, address coordinator) external view returns (uint256[] memory) {
        return voteScores[taskId][coordinator];
    }

    // ----- mint roots -----

    /// Posts the mint root of a settled `epoch` (every task of it closed; the epoch is sealed so
    /// no task joins it later), paying at most `epochEmission`, for the epoch's model `modelId`.
    function postMintRoot(uint256 epoch, bytes32 root, uint256 total, bytes32 modelId) external {
        if (!staking.isActiveParticipant(msg.sender, Role.AGGREGATOR)) revert NotActive(msg.sender, Role.AGGREGATOR);
        if (root == bytes32(0)) revert ZeroRoot();
        if (epoch > type(uint64).max) revert EpochOutOfRange(epoch);
        if (total > epochEmission) revert EmissionExceeded(epoch, total, epochEmission);
        if (finalMintRoot[epoch] != bytes32(0)) revert EpochFinal(epoch);
        MintRoot storage r = mintRoots[epoch][root];
        if (r.poster != address(0)) revert MintRootExists(epoch, root);
        tasks.sealEpoch(uint64(epoch));
        r.poster = msg.sender;
        r.total = total;
        r.modelId = modelId;
        r.snapshotBlock = uint64(block.number - 1);
        r.snapshotStake = staking.activeRoleStakeAt(Role.COORDINATOR, block.number - 1);
        emit MintRootPosted(epoch, root, total, msg.sender, modelId);
    }

    /// Confirms a posted root with the caller's coordinator stake at the root's snapshot; one
    /// confirmation per coordinator and epoch. Final at ≥ 2/3 of the snapshot's coordinator stake.
    function confirmMintRoot(uint256 epoch, bytes32 root) external {
        MintRoot storage r = mintRoots[epoch][root];
        if (r.poster == address(0)) revert UnknownMintRoot(epoch, root);
        uint256 stake = staking.activeStakeAt(msg.sender, Role.COORDINATOR, r.snapshotBlock);
        if (stake == 0) revert NotActive(msg.sender, Role.COORDINATOR);
        if (finalMintRoot[epoch] != bytes32(0)) revert EpochFinal(epoch);
        if (confirmedEpoch[epoch][msg.sender]) revert AlreadyConfirmed(epoch, msg.sender);
        confirmedEpoch[epoch][msg.sender] = true;
        confirmedBy[epoch][root][msg.sender] = true;
        r.confirmedStake += stake;
        emit MintRootConfirmed(epoch, root, msg.sender, r.confirmedStake);
        if (r.confirmedStake * 3 >= r.snapshotStake * 2) {
            finalMintRoot[epoch] = root;
            emit MintRootFinalized(epoch, root);
        }
    }

    /// The model and aggregator of `epoch`'s final mint root (zeros while not final).
    function finalModelOf(uint256 epoch) external view returns (bytes32 modelId, address poster) {
        bytes32 root = finalMintRoot[epoch];
        if (root == bytes32(0)) return (bytes32(0), address(0));
        MintRoot storage r = mintRoots[epoch][root];
        return (r.modelId, r.poster);
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

    /// Whether the voters hold at least QUORUM of the coordinator stake at the task's snapshot.
    function _quorum(uint256 taskId, TaskContract.Task memory t, address[] memory vs) private view returns (bool) {
        uint256 votingStake;
        for (uint256 i = 0; i < vs.length; i++) {
            votingStake += voteStake[taskId][vs[i]];
        }
        uint256 snapshot = staking.activeRoleStakeAt(Role.COORDINATOR, t.createdBlock - 1);
        return votingStake > 0 && votingStake * 1e18 >= QUORUM * snapshot;
    }

    function _requireQuorum(uint256 taskId, TaskContract.Task memory t, address[] memory vs) private view {
        if (!_quorum(taskId, t, vs)) {
            uint256 votingStake;
            for (uint256 i = 0; i < vs.length; i++) {
                votingStake += voteStake[taskId][vs[i]];
            }
            revert NoQuorum(taskId, votingStake, staking.activeRoleStakeAt(Role.COORDINATOR, t.createdBlock - 1));
        }
    }

    /// Frees the slot of the smallest-stake voter for a vote of `stake`, or refuses the vote.
    function _evictSmallest(uint256 taskId, uint256 stake) private {
        address[] storage vs = voteCommitters[taskId];
        uint256 smallest = type(uint256).max;
        uint256 at;
        for (uint256 i = 0; i < vs.length; i++) {
            uint256 s_ = voteStake[taskId][vs[i]];
            if (s_ < smallest) {
                smallest = s_;
                at = i;
            }
        }
        if (stake <= smallest) revert SlotsTaken(taskId, stake, smallest);
        address evicted = vs[at];
        vs[at] = vs[vs.length - 1];
        vs.pop();
        delete voteCommitments[taskId][evicted];
        delete voteStake[taskId][evicted];
        staking.release(evicted);
        emit VoterEvicted(taskId, evicted, msg.sender);
    }

    /// Slashes slot holders that committed a vote and never revealed it; releases every slot.
    function _settleVoteCommitters(uint256 taskId) private {
        address[] storage vs = voteCommitters[taskId];
        for (uint256 i = 0; i < vs.length; i++) {
            if (voteScores[taskId][vs[i]].length == 0) _slash(taskId, vs[i], REASON_NO_VOTE_REVEAL);
            staking.release(vs[i]);
        }
    }

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
