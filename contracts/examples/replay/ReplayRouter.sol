// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title ReplayRouter
/// @notice Calls the token and vault proxies internally, as aggregators and
/// zaps do on mainnet. `recordBalance` touches the token only through a view
/// call, so no token event shows it: only tracing finds that transaction.
contract ReplayRouter {
    /// @notice Last balance seen by `recordBalance`, per account.
    mapping(address => uint256) public lastSeenBalance;

    /// @notice Emitted by `recordBalance`.
    event BalanceRecorded(address indexed account, uint256 balance);

    /// @notice Moves `amount` of the caller's tokens to `to`; needs an allowance.
    function transferVia(IERC20 token, address to, uint256 amount) external {
        require(token.transferFrom(msg.sender, to, amount), "ReplayRouter: transfer failed");
    }

    /// @notice Deposits `amount` of the caller's tokens into `vault` for the caller.
    function depositVia(IERC4626 vault, uint256 amount) external returns (uint256 shares) {
        IERC20 token = IERC20(vault.asset());
        require(token.transferFrom(msg.sender, address(this), amount), "ReplayRouter: transfer failed");
        uint256 received = token.balanceOf(address(this));
        token.approve(address(vault), received);
        shares = vault.deposit(received, msg.sender);
    }

    /// @notice Records `account`'s token balance; reads the token, emits nothing from it.
    function recordBalance(IERC20 token, address account) external returns (uint256 balance) {
        balance = token.balanceOf(account);
        lastSeenBalance[account] = balance;
        emit BalanceRecorded(account, balance);
    }
}
