// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplayToken} from "./ReplayToken.sol";

/// @title ReplayTokenFeeChange (green)
/// @notice Green with a doubled fee on large transfers: every transaction that
/// makes a large transfer diverges, and no other.
/// @dev Green keeps blue's storage and its `initialize`, which already ran on
/// the proxy; it adds no state to initialize, so it needs no initializer of
/// its own (promoted with empty init data).
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract ReplayTokenFeeChange is ReplayToken {
    function feeBps() public pure override returns (uint256) {
        return 200;
    }
}
