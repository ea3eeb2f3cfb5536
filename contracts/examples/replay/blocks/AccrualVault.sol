// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";

/// @title AccrualVault (blue)
/// @notice An upgradeable ETH vault whose every rule depends on the block, as
/// lending markets and bridges do: an interest index accrued per block
/// (Compound-style), the block of each depositor's last action, a cap on
/// withdrawals per block (a rate limit), and a time lock on fresh deposits.
/// Replaying it with block numbers or timestamps that drift from the chain's
/// changes its storage, its events and which withdrawals revert.
contract AccrualVault is Initializable {
    /// @notice Index units accrued per block.
    uint256 public constant RATE = 1e9;
    /// @notice Wei that may leave the vault in one block, all callers together.
    uint256 public constant WITHDRAW_LIMIT_PER_BLOCK = 3 ether;
    /// @notice Seconds a deposit stays locked.
    uint256 public constant LOCK = 24;

    uint256 public index;
    uint256 public lastAccrualBlock;
    uint256 public limitBlock;
    uint256 public withdrawnInBlock;
    mapping(address => uint256) public deposits;
    mapping(address => uint256) public lastActionBlock;
    mapping(address => uint256) public unlockTime;

    error InsufficientDeposit(uint256 have, uint256 want);
    error WithdrawalLocked(uint256 until);
    error RateLimited(uint256 withdrawn, uint256 limit);

    event Deposited(address indexed user, uint256 amount, uint256 index);
    event Withdrawn(address indexed user, uint256 amount, uint256 index);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Starts the index at the current block (the proxy's initializer).
    function initialize() external initializer {
        lastAccrualBlock = block.number;
    }

    /// @notice Deposits the ETH sent, for the caller.
    function deposit() external payable virtual returns (uint256) {
        return _deposit(msg.sender, msg.value);
    }

    /// @notice Deposits the ETH sent, for `user` (routers and zaps).
    function depositFor(address user) external payable returns (uint256) {
        return _deposit(user, msg.value);
    }

    /// @notice Withdraws `amount` wei; returns what the caller has left.
    function withdraw(uint256 amount) external returns (uint256) {
        uint256 have = deposits[msg.sender];
        if (amount > have) _insufficient(have, amount);
        if (block.timestamp < unlockTime[msg.sender]) revert WithdrawalLocked(unlockTime[msg.sender]);
        if (block.number != limitBlock) {
            limitBlock = block.number;
            withdrawnInBlock = 0;
        }
        uint256 used = withdrawnInBlock + amount;
        if (used > WITHDRAW_LIMIT_PER_BLOCK) revert RateLimited(withdrawnInBlock, WITHDRAW_LIMIT_PER_BLOCK);
        withdrawnInBlock = used;
        _accrue();
        uint256 remaining = have - amount;
        deposits[msg.sender] = remaining;
        lastActionBlock[msg.sender] = block.number;
        emit Withdrawn(msg.sender, amount, index);
        (bool sent, ) = msg.sender.call{value: amount}("");
        require(sent, "AccrualVault: send failed");
        return _withdrawResult(remaining, amount);
    }

    function _deposit(address user, uint256 amount) internal returns (uint256) {
        _accrue();
        deposits[user] += amount;
        lastActionBlock[user] = block.number;
        unlockTime[user] = block.timestamp + LOCK;
        emit Deposited(user, amount, index);
        return deposits[user];
    }

    function _accrue() internal {
        index += RATE * _elapsedBlocks();
        lastAccrualBlock = block.number;
    }

    /// @dev Blocks since the last accrual; greens change it.
    function _elapsedBlocks() internal view virtual returns (uint256) {
        return block.number - lastAccrualBlock;
    }

    /// @dev How a withdrawal above the deposit fails; greens change it.
    function _insufficient(uint256 have, uint256 want) internal pure virtual {
        revert InsufficientDeposit(have, want);
    }

    /// @dev What `withdraw` returns; greens change it.
    function _withdrawResult(uint256 remaining, uint256) internal pure virtual returns (uint256) {
        return remaining;
    }
}
