// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC4626Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/extensions/ERC4626Upgradeable.sol";
import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";

/// @title ReplayVault
/// @notice An upgradeable ERC-4626 vault over the replay token. Its deposits
/// and withdrawals call the token proxy internally.
contract ReplayVault is Initializable, ERC4626Upgradeable {
    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Sets the underlying asset (the proxy's initializer).
    function initialize(IERC20 asset_) external initializer {
        __ERC20_init("Replay Vault Share", "vRPL");
        __ERC4626_init(asset_);
    }
}
