// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {NotAuthorized, ZeroAddress, ZeroAmount, AlreadyWired} from "./AutonetTypes.sol";

/// @title Projects: funding in ATN, task budgets escrowed for the rewards contract, model publishing.
/// @notice Funders receive project shares 1:1 with the ATN they fund (a fixed, public price; the
/// prototype let callers pick their own share amount). Task rewards leave the project only through
/// `reserveTaskBudget` (escrow to the rewards contract) and come back through `refundTaskBudget`.
contract Project is Ownable {
    using SafeERC20 for IERC20;

    struct ProjectInfo {
        address founder;
        string name;
        bytes32 descriptionHash;
        uint256 funded; // total ATN ever funded
        uint256 available; // funded and not escrowed for tasks
        uint256 threshold; // WAD: a solution is accepted when its consensus score ≥ threshold
        bytes32 modelHash; // latest published model (manifest content id)
        uint64 modelVersion;
    }

    IERC20 public immutable atn;
    address public taskContract;
    address public rewards;
    uint256 public nextProjectId = 1;
    mapping(uint256 => ProjectInfo) private projects;
    mapping(uint256 => mapping(address => uint256)) public shares;
    mapping(uint256 => mapping(address => bool)) public modelPublishers;

    error UnknownProject(uint256 projectId);
    error InvalidThreshold(uint256 threshold);
    error InsufficientBudget(uint256 requested, uint256 available);

    event ProjectCreated(uint256 indexed projectId, address indexed founder, string name, uint256 threshold);
    event ProjectFunded(uint256 indexed projectId, address indexed funder, uint256 amount);
    event TaskBudgetReserved(uint256 indexed projectId, uint256 amount);
    event TaskBudgetRefunded(uint256 indexed projectId, uint256 amount);
    event ModelPublished(uint256 indexed projectId, uint64 version, bytes32 modelHash, address publisher);
    event PublisherSet(uint256 indexed projectId, address indexed publisher, bool allowed);

    constructor(IERC20 atn_, address owner_) Ownable(owner_) {
        if (address(atn_) == address(0)) revert ZeroAddress();
        atn = atn_;
    }

    function wire(address taskContract_, address rewards_) external onlyOwner {
        if (taskContract_ == address(0) || rewards_ == address(0)) revert ZeroAddress();
        if (taskContract != address(0)) revert AlreadyWired();
        taskContract = taskContract_;
        rewards = rewards_;
    }

    function createProject(string calldata name, bytes32 descriptionHash, uint256 threshold)
        external
        returns (uint256 projectId)
    {
        if (threshold == 0 || threshold > 1e18) revert InvalidThreshold(threshold);
        projectId = nextProjectId++;
        ProjectInfo storage p = projects[projectId];
        p.founder = msg.sender;
        p.name = name;
        p.descriptionHash = descriptionHash;
        p.threshold = threshold;
        emit ProjectCreated(projectId, msg.sender, name, threshold);
    }

    function fundProject(uint256 projectId, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        ProjectInfo storage p = _project(projectId);
        p.funded += amount;
        p.available += amount;
        shares[projectId][msg.sender] += amount;
        atn.safeTransferFrom(msg.sender, address(this), amount);
        emit ProjectFunded(projectId, msg.sender, amount);
    }

    /// Moves `amount` of the project's available budget to the rewards contract's escrow.
    function reserveTaskBudget(uint256 projectId, uint256 amount) external {
        if (msg.sender != taskContract) revert NotAuthorized(msg.sender);
        ProjectInfo storage p = _project(projectId);
        if (amount > p.available) revert InsufficientBudget(amount, p.available);
        p.available -= amount;
        atn.safeTransfer(rewards, amount);
        emit TaskBudgetReserved(projectId, amount);
    }

    /// Takes back escrow the rewards contract did not pay out (pulled from the caller).
    function refundTaskBudget(uint256 projectId, uint256 amount) external {
        if (msg.sender != rewards) revert NotAuthorized(msg.sender);
        ProjectInfo storage p = _project(projectId);
        p.available += amount;
        atn.safeTransferFrom(msg.sender, address(this), amount);
        emit TaskBudgetRefunded(projectId, amount);
    }

    function setModelPublisher(uint256 projectId, address publisher, bool allowed) external {
        ProjectInfo storage p = _project(projectId);
        if (msg.sender != p.founder) revert NotAuthorized(msg.sender);
        modelPublishers[projectId][publisher] = allowed;
        emit PublisherSet(projectId, publisher, allowed);
    }

    /// Publishes a new model version (its manifest content id); founder or authorised publishers.
    function publishModel(uint256 projectId, bytes32 modelHash) external returns (uint64 version) {
        ProjectInfo storage p = _project(projectId);
        if (msg.sender != p.founder && !modelPublishers[projectId][msg.sender]) revert NotAuthorized(msg.sender);
        version = ++p.modelVersion;
        p.modelHash = modelHash;
        emit ModelPublished(projectId, version, modelHash, msg.sender);
    }

    function getProject(uint256 projectId) external view returns (ProjectInfo memory) {
        return _project(projectId);
    }

    function getProjectFounder(uint256 projectId) external view returns (address) {
        return _project(projectId).founder;
    }

    function thresholdOf(uint256 projectId) external view returns (uint256) {
        return _project(projectId).threshold;
    }

    function _project(uint256 projectId) private view returns (ProjectInfo storage p) {
        p = projects[projectId];
        if (p.founder == address(0)) revert UnknownProject(projectId);
    }
}
