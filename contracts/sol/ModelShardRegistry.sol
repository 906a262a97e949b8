// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Role, NotActive, NotAuthorized} from "./AutonetTypes.sol";

interface IStakingRoles {
    function isActiveParticipant(address account, Role role) external view returns (bool);
    function isStaked(address account) external view returns (bool);
}

interface IEpochModels {
    function finalModelOf(uint256 epoch) external view returns (bytes32 modelId, address poster);
}

interface IProjectPublishers {
    function getProjectFounder(uint256 projectId) external view returns (address);
    function modelPublishers(uint256 projectId, address publisher) external view returns (bool);
}

/// @title Model versions and their erasure-coded shards.
/// @notice A model version (its manifest content id) has a Merkle root over its k + m shard
/// digests: each leaf is a shard's BLAKE3 digest, inner nodes keccak256 of the sorted pair
/// (OpenZeppelin `MerkleProof`). Only active aggregators register models; holders announce
/// shards with proofs; only active coordinators report verification results.
contract ModelShardRegistry {
    int256 public constant START_REPUTATION = 500;
    int256 public constant MAX_REPUTATION = 1000;

    struct Model {
        uint256 projectId;
        bytes32 merkleRoot;
        uint16 dataShards; // k
        uint16 parityShards; // m
        address registrant;
        uint64 registeredAt;
        uint64 epoch; // 0 for a model published outside the epochs
    }

    IStakingRoles public immutable staking;
    IEpochModels public immutable epochModels;
    IProjectPublishers public immutable projects;
    mapping(bytes32 => bytes32[]) private leaves;
    mapping(bytes32 => mapping(address => mapping(address => bool))) public reported;
    mapping(bytes32 => Model) private models;
    mapping(bytes32 => mapping(uint16 => address[])) private holders;
    mapping(bytes32 => mapping(uint16 => mapping(address => bool))) private holderSet;
    mapping(address => int256) private reputationDelta;

    error ModelExists(bytes32 modelId);
    error UnknownModel(bytes32 modelId);
    error InvalidCoding(uint16 k, uint16 m);
    error ShardIndexOutOfRange(uint16 index);
    error InvalidProof();
    error AlreadyHolder(bytes32 modelId, uint16 index, address holder);
    error NotHolder(bytes32 modelId, uint16 index, address holder);
    error NotEpochAggregator(uint256 epoch, bytes32 modelId, address caller);
    error LeavesMismatch(bytes32 modelId);
    error NotStaked(address holder);
    error AlreadyReported(bytes32 modelId, address holder, address reporter);

    event ModelRegistered(
        bytes32 indexed modelId, uint256 indexed projectId, bytes32 merkleRoot, uint16 k, uint16 m, uint64 epoch
    );
    event ShardAnnounced(bytes32 indexed modelId, uint16 index, address indexed holder);
    event ShardRemoved(bytes32 indexed modelId, uint16 index, address indexed holder);
    event VerificationReported(
        bytes32 indexed modelId, address indexed holder, address indexed reporter, bool ok, int256 reputation
    );

    constructor(IStakingRoles staking_, IEpochModels epochModels_, IProjectPublishers projects_) {
        staking = staking_;
        epochModels = epochModels_;
        projects = projects_;
    }

    /// Registers `modelId` with its shard leaves (BLAKE3 digests in index order, k + m of them,
    /// building `merkleRoot`). With `epoch` > 0 the caller must be the aggregator of that epoch's
    /// final mint root, which names `modelId`; with `epoch` = 0 (a model published by hand) an
    /// active aggregator (for `projectId` ≠ 0, its founder or an authorised publisher), and an
    /// epoch registration of the same id later replaces it.
    function registerModel(
        bytes32 modelId,
        uint256 projectId,
        bytes32 merkleRoot,
        uint16 k,
        uint16 m,
        uint64 epoch,
        bytes32[] calldata shardLeaves
    ) external {
        if (!staking.isActiveParticipant(msg.sender, Role.AGGREGATOR)) revert NotActive(msg.sender, Role.AGGREGATOR);
        Model storage existing = models[modelId];
        if (existing.registeredAt != 0 && (epoch == 0 || existing.epoch != 0)) revert ModelExists(modelId);
        if (k == 0 || uint256(k) + m > 256) revert InvalidCoding(k, m);
        if (epoch != 0) {
            (bytes32 finalModel, address poster) = epochModels.finalModelOf(epoch);
            if (finalModel != modelId || poster != msg.sender) revert NotEpochAggregator(epoch, modelId, msg.sender);
        } else if (
            projectId != 0 && projects.getProjectFounder(projectId) != msg.sender
                && !projects.modelPublishers(projectId, msg.sender)
        ) {
            revert NotAuthorized(msg.sender);
        }
        if (shardLeaves.length != uint256(k) + m || rootOf(shardLeaves) != merkleRoot) revert LeavesMismatch(modelId);
        models[modelId] = Model(projectId, merkleRoot, k, m, msg.sender, uint64(block.number), epoch);
        leaves[modelId] = shardLeaves;
        emit ModelRegistered(modelId, projectId, merkleRoot, k, m, epoch);
    }

    /// Root of the sorted-pair keccak tree over `nodes` (an unpaired last node is carried up),
    /// as the `autonet-merkle` crate builds it.
    function rootOf(bytes32[] calldata nodes) public pure returns (bytes32) {
        if (nodes.length == 0) return bytes32(0);
        bytes32[] memory level = nodes;
        uint256 n = level.length;
        while (n > 1) {
            uint256 next;
            for (uint256 i = 0; i < n; i += 2) {
                if (i + 1 == n) {
                    level[next++] = level[i];
                } else {
                    (bytes32 a, bytes32 b) = level[i] < level[i + 1] ? (level[i], level[i + 1]) : (level[i + 1], level[i]);
                    level[next++] = keccak256(abi.encodePacked(a, b));
                }
            }
            n = next;
        }
        return level[0];
    }

    /// The caller holds shard `index`; `leaf` is its BLAKE3 digest, `proof` its Merkle path.
    function announceShard(bytes32 modelId, uint16 index, bytes32 leaf, bytes32[] calldata proof) external {
        Model storage md = _model(modelId);
        if (index >= md.dataShards + md.parityShards) revert ShardIndexOutOfRange(index);
        if (!staking.isStaked(msg.sender)) revert NotStaked(msg.sender);
        if (leaves[modelId][index] != leaf || !MerkleProof.verifyCalldata(proof, md.merkleRoot, leaf)) {
            revert InvalidProof();
        }
        if (holderSet[_key(modelId)][index][msg.sender]) revert AlreadyHolder(modelId, index, msg.sender);
        holderSet[_key(modelId)][index][msg.sender] = true;
        holders[_key(modelId)][index].push(msg.sender);
        emit ShardAnnounced(modelId, index, msg.sender);
    }

    function removeShard(bytes32 modelId, uint16 index) external {
        if (!holderSet[_key(modelId)][index][msg.sender]) revert NotHolder(modelId, index, msg.sender);
        holderSet[_key(modelId)][index][msg.sender] = false;
        address[] storage hs = holders[_key(modelId)][index];
        for (uint256 i = 0; i < hs.length; i++) {
            if (hs[i] == msg.sender) {
                hs[i] = hs[hs.length - 1];
                hs.pop();
                break;
            }
        }
        emit ShardRemoved(modelId, index, msg.sender);
    }

    function verifyShard(bytes32 modelId, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        return MerkleProof.verifyCalldata(proof, _model(modelId).merkleRoot, leaf);
    }

    /// Coordinators report whether a holder served a shard of `modelId` that matched its leaf;
    /// once per coordinator, holder and model.
    function reportVerification(bytes32 modelId, address holder, bool ok) external {
        if (!staking.isActiveParticipant(msg.sender, Role.COORDINATOR)) revert NotAuthorized(msg.sender);
        _model(modelId);
        if (reported[modelId][holder][msg.sender]) revert AlreadyReported(modelId, holder, msg.sender);
        reported[modelId][holder][msg.sender] = true;
        int256 rep = reputation(holder) + (ok ? int256(10) : int256(-50));
        if (rep < 0) rep = 0;
        if (rep > MAX_REPUTATION) rep = MAX_REPUTATION;
        reputationDelta[holder] = rep - START_REPUTATION;
        emit VerificationReported(modelId, holder, msg.sender, ok, rep);
    }

    function reputation(address holder) public view returns (int256) {
        return START_REPUTATION + reputationDelta[holder];
    }

    function getModel(bytes32 modelId) external view returns (Model memory) {
        return _model(modelId);
    }

    function isHolder(bytes32 modelId, uint16 index, address holder) external view returns (bool) {
        return holderSet[_key(modelId)][index][holder];
    }

    /// The shard leaves of `modelId` in index order.
    function getLeaves(bytes32 modelId) external view returns (bytes32[] memory) {
        _model(modelId);
        return leaves[modelId];
    }

    function getHolders(bytes32 modelId, uint16 index) external view returns (address[] memory) {
        return holders[_key(modelId)][index];
    }

    /// Number of shard indices with at least one holder; the model is recoverable when ≥ k.
    function availableShards(bytes32 modelId) external view returns (uint16 count) {
        Model storage md = _model(modelId);
        for (uint16 i = 0; i < md.dataShards + md.parityShards; i++) {
            if (holders[_key(modelId)][i].length > 0) count++;
        }
    }

    /// Holder lists belong to one registration: a replaced registration starts with none.
    function _key(bytes32 modelId) private view returns (bytes32) {
        return keccak256(abi.encode(modelId, models[modelId].registeredAt));
    }

    function _model(bytes32 modelId) private view returns (Model storage md) {
        md = models[modelId];
        if (md.registeredAt == 0) revert UnknownModel(modelId);
    }
}
