// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";

/// @notice The developer guide's green: VaultV1 plus deposits on behalf of another account.
contract VaultV2 is Initializable {
    mapping(address account => uint256) public balanceOf;
    uint256 public totalDeposits;

    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize() external initializer {}

    function deposit() external payable {
        depositFor(msg.sender);
    }

    function depositFor(address account) public payable {
        balanceOf[account] += msg.value;
        totalDeposits += msg.value;
        emit Deposited(account, msg.value);
    }

    function withdraw(uint256 amount) external {
        balanceOf[msg.sender] -= amount;
        totalDeposits -= amount;
        (bool ok, ) = msg.sender.call{value: amount}("");
        require(ok, "VaultV1: transfer failed");
        emit Withdrawn(msg.sender, amount);
    }
}
