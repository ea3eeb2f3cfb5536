// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {UpgradeableBeacon} from "@openzeppelin/contracts/proxy/beacon/UpgradeableBeacon.sol";
import {BeaconProxy} from "@openzeppelin/contracts/proxy/beacon/BeaconProxy.sol";

/// @notice A store behind a beacon (blue of the beacon examples).
contract BeaconBoxV1 is Initializable {
    uint256 public value;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize(uint256 value_) external initializer {
        value = value_;
    }

    function store(uint256 newValue) external {
        value = newValue;
    }

    function version() external pure virtual returns (string memory) {
        return "1";
    }
}

/// @notice Green of the beacon examples.
contract BeaconBoxV2 is BeaconBoxV1 {
    function version() external pure override returns (string memory) {
        return "2";
    }
}

/// @notice OpenZeppelin's UpgradeableBeacon, unchanged, under a name this project compiles.
contract BoxBeacon is UpgradeableBeacon {
    constructor(address implementation, address owner) UpgradeableBeacon(implementation, owner) {}
}

/// @notice OpenZeppelin's BeaconProxy, unchanged, under a name this project compiles.
contract BoxBeaconProxy is BeaconProxy {
    constructor(address beacon, bytes memory data) payable BeaconProxy(beacon, data) {}
}
