// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ZeroAddress} from "./AutonetTypes.sol";

/// @title Key → address registry: every protocol contract is discovered here by name.
/// @notice Keys used by the node: "atn.token", "staking", "project", "task", "rewards", "rpb",
/// "shards", "timelock", "governor".
contract Registry is Ownable {
    mapping(string => address) private values;
    string[] private keys;

    error UnknownKey(string key);

    event RegistryValueSet(string key, address value);

    constructor(address owner_) Ownable(owner_) {}

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
}
