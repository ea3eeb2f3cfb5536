// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";

interface IAccrualVault {
    function depositFor(address user) external payable returns (uint256);
}

/// @title BlockRouter
/// @notice Reaches the vault and the votes token through internal calls, as
/// zaps and aggregators do: deposits for the caller, transfers with an
/// allowance, and a view of voting power that leaves no event behind.
contract BlockRouter {
    /// @notice The voting power `snapshotVotes` saw last, per account.
    mapping(address => uint256) public seenVotes;

    /// @notice Deposits the ETH sent into `vault` for the caller.
    function depositVia(IAccrualVault vault) external payable returns (uint256) {
        return vault.depositFor{value: msg.value}(msg.sender);
    }

    /// @notice Moves `amount` of the caller's tokens to `to`; needs an allowance.
    function transferVia(IERC20 token, address to, uint256 amount) external {
        require(token.transferFrom(msg.sender, to, amount), "BlockRouter: transfer failed");
    }

    /// @notice Records `account`'s voting power (a view call into the token).
    function snapshotVotes(IVotes token, address account) external returns (uint256 votes) {
        votes = token.getVotes(account);
        seenVotes[account] = votes;
    }
}

/// @title BlockhashDraw
/// @notice Emits the previous block's hash: a replay on a fork cannot
/// reproduce it (the fork's blocks have their own hashes), so it shows what
/// an inconclusive replay looks like.
contract BlockhashDraw {
    event Drawn(address indexed by, bytes32 seed);

    /// @notice Draws from the previous block's hash.
    function draw() external {
        emit Drawn(msg.sender, blockhash(block.number - 1));
    }
}
