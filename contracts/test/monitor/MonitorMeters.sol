// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";

/// @notice Blue for the monitor tests: a meter that counts ticks.
contract MonitorMeterV1 is Initializable {
    uint256 public ticks;
    address public owner;

    event Ticked(address indexed by, uint256 ticks);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize(address owner_) external initializer {
        owner = owner_;
    }

    function tick() external virtual {
        ticks += 1;
        emit Ticked(msg.sender, ticks);
    }

    /// @notice A probe target: true while the meter works.
    function healthy() external view virtual returns (bool) {
        return true;
    }

    function version() external pure virtual returns (string memory) {
        return "1";
    }
}

/// @notice A healthy green: same behaviour, one more variable.
contract MonitorMeterV2 is MonitorMeterV1 {
    uint256 public greenTicks;

    function tick() external override {
        greenTicks += 1;
        ticks += 1;
        emit Ticked(msg.sender, ticks);
    }

    function version() external pure override returns (string memory) {
        return "2";
    }
}

/// @notice A green that breaks after a few calls: `tick` reverts once it ran
/// `LIMIT` times on green, and the `healthy` probe turns false.
contract MonitorMeterV2Breaking is MonitorMeterV1 {
    uint256 public constant LIMIT = 3;
    uint256 public greenTicks;

    error MeterExhausted(uint256 greenTicks);

    function tick() external override {
        if (greenTicks >= LIMIT) revert MeterExhausted(greenTicks);
        greenTicks += 1;
        ticks += 1;
        emit Ticked(msg.sender, ticks);
    }

    function healthy() external view override returns (bool) {
        return greenTicks < LIMIT;
    }

    function version() external pure override returns (string memory) {
        return "2-breaking";
    }
}

interface IMonitorMeter {
    function tick() external;
}

/// @notice Calls a meter from another contract: the meter's traffic is then internal, seen through its logs.
contract MonitorMeterRouter {
    function tickThrough(address meter) external {
        IMonitorMeter(meter).tick();
    }
}
