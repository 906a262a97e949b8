// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {NotAuthorized, ZeroAddress, ZeroAmount} from "./AutonetTypes.sol";

/// @title Agent registry and inference economy.
/// @notice Registration binds a libp2p PeerId to a chain address; both keys sign the binding
/// digest `bindingDigest(agent, peerId)` (it covers a per-agent nonce, so a registration cannot
/// be replayed after a deregistration). The address's ECDSA signature (EIP-191 over the digest)
/// is checked here. The EVM has no Ed25519 precompile, so the PeerId's signature over the same
/// digest is stored and emitted, and peers verify it off chain before trusting the binding.
/// Because the chain cannot tell a PeerId's owner from a squatter, a PeerId is never locked by
/// its first claimant: every agent may claim any PeerId, the claims of one PeerId are listed by
/// `claimsOf`, and peers resolve a PeerId to the newest claim whose Ed25519 signature verifies
/// (ties: the higher address). A squatter's claim is stored but never trusted, and the owner can
/// bind (or re-bind to another address) whatever was claimed before or after it.
/// Inference revenue is split 60% provider / 25% shareholders / 15% treasury; shares are bought
/// 1:1 with ATN and earn dividends pro rata; sponsors deposit budgets and grant them to agents.
contract RPB {
    using SafeERC20 for IERC20;

    uint256 public constant PROVIDER_BPS = 6000;
    uint256 public constant SHAREHOLDER_BPS = 2500;
    uint256 public constant TREASURY_BPS = 1500;
    uint256 private constant ACC = 1e18;

    /// Longest PeerId and PeerId signature accepted (an Ed25519 PeerId is 38 bytes, its
    /// signature 64); bounds what one claim costs a reader.
    uint256 public constant MAX_PEER_BYTES = 128;

    /// An agent lineage (reference §9.8, owner-rooted; the rule is autonet_agents::lineage):
    /// the owner who signed it, its parent lineage (zero for a root agent) and the agent's key.
    struct Lineage {
        address owner;
        bytes32 parent;
        address agentKey;
        uint64 registeredAt;
    }

    struct Agent {
        bytes peerId;
        bytes peerSignature;
        uint64 registeredAt;
        /// The binding digest both keys signed.
        bytes32 digest;
    }

    /// One claim of a PeerId, as `claimsOf` lists it.
    struct PeerClaim {
        address agent;
        bytes peerSignature;
        bytes32 digest;
        uint64 registeredAt;
    }

    IERC20 public immutable atn;
    address public immutable treasury;
    mapping(address => Agent) private agents;
    mapping(bytes32 => address[]) private claimants; // keccak256(peerId) → agents claiming it
    mapping(address => uint256) private claimSlot; // agent → 1 + its index in its PeerId's claimants
    mapping(address => uint256) public bindingNonce; // registrations of each agent so far
    mapping(address => uint256) public balances; // withdrawable ATN
    mapping(address => uint256) public shares;
    uint256 public totalShares;
    uint256 public dividendPerShare; // accumulated, scaled by 1e18
    uint256 public undistributedDividends; // revenue that arrived while no shares existed
    mapping(address => uint256) private dividendDebt;
    mapping(address => uint256) public sponsorBudget;
    mapping(bytes32 => Lineage) private lineageRecords; // agent lineage → its registration

    error EmptyPeerId();
    error PeerBytesTooLong(uint256 length);
    error AlreadyRegistered(address agent);
    error NotRegistered(address agent);
    error BadAgentSignature();
    error InsufficientBudget(uint256 requested, uint256 available);
    error NothingToWithdraw(address account);
    error ZeroLineage();
    error LineageTaken(bytes32 lineage);
    error UnknownParent(bytes32 parent);
    error BadOwnerSignature();

    event AgentRegistered(address indexed agent, bytes peerId, bytes peerSignature);
    event AgentDeregistered(address indexed agent);
    event InferenceRecorded(address indexed payer, address indexed provider, uint256 amount);
    event SharesPurchased(address indexed buyer, uint256 amount);
    event SponsorFunded(address indexed sponsor, uint256 amount);
    event AgentSponsored(address indexed sponsor, address indexed agent, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event LineageRegistered(bytes32 indexed lineage, bytes32 indexed parent, address indexed owner, address agentKey);

    constructor(IERC20 atn_, address treasury_) {
        if (address(atn_) == address(0) || treasury_ == address(0)) revert ZeroAddress();
        atn = atn_;
        treasury = treasury_;
    }

    /// The digest both the agent key and the PeerId key sign for `agent`'s next registration.
    function bindingDigest(address agent, bytes calldata peerId) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("autonet.agent-binding.v2"),
                block.chainid,
                address(this),
                agent,
                bindingNonce[agent],
                keccak256(peerId)
            )
        );
    }

    /// Registers `agent`'s claim of `peerId`. Anyone may relay it; `agentSignature` proves the
    /// address agreed. `peerSignature` is the PeerId key's signature over the same digest; it
    /// is not checked here (no Ed25519 on the EVM), so a claim of a PeerId that others claimed
    /// too is added beside theirs, and readers trust only claims whose signature verifies.
    function registerAgent(address agent, bytes calldata peerId, bytes calldata peerSignature, bytes calldata agentSignature)
        external
    {
        if (peerId.length == 0) revert EmptyPeerId();
        if (peerId.length > MAX_PEER_BYTES) revert PeerBytesTooLong(peerId.length);
        if (peerSignature.length > MAX_PEER_BYTES) revert PeerBytesTooLong(peerSignature.length);
        if (agents[agent].registeredAt != 0) revert AlreadyRegistered(agent);
        bytes32 binding = bindingDigest(agent, peerId);
        bytes32 digest = MessageHashUtils.toEthSignedMessageHash(binding);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, agentSignature);
        if (err != ECDSA.RecoverError.NoError || signer != agent) revert BadAgentSignature();
        bindingNonce[agent] += 1;
        agents[agent] = Agent(peerId, peerSignature, uint64(block.number), binding);
        address[] storage list = claimants[keccak256(peerId)];
        list.push(agent);
        claimSlot[agent] = list.length;
        emit AgentRegistered(agent, peerId, peerSignature);
    }

    /// Withdraws the caller's claim (to re-bind the address to another PeerId, deregister and
    /// register again).
    function deregisterAgent() external {
        Agent storage a = agents[msg.sender];
        if (a.registeredAt == 0) revert NotRegistered(msg.sender);
        address[] storage list = claimants[keccak256(a.peerId)];
        uint256 slot = claimSlot[msg.sender];
        address last = list[list.length - 1];
        list[slot - 1] = last;
        claimSlot[last] = slot;
        list.pop();
        delete claimSlot[msg.sender];
        delete agents[msg.sender];
        emit AgentDeregistered(msg.sender);
    }

    /// How many agents claim `peerId`.
    function claimCount(bytes calldata peerId) external view returns (uint256) {
        return claimants[keccak256(peerId)].length;
    }

    /// Up to `count` claims of `peerId` from index `start` (unordered; readers order them by
    /// `registeredAt`).
    function claimsOf(bytes calldata peerId, uint256 start, uint256 count) external view returns (PeerClaim[] memory out) {
        address[] storage list = claimants[keccak256(peerId)];
        uint256 len = list.length;
        if (start >= len || count == 0) return new PeerClaim[](0);
        uint256 end = len - start > count ? start + count : len;
        out = new PeerClaim[](end - start);
        for (uint256 i = start; i < end; i++) {
            Agent storage a = agents[list[i]];
            out[i - start] = PeerClaim(list[i], a.peerSignature, a.digest, a.registeredAt);
        }
    }

    /// The digest an owner signs (EIP-191) to register `lineage` under `parent` for `agentKey`.
    function lineageDigest(bytes32 lineage, bytes32 parent, address agentKey) public view returns (bytes32) {
        return keccak256(
            abi.encode(keccak256("autonet.agent-lineage.v1"), block.chainid, address(this), lineage, parent, agentKey)
        );
    }

    /// Registers an agent lineage with its owner's signature; anyone may relay it. A root
    /// lineage (`parent` zero) is owned by whoever signed it; a child must be signed by its
    /// parent's owner, so a lineage tree has one owner. The chain cannot recompute the hash
    /// (the charter stays off chain): peers recompute it from the agent's lineage proof and
    /// check here that it was registered, by whom and for which key.
    function registerLineage(bytes32 lineage, bytes32 parent, address agentKey, bytes calldata ownerSig) external {
        if (lineage == bytes32(0)) revert ZeroLineage();
        if (agentKey == address(0)) revert ZeroAddress();
        if (lineageRecords[lineage].registeredAt != 0) revert LineageTaken(lineage);
        bytes32 digest = MessageHashUtils.toEthSignedMessageHash(lineageDigest(lineage, parent, agentKey));
        (address owner, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, ownerSig);
        if (err != ECDSA.RecoverError.NoError) revert BadOwnerSignature();
        if (parent != bytes32(0)) {
            address parentOwner = lineageRecords[parent].owner;
            if (parentOwner == address(0)) revert UnknownParent(parent);
            if (owner != parentOwner) revert BadOwnerSignature();
        }
        lineageRecords[lineage] = Lineage(owner, parent, agentKey, uint64(block.number));
        emit LineageRegistered(lineage, parent, owner, agentKey);
    }

    /// The registration of `lineage` (all zero when none).
    function getLineage(bytes32 lineage) external view returns (Lineage memory) {
        return lineageRecords[lineage];
    }

    function getAgent(address agent) external view returns (Agent memory) {
        return agents[agent];
    }

    /// Pays `amount` ATN for inference served by a registered `provider`, split three ways.
    function recordInference(address provider, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (agents[provider].registeredAt == 0) revert NotRegistered(provider);
        atn.safeTransferFrom(msg.sender, address(this), amount);
        uint256 toProvider = amount * PROVIDER_BPS / 10_000;
        uint256 toTreasury = amount * TREASURY_BPS / 10_000;
        balances[provider] += toProvider;
        balances[treasury] += toTreasury;
        uint256 dividends = amount - toProvider - toTreasury + undistributedDividends;
        if (totalShares == 0) {
            undistributedDividends = dividends;
        } else {
            undistributedDividends = 0;
            dividendPerShare += dividends * ACC / totalShares;
        }
        emit InferenceRecorded(msg.sender, provider, amount);
    }

    function purchaseShares(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        _settle(msg.sender);
        atn.safeTransferFrom(msg.sender, address(this), amount);
        shares[msg.sender] += amount;
        totalShares += amount;
        dividendDebt[msg.sender] = shares[msg.sender] * dividendPerShare / ACC;
        balances[treasury] += amount; // share purchases fund the treasury
        emit SharesPurchased(msg.sender, amount);
    }

    function pendingDividends(address holder) public view returns (uint256) {
        return shares[holder] * dividendPerShare / ACC - dividendDebt[holder];
    }

    function registerAsSponsor(uint256 budget) external {
        if (budget == 0) revert ZeroAmount();
        atn.safeTransferFrom(msg.sender, address(this), budget);
        sponsorBudget[msg.sender] += budget;
        emit SponsorFunded(msg.sender, budget);
    }

    function sponsorAgent(address agent, uint256 amount) external {
        if (agents[agent].registeredAt == 0) revert NotRegistered(agent);
        uint256 budget = sponsorBudget[msg.sender];
        if (amount == 0 || amount > budget) revert InsufficientBudget(amount, budget);
        sponsorBudget[msg.sender] = budget - amount;
        balances[agent] += amount;
        emit AgentSponsored(msg.sender, agent, amount);
    }

    /// Pays out the caller's balance and dividends.
    function withdraw() external {
        _settle(msg.sender);
        uint256 amount = balances[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        balances[msg.sender] = 0;
        atn.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    function _settle(address holder) private {
        uint256 due = pendingDividends(holder);
        if (due > 0) balances[holder] += due;
        dividendDebt[holder] = shares[holder] * dividendPerShare / ACC;
    }
}
