// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";

/// @notice The first release: appends a counter blue does not know.
contract VaultV2 is Initializable {
    uint256 public total;
    mapping(address => uint256) public balances;
    uint256 public depositCount;

    function initialize() external initializer {}

    function deposit() external payable {
        balances[msg.sender] += msg.value;
        total += msg.value;
        depositCount += 1;
    }

    function version() external pure returns (string memory) {
        return "2";
    }
}
