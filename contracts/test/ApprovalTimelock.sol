// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @notice OpenZeppelin's TimelockController, unchanged, compiled for the approval
/// tests (Hardhat emits artifacts only for contracts defined in the project):
/// a timelock as the switch's approver, with a Safe as its proposer.
contract ApprovalTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
