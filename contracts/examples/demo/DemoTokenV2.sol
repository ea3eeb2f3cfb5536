// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DemoTokenBase} from "./DemoTokenBase.sol";

/// @title DemoTokenV2 (the good green of `bg:demo`)
/// @notice Adds `burn`; everything V1 did behaves exactly as before, so a
/// replay of V1's traffic shows no divergence.
contract DemoTokenV2 is DemoTokenBase {
    /// @notice Sets name, symbol and owner (for a fresh proxy; an upgraded one keeps its state).
    function initialize(address owner_) external initializer {
        __DemoToken_init(owner_);
    }

    /// @notice Destroys `amount` of the caller's tokens.
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    function version() external pure override returns (string memory) {
        return "2";
    }
}
