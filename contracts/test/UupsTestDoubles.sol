// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test only: UUPS implementations that behave badly on purpose, for the switch tests.

import {UupsOwnableBoxV1} from "../examples/uups/UupsOwnableBox.sol";

/// @notice A UUPS green whose owner can no longer hand its ownership on: `release`
/// must still forget the proxy.
contract UupsStickyOwnerGreen is UupsOwnableBoxV1 {
    error OwnershipIsSticky();

    function transferOwnership(address) public pure override {
        revert OwnershipIsSticky();
    }
}
