// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ZeroAddress} from "./AutonetTypes.sol";

/// @title REP, the soulbound governance token; the Governor's voting token.
/// @notice Discovery starts here: `Governor.token()` is this contract and `registryAddress()`
/// points at the Registry that names every other contract.
contract RepToken is ERC20, ERC20Permit, ERC20Votes, Ownable {
    address public registryAddress;

    error Soulbound();

    event RegistryAddressChanged(address indexed registry);

    constructor(address owner_) ERC20("Autonet Reputation", "REP") ERC20Permit("Autonet Reputation") Ownable(owner_) {}

    function setRegistryAddress(address registry) external onlyOwner {
        if (registry == address(0)) revert ZeroAddress();
        registryAddress = registry;
        emit RegistryAddressChanged(registry);
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// Reputation cannot be transferred, only minted (by governance) or held.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        if (from != address(0) && to != address(0)) revert Soulbound();
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
