// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";

/// @notice An unsafe upgrade of BoxV1: a variable inserted before existing ones clashes with blue's storage.
contract BoxV2Clash is Initializable {
    uint256 public fee;
    uint256 public value;
    address public owner;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function store(uint256 newValue) external {
        value = newValue;
    }
}
