// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReplayToken} from "./ReplayToken.sol";

/// @title ReplayTokenFeeChange (green)
/// @notice Green with a doubled fee on large transfers: every transaction that
/// makes a large transfer diverges, and no other.
contract ReplayTokenFeeChange is ReplayToken {
    function feeBps() public pure override returns (uint256) {
        return 200;
    }
}
