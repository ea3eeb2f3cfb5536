// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";

/// @notice Blue of the beacon-fleet replay tests: a store behind a beacon, one per BeaconProxy.
contract FleetBoxV1 is Initializable {
    uint256 public value;
    address public keeper;

    event Stored(address indexed by, uint256 value);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize(address keeper_) external initializer {
        keeper = keeper_;
    }

    function store(uint256 newValue) external virtual {
        value = newValue;
        emit Stored(msg.sender, newValue);
    }

    function version() external pure virtual returns (string memory) {
        return "1";
    }
}

/// @notice A green that behaves as blue on every call.
contract FleetBoxV2 is FleetBoxV1 {
    function version() external pure override returns (string memory) {
        return "2";
    }
}

/// @notice A green that refuses large values: it diverges only on the traffic that stores them.
contract FleetBoxV2Capped is FleetBoxV1 {
    uint256 public constant CAP = 1000;

    error ValueAboveCap(uint256 value);

    function store(uint256 newValue) external override {
        if (newValue > CAP) revert ValueAboveCap(newValue);
        value = newValue;
        emit Stored(msg.sender, newValue);
    }
}

interface IFleetBox {
    function store(uint256 newValue) external;
}

/// @notice Stores into a box from another contract: the box's traffic is then internal.
contract FleetRouter {
    function storeVia(address box, uint256 newValue) external {
        IFleetBox(box).store(newValue);
    }
}
