// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ZeroAddress} from "./AutonetTypes.sol";

/// @title Key → address registry: every protocol contract is discovered here by name; plus the
/// governed key → bytes32 values (code fingerprints, the constitution's hash, protocol parameters).
/// @notice Address keys used by the node: "atn.token", "staking", "project", "task", "rewards", "rpb",
/// "shards", "timelock", "governor". The address map belongs to the owner (the deployer wires the
/// suite with it). The bytes32 map is written only by `governance` (the Timelock), so a value there
/// is always the outcome of a passed, queued and executed proposal. Its keys are listed in the
/// node's `autonet_protocol::governance::keys` (e.g. "node.code.hash.<version>",
/// "constitution.current", "param.<name>"); a parameter is its uint256 as bytes32.
contract Registry is Ownable {
    mapping(string => address) private values;
    string[] private keys;
    mapping(string => bytes32) private words;
    string[] private wordKeys;
    /// The only writer of the bytes32 values (the Timelock).
    address public immutable governance;

    error UnknownKey(string key);
    error NotGovernance(address caller);
    error ZeroValue(string key);

    event RegistryValueSet(string key, address value);
    event RegistryBytes32Set(string key, bytes32 value);

    constructor(address owner_, address governance_) Ownable(owner_) {
        if (governance_ == address(0)) revert ZeroAddress();
        governance = governance_;
    }

    function setRegistryValue(string calldata key, address value) external onlyOwner {
        if (value == address(0)) revert ZeroAddress();
        if (values[key] == address(0)) keys.push(key);
        values[key] = value;
        emit RegistryValueSet(key, value);
    }

    function getRegistryValue(string calldata key) external view returns (address) {
        address value = values[key];
        if (value == address(0)) revert UnknownKey(key);
        return value;
    }

    function getAllKeys() external view returns (string[] memory) {
        return keys;
    }

    /// @notice Sets a governed value; zero is refused (it means "never set" to readers).
    function setBytes32(string calldata key, bytes32 value) external {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        if (value == bytes32(0)) revert ZeroValue(key);
        if (words[key] == bytes32(0)) wordKeys.push(key);
        words[key] = value;
        emit RegistryBytes32Set(key, value);
    }

    /// @notice The governed value of `key`, zero when governance never set it.
    function getBytes32(string calldata key) external view returns (bytes32) {
        return words[key];
    }

    function getAllBytes32Keys() external view returns (string[] memory) {
        return wordKeys;
    }
}
