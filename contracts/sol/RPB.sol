// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {NotAuthorized, ZeroAddress, ZeroAmount} from "./AutonetTypes.sol";

/// @title Agent registry and inference economy.
/// @notice Registration binds a libp2p PeerId to a chain address; both keys sign the binding
/// digest `bindingDigest(agent, peerId)`. The address's ECDSA signature (EIP-191 over the digest)
/// is checked here. The EVM has no Ed25519 precompile, so the PeerId's signature over the same
/// digest is stored and emitted, and peers verify it off chain before trusting the binding.
/// Inference revenue is split 60% provider / 25% shareholders / 15% treasury; shares are bought
/// 1:1 with ATN and earn dividends pro rata; sponsors deposit budgets and grant them to agents.
contract RPB {
    using SafeERC20 for IERC20;

    uint256 public constant PROVIDER_BPS = 6000;
    uint256 public constant SHAREHOLDER_BPS = 2500;
    uint256 public constant TREASURY_BPS = 1500;
    uint256 private constant ACC = 1e18;

    struct Agent {
        bytes peerId;
        bytes peerSignature;
        uint64 registeredAt;
    }

    IERC20 public immutable atn;
    address public immutable treasury;
    mapping(address => Agent) private agents;
    mapping(bytes32 => address) public peerOwner; // keccak256(peerId) → agent
    mapping(address => uint256) public balances; // withdrawable ATN
    mapping(address => uint256) public shares;
    uint256 public totalShares;
    uint256 public dividendPerShare; // accumulated, scaled by 1e18
    uint256 public undistributedDividends; // revenue that arrived while no shares existed
    mapping(address => uint256) private dividendDebt;
    mapping(address => uint256) public sponsorBudget;

    error EmptyPeerId();
    error PeerIdTaken(address owner);
    error AlreadyRegistered(address agent);
    error NotRegistered(address agent);
    error BadAgentSignature();
    error InsufficientBudget(uint256 requested, uint256 available);
    error NothingToWithdraw(address account);

    event AgentRegistered(address indexed agent, bytes peerId, bytes peerSignature);
    event AgentDeregistered(address indexed agent);
    event InferenceRecorded(address indexed payer, address indexed provider, uint256 amount);
    event SharesPurchased(address indexed buyer, uint256 amount);
    event SponsorFunded(address indexed sponsor, uint256 amount);
    event AgentSponsored(address indexed sponsor, address indexed agent, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    constructor(IERC20 atn_, address treasury_) {
        if (address(atn_) == address(0) || treasury_ == address(0)) revert ZeroAddress();
        atn = atn_;
        treasury = treasury_;
    }

    /// The digest both the agent key and the PeerId key sign.
    function bindingDigest(address agent, bytes calldata peerId) public view returns (bytes32) {
        return keccak256(abi.encode(keccak256("autonet.agent-binding.v1"), block.chainid, address(this), agent, keccak256(peerId)));
    }

    /// Registers `agent` ↔ `peerId`. Anyone may relay it; `agentSignature` proves the address
    /// agreed. `peerSignature` is the PeerId key's signature over the same digest.
    function registerAgent(address agent, bytes calldata peerId, bytes calldata peerSignature, bytes calldata agentSignature)
        external
    {
        if (peerId.length == 0) revert EmptyPeerId();
        if (agents[agent].registeredAt != 0) revert AlreadyRegistered(agent);
        bytes32 key = keccak256(peerId);
        if (peerOwner[key] != address(0)) revert PeerIdTaken(peerOwner[key]);
        bytes32 digest = MessageHashUtils.toEthSignedMessageHash(bindingDigest(agent, peerId));
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, agentSignature);
        if (err != ECDSA.RecoverError.NoError || signer != agent) revert BadAgentSignature();
        agents[agent] = Agent(peerId, peerSignature, uint64(block.number));
        peerOwner[key] = agent;
        emit AgentRegistered(agent, peerId, peerSignature);
    }

    function deregisterAgent() external {
        Agent storage a = agents[msg.sender];
        if (a.registeredAt == 0) revert NotRegistered(msg.sender);
        delete peerOwner[keccak256(a.peerId)];
        delete agents[msg.sender];
        emit AgentDeregistered(msg.sender);
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
