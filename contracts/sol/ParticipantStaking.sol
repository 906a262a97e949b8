// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Role, NotAuthorized, ZeroAddress, ZeroAmount, AlreadyWired} from "./AutonetTypes.sol";

/// @title Role stakes: one role per address, unbonding measured in blocks, slashing by the
/// rewards contract only (slashed tokens are burned).
/// @notice Security properties (SECURITY.md):
/// - every change of an address's active stake, and of each role's active total, is checkpointed
///   by block, so votes and mint-root confirmations count stake at a snapshot taken before the
///   decision opened: stake moved to a fresh address afterwards counts nothing;
/// - stake with an open obligation (an unrevealed commit, an owed ground truth, a vote that is
///   not settled) cannot be withdrawn: the task and rewards contracts lock and release it;
/// - the unbonding period never shrinks, and the task contract refuses tasks that last as long
///   as it, so a slash always lands before the stake could leave.
contract ParticipantStaking is Ownable {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    struct StakeInfo {
        uint256 amount;
        Role role;
        uint64 unlockBlock; // 0 while bonded; otherwise the block from which `unstake` pays out
    }

    IERC20 public immutable atn;
    address public slasher;
    uint64 public unbondingBlocks;
    uint256 public totalStaked;
    mapping(Role => uint256) public minStake;
    /// Stake held by bonded (not unbonding) participants of a role.
    mapping(Role => uint256) public activeRoleStake;
    mapping(address => StakeInfo) private stakes;
    /// The task contract: with the slasher, the only callers of `lock` and `release`.
    address public taskContract;
    /// Open obligations per address; `unstake` pays out only at zero.
    mapping(address => uint256) public openObligations;
    mapping(Role => mapping(address => Checkpoints.Trace208)) private stakeHistory;
    mapping(Role => Checkpoints.Trace208) private roleHistory;

    error InvalidRole(Role role);
    error AlreadyStaked(address account, Role role);
    error BelowMinimum(uint256 amount, uint256 minimum);
    error NotStaked(address account);
    error AlreadyUnbonding(address account);
    error NotUnbonding(address account);
    error StillLocked(uint64 unlockBlock);
    error SlashTooLarge(uint256 amount, uint256 stake);
    error ObligationsOpen(address account, uint256 open);
    error UnbondingDecrease(uint64 current, uint64 requested);
    error FutureLookup(uint256 blockNumber);

    event Staked(address indexed account, Role role, uint256 amount);
    event UnstakeRequested(address indexed account, uint64 unlockBlock);
    event Unstaked(address indexed account, uint256 amount);
    event Slashed(address indexed account, uint256 amount, bytes32 reason);
    event MinStakeUpdated(Role role, uint256 amount);
    event UnbondingBlocksUpdated(uint64 blocks);
    event SlasherSet(address indexed slasher);

    constructor(IERC20 atn_, address owner_, uint64 unbondingBlocks_) Ownable(owner_) {
        if (address(atn_) == address(0)) revert ZeroAddress();
        if (unbondingBlocks_ == 0) revert UnbondingDecrease(0, 0);
        atn = atn_;
        unbondingBlocks = unbondingBlocks_;
        minStake[Role.PROPOSER] = 100 ether;
        minStake[Role.SOLVER] = 50 ether;
        minStake[Role.COORDINATOR] = 500 ether;
        minStake[Role.AGGREGATOR] = 1000 ether;
    }

    /// Sets the rewards contract, the only slasher; once.
    function setSlasher(address slasher_) external onlyOwner {
        if (slasher_ == address(0)) revert ZeroAddress();
        if (slasher != address(0)) revert AlreadyWired();
        slasher = slasher_;
        emit SlasherSet(slasher_);
    }

    /// Sets the task contract, which locks stake for commits and owed ground truths; once.
    function setTaskContract(address taskContract_) external onlyOwner {
        if (taskContract_ == address(0)) revert ZeroAddress();
        if (taskContract != address(0)) revert AlreadyWired();
        taskContract = taskContract_;
    }

    function setMinStake(Role role, uint256 amount) external onlyOwner {
        if (role == Role.NONE) revert InvalidRole(role);
        minStake[role] = amount;
        emit MinStakeUpdated(role, amount);
    }

    /// Lengthens unbonding. It never shrinks: live tasks were admitted against the current value.
    function setUnbondingBlocks(uint64 blocks) external onlyOwner {
        if (blocks < unbondingBlocks) revert UnbondingDecrease(unbondingBlocks, blocks);
        unbondingBlocks = blocks;
        emit UnbondingBlocksUpdated(blocks);
    }

    /// Bonds `amount` ATN (approved beforehand) for `role`. One role stake per address.
    function stake(Role role, uint256 amount) external {
        if (role == Role.NONE || uint8(role) > uint8(Role.AGGREGATOR)) revert InvalidRole(role);
        StakeInfo storage s = stakes[msg.sender];
        if (s.amount != 0) revert AlreadyStaked(msg.sender, s.role);
        if (amount < minStake[role]) revert BelowMinimum(amount, minStake[role]);
        s.amount = amount;
        s.role = role;
        s.unlockBlock = 0;
        totalStaked += amount;
        activeRoleStake[role] += amount;
        _checkpoint(msg.sender, role);
        atn.safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(msg.sender, role, amount);
    }

    function addToStake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        StakeInfo storage s = stakes[msg.sender];
        if (s.amount == 0) revert NotStaked(msg.sender);
        if (s.unlockBlock != 0) revert AlreadyUnbonding(msg.sender);
        s.amount += amount;
        totalStaked += amount;
        activeRoleStake[s.role] += amount;
        _checkpoint(msg.sender, s.role);
        atn.safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(msg.sender, s.role, amount);
    }

    /// Starts unbonding: the role is inactive at once; tokens stay slashable until `unstake`.
    function requestUnstake() external {
        StakeInfo storage s = stakes[msg.sender];
        if (s.amount == 0) revert NotStaked(msg.sender);
        if (s.unlockBlock != 0) revert AlreadyUnbonding(msg.sender);
        s.unlockBlock = uint64(block.number) + unbondingBlocks;
        activeRoleStake[s.role] -= s.amount;
        _checkpoint(msg.sender, s.role);
        emit UnstakeRequested(msg.sender, s.unlockBlock);
    }

    function unstake() external {
        StakeInfo storage s = stakes[msg.sender];
        if (s.amount == 0) revert NotStaked(msg.sender);
        if (s.unlockBlock == 0) revert NotUnbonding(msg.sender);
        if (block.number < s.unlockBlock) revert StillLocked(s.unlockBlock);
        uint256 open = openObligations[msg.sender];
        if (open != 0) revert ObligationsOpen(msg.sender, open);
        uint256 amount = s.amount;
        delete stakes[msg.sender];
        totalStaked -= amount;
        atn.safeTransfer(msg.sender, amount);
        emit Unstaked(msg.sender, amount);
    }

    /// Burns `amount` of `account`'s stake. Only the rewards contract may slash.
    function slash(address account, uint256 amount, bytes32 reason) external {
        if (msg.sender != slasher) revert NotAuthorized(msg.sender);
        StakeInfo storage s = stakes[account];
        if (amount > s.amount) revert SlashTooLarge(amount, s.amount);
        if (amount == 0) return;
        s.amount -= amount;
        totalStaked -= amount;
        Role role = s.role;
        if (s.unlockBlock == 0) activeRoleStake[role] -= amount;
        if (s.amount == 0) delete stakes[account];
        _checkpoint(account, role);
        ERC20Burnable(address(atn)).burn(amount);
        emit Slashed(account, amount, reason);
    }

    /// Opens an obligation of `account` (a commit, an owed ground truth, a vote); task contract
    /// and rewards contract only.
    function lock(address account) external {
        _onlyObligor();
        openObligations[account] += 1;
    }

    /// Settles one obligation of `account`.
    function release(address account) external {
        _onlyObligor();
        if (openObligations[account] != 0) openObligations[account] -= 1;
    }

    /// `account`'s active stake in `role` at the end of block `blockNumber` (< current block).
    function activeStakeAt(address account, Role role, uint256 blockNumber) external view returns (uint256) {
        if (blockNumber >= block.number) revert FutureLookup(blockNumber);
        return stakeHistory[role][account].upperLookupRecent(SafeCast.toUint48(blockNumber));
    }

    /// The total active stake (bonded, at or above the minimum) of `role` at the end of block
    /// `blockNumber` (< current block).
    function activeRoleStakeAt(Role role, uint256 blockNumber) external view returns (uint256) {
        if (blockNumber >= block.number) revert FutureLookup(blockNumber);
        return roleHistory[role].upperLookupRecent(SafeCast.toUint48(blockNumber));
    }

    /// Bonded in any role at or above that role's minimum.
    function isStaked(address account) external view returns (bool) {
        StakeInfo storage s = stakes[account];
        return s.role != Role.NONE && isActiveParticipant(account, s.role);
    }

    function getStake(address account) external view returns (uint256 amount, Role role, uint64 unlockBlock) {
        StakeInfo storage s = stakes[account];
        return (s.amount, s.role, s.unlockBlock);
    }

    /// Bonded, of this role, and at or above the role's minimum.
    function isActiveParticipant(address account, Role role) public view returns (bool) {
        StakeInfo storage s = stakes[account];
        return s.role == role && s.unlockBlock == 0 && s.amount != 0 && s.amount >= minStake[role];
    }

    /// The stake counted for an active participant of `role`, else 0.
    function activeStakeOf(address account, Role role) external view returns (uint256) {
        return isActiveParticipant(account, role) ? stakes[account].amount : 0;
    }

    function _onlyObligor() private view {
        if (msg.sender != taskContract && msg.sender != slasher) revert NotAuthorized(msg.sender);
    }

    /// Records `account`'s active stake in `role` (bonded, at or above the minimum) and the
    /// role's total of such stakes at this block. The total moves by the account's change, so a
    /// stake slashed below the minimum leaves the snapshots' denominator as well as their votes.
    function _checkpoint(address account, Role role) private {
        uint48 at = SafeCast.toUint48(block.number);
        uint256 active = isActiveParticipant(account, role) ? stakes[account].amount : 0;
        uint256 before = stakeHistory[role][account].latest();
        stakeHistory[role][account].push(at, SafeCast.toUint208(active));
        uint256 total = roleHistory[role].latest() + active - before;
        roleHistory[role].push(at, SafeCast.toUint208(total));
    }
}
