// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {NotAuthorized, ZeroAddress} from "./AutonetTypes.sol";

/// @title ATN, the network's utility token (stakes, rewards, fees).
/// @notice The initial supply goes to the holder, who is also the initial DAO. Minting is limited
/// to the DAO and to authorised minters (the rewards contract mints claimed mint-root amounts).
contract ATNToken is ERC20, ERC20Burnable, ERC20Permit, ERC20Votes {
    address public daoAddress;
    mapping(address => bool) public authorizedMinters;

    event MinterAuthorized(address indexed minter, bool allowed);
    event DaoAddressChanged(address indexed previous, address indexed next);

    constructor(address holder, uint256 initialSupply) ERC20("Autonoma Token", "ATN") ERC20Permit("Autonoma Token") {
        if (holder == address(0)) revert ZeroAddress();
        daoAddress = holder;
        _mint(holder, initialSupply);
    }

    modifier onlyDao() {
        if (msg.sender != daoAddress) revert NotAuthorized(msg.sender);
        _;
    }

    function mint(address to, uint256 amount) external {
        if (msg.sender != daoAddress && !authorizedMinters[msg.sender]) revert NotAuthorized(msg.sender);
        _mint(to, amount);
    }

    function setAuthorizedMinter(address minter, bool allowed) external onlyDao {
        if (minter == address(0)) revert ZeroAddress();
        authorizedMinters[minter] = allowed;
        emit MinterAuthorized(minter, allowed);
    }

    function setDaoAddress(address next) external onlyDao {
        if (next == address(0)) revert ZeroAddress();
        emit DaoAddressChanged(daoAddress, next);
        daoAddress = next;
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }
}
