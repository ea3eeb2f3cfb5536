// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";

/// @title DemoTokenBase
/// @notice What every version of the demo token shares: an upgradeable ERC-20
/// whose owner mints. Each version defines its own `initialize`, as
/// OpenZeppelin's upgrade validation expects of every implementation.
abstract contract DemoTokenBase is Initializable, ERC20Upgradeable, OwnableUpgradeable {
    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function __DemoToken_init(address owner_) internal onlyInitializing {
        __ERC20_init("Demo Dollar", "DMO");
        __Ownable_init(owner_);
    }

    /// @notice Mints new tokens; owner only.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Which implementation the proxy runs.
    function version() external pure virtual returns (string memory);
}
