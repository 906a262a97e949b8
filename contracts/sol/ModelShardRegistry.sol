// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Role, NotActive, NotAuthorized} from "./AutonetTypes.sol";

interface IStakingRoles {
    function isActiveParticipant(address account, Role role) external view returns (bool);
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
    }

    IStakingRoles public immutable staking;
    mapping(bytes32 => Model) private models;
    mapping(bytes32 => mapping(uint16 => address[])) private holders;
    mapping(bytes32 => mapping(uint16 => mapping(address => bool))) public isHolder;
    mapping(address => int256) private reputationDelta;

    error ModelExists(bytes32 modelId);
    error UnknownModel(bytes32 modelId);
    error InvalidCoding(uint16 k, uint16 m);
    error ShardIndexOutOfRange(uint16 index);
    error InvalidProof();
    error AlreadyHolder(bytes32 modelId, uint16 index, address holder);
    error NotHolder(bytes32 modelId, uint16 index, address holder);

    event ModelRegistered(bytes32 indexed modelId, uint256 indexed projectId, bytes32 merkleRoot, uint16 k, uint16 m);
    event ShardAnnounced(bytes32 indexed modelId, uint16 index, address indexed holder);
    event ShardRemoved(bytes32 indexed modelId, uint16 index, address indexed holder);
    event VerificationReported(address indexed holder, address indexed reporter, bool ok, int256 reputation);

    constructor(IStakingRoles staking_) {
        staking = staking_;
    }

    function registerModel(bytes32 modelId, uint256 projectId, bytes32 merkleRoot, uint16 k, uint16 m) external {
        if (!staking.isActiveParticipant(msg.sender, Role.AGGREGATOR)) revert NotActive(msg.sender, Role.AGGREGATOR);
        if (models[modelId].registeredAt != 0) revert ModelExists(modelId);
        if (k == 0 || uint256(k) + m > 256) revert InvalidCoding(k, m);
        models[modelId] = Model(projectId, merkleRoot, k, m, msg.sender, uint64(block.number));
        emit ModelRegistered(modelId, projectId, merkleRoot, k, m);
    }

    /// The caller holds shard `index`; `leaf` is its BLAKE3 digest, `proof` its Merkle path.
    function announceShard(bytes32 modelId, uint16 index, bytes32 leaf, bytes32[] calldata proof) external {
        Model storage md = _model(modelId);
        if (index >= md.dataShards + md.parityShards) revert ShardIndexOutOfRange(index);
        if (!MerkleProof.verifyCalldata(proof, md.merkleRoot, leaf)) revert InvalidProof();
        if (isHolder[modelId][index][msg.sender]) revert AlreadyHolder(modelId, index, msg.sender);
        isHolder[modelId][index][msg.sender] = true;
        holders[modelId][index].push(msg.sender);
        emit ShardAnnounced(modelId, index, msg.sender);
    }

    function removeShard(bytes32 modelId, uint16 index) external {
        if (!isHolder[modelId][index][msg.sender]) revert NotHolder(modelId, index, msg.sender);
        isHolder[modelId][index][msg.sender] = false;
        address[] storage hs = holders[modelId][index];
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

    /// Coordinators report whether a holder served a shard that matched its leaf.
    function reportVerification(address holder, bool ok) external {
        if (!staking.isActiveParticipant(msg.sender, Role.COORDINATOR)) revert NotAuthorized(msg.sender);
        int256 rep = reputation(holder) + (ok ? int256(10) : int256(-50));
        if (rep < 0) rep = 0;
        if (rep > MAX_REPUTATION) rep = MAX_REPUTATION;
        reputationDelta[holder] = rep - START_REPUTATION;
        emit VerificationReported(holder, msg.sender, ok, rep);
    }

    function reputation(address holder) public view returns (int256) {
        return START_REPUTATION + reputationDelta[holder];
    }

    function getModel(bytes32 modelId) external view returns (Model memory) {
        return _model(modelId);
    }

    function getHolders(bytes32 modelId, uint16 index) external view returns (address[] memory) {
        return holders[modelId][index];
    }

    /// Number of shard indices with at least one holder; the model is recoverable when ≥ k.
    function availableShards(bytes32 modelId) external view returns (uint16 count) {
        Model storage md = _model(modelId);
        for (uint16 i = 0; i < md.dataShards + md.parityShards; i++) {
            if (holders[modelId][i].length > 0) count++;
        }
    }

    function _model(bytes32 modelId) private view returns (Model storage md) {
        md = models[modelId];
        if (md.registeredAt == 0) revert UnknownModel(modelId);
    }
}
