// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {ERC20VotesUpgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC20VotesUpgradeable.sol";
import {EIP712Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/cryptography/EIP712Upgradeable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";

/// @title VotesToken (blue)
/// @notice An upgradeable ERC20Votes governance token: its checkpoints are
/// keyed by `clock()`, the block number, so every delegation and transfer
/// writes the block it ran in.
contract VotesToken is ERC20VotesUpgradeable, OwnableUpgradeable {
    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Sets name, symbol, EIP-712 domain and owner (the proxy's initializer).
    function initialize(address owner_) external initializer {
        __ERC20_init("Block Votes", "BVT");
        __EIP712_init("Block Votes", "1");
        __ERC20Votes_init();
        __Ownable_init(owner_);
    }

    /// @notice Mints new tokens; owner only.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}

/// @notice Green that behaves exactly like blue, gas included: only its metadata differs.
/// @custom:oz-upgrades-unsafe-allow constructor
contract VotesTokenSame is VotesToken {}
