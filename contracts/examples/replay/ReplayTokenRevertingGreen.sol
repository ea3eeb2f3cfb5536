// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplayToken} from "./ReplayToken.sol";

/// @title ReplayTokenRevertingGreen (green)
/// @notice Green with a regression: `transferFrom` of a large amount reverts,
/// which breaks the router and vault paths that move large amounts.
/// @dev Green keeps blue's storage and its `initialize`, which already ran on
/// the proxy; it adds no state to initialize, so it needs no initializer of
/// its own (promoted with empty init data).
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract ReplayTokenRevertingGreen is ReplayToken {
    /// @notice The regression's revert.
    error LargeTransferFromDisabled(uint256 value);

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (value >= LARGE_TRANSFER) revert LargeTransferFromDisabled(value);
        return super.transferFrom(from, to, value);
    }
}
