// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// OpenZeppelin's TimelockController, compiled for the approval tests: a
// timelock as the switch's approver, with a Safe as its proposer.
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
