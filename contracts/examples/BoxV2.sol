// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";

/// @notice A safe upgrade of BoxV1: same layout, one variable appended.
contract BoxV2 is Initializable {
    uint256 public value;
    address public owner;
    uint256 public updates;

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
        updates += 1;
        emit ValueChanged(msg.sender, newValue);
    }

    function version() external pure returns (string memory) {
        return "2";
    }
}
