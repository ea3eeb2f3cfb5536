// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DemoTokenBase} from "./DemoTokenBase.sol";

/// @title DemoTokenV1 (blue in `bg:demo`)
/// @notice An upgradeable ERC-20 behind a TransparentUpgradeableProxy, the
/// way a team would have it on mainnet: the owner mints, holders transfer,
/// approve and spend allowances.
contract DemoTokenV1 is DemoTokenBase {
    /// @notice Sets name, symbol and owner (the proxy's initializer).
    function initialize(address owner_) external initializer {
        __DemoToken_init(owner_);
    }

    function version() external pure override returns (string memory) {
        return "1";
    }
}
