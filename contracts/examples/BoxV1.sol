// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";

/// @notice A minimal upgradeable store, used by tests and the demo as blue.
contract BoxV1 is Initializable {
    uint256 public value;
    address public owner;

    event ValueChanged(address indexed by, uint256 value);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize(address owner_) external initializer {
        owner = owner_;
    }

    function store(uint256 newValue) external {
        value = newValue;
        emit ValueChanged(msg.sender, newValue);
    }

    function version() external pure virtual returns (string memory) {
        return "1";
    }
}
