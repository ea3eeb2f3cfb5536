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

/// @notice A beacon whose upgrades do not take: `upgradeTo` succeeds but
/// `implementation()` stays. The switch must read it back and revert.
contract LazyBeacon {
    address public owner;
    address public implementation;

    constructor(address implementation_, address owner_) {
        implementation = implementation_;
        owner = owner_;
    }

    function transferOwnership(address newOwner) external {
        require(msg.sender == owner, "not owner");
        owner = newOwner;
    }

    function upgradeTo(address) external view {
        require(msg.sender == owner, "not owner");
    }
}
