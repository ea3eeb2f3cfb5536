// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";

/// @notice The second release: keeps V2's layout and appends the last depositor.
contract VaultV3 is Initializable {
    uint256 public total;
    mapping(address => uint256) public balances;
    uint256 public depositCount;
    address public lastDepositor;

    function initialize() external initializer {}

    function deposit() external payable {
        balances[msg.sender] += msg.value;
        total += msg.value;
        depositCount += 1;
        lastDepositor = msg.sender;
    }

    function version() external pure returns (string memory) {
        return "3";
    }
}
