// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";

/// @notice Blue of the interop tests: what a team deployed with hardhat-upgrades or Ignition.
contract VaultV1 is Initializable {
    uint256 public total;
    mapping(address => uint256) public balances;

    function initialize() external initializer {}

    function deposit() external payable {
        balances[msg.sender] += msg.value;
        total += msg.value;
    }

    function version() external pure returns (string memory) {
        return "1";
    }
}
