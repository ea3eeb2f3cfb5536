// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplayToken} from "./ReplayToken.sol";

/// @title ReplayTokenRevertingGreen (green)
/// @notice Green with a regression: `transferFrom` of a large amount reverts,
/// which breaks the router and vault paths that move large amounts.
contract ReplayTokenRevertingGreen is ReplayToken {
    /// @notice The regression's revert.
    error LargeTransferFromDisabled(uint256 value);

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (value >= LARGE_TRANSFER) revert LargeTransferFromDisabled(value);
        return super.transferFrom(from, to, value);
    }
}
