// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DemoTokenBase} from "./DemoTokenBase.sol";

/// @title DemoTokenV3 (the buggy green of `bg:demo`)
/// @notice Keeps V2's `burn` and adds a per-transfer cap meant to be
/// 1,000,000 DMO. The constant has a typo (1,000 DMO), so every transfer of
/// 1,000 DMO or more reverts: the replay shows it as revert divergences, and
/// in production the monitor sees the revert rate jump.
contract DemoTokenV3 is DemoTokenBase {
    /// @notice Largest amount one transfer may move, exclusive (the bug: three zeros are missing).
    uint256 public constant MAX_TRANSFER = 1_000e18;

    /// @notice A transfer of `MAX_TRANSFER` or more.
    error TransferAboveCap(uint256 value, uint256 cap);

    /// @notice Sets name, symbol and owner (for a fresh proxy; an upgraded one keeps its state).
    function initialize(address owner_) external initializer {
        __DemoToken_init(owner_);
    }

    /// @notice Destroys `amount` of the caller's tokens.
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }

    function version() external pure override returns (string memory) {
        return "3";
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0) && value >= MAX_TRANSFER) revert TransferAboveCap(value, MAX_TRANSFER);
        super._update(from, to, value);
    }
}
