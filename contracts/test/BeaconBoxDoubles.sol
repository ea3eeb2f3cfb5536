// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BeaconBoxV1} from "../examples/beacon/BeaconBox.sol";

/// @notice A third version of the beacon example, for tests with several releases of one beacon
/// (a release staged against blue while another one goes live).
contract BeaconBoxV3 is BeaconBoxV1 {
    function version() external pure override returns (string memory) {
        return "3";
    }
}
