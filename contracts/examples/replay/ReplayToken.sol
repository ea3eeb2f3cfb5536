// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20Upgradeable} from "@openzeppelin/contracts-upgradeable/token/ERC20/ERC20Upgradeable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";

/// @title ReplayToken (blue)
/// @notice An upgradeable ERC-20 for the replay tests and benchmark. Large
/// transfers pay a fee that the token keeps, so a change of fee changes state
/// that later transactions (`sweepFees`, balances) read.
contract ReplayToken is Initializable, ERC20Upgradeable, OwnableUpgradeable {
    /// @notice Transfers of at least this amount pay the fee.
    uint256 public constant LARGE_TRANSFER = 1_000e18;

    /// @notice Emitted whenever a large transfer pays its fee.
    event FeeCharged(address indexed from, uint256 fee);
    /// @notice Emitted when the owner sweeps the collected fees.
    event FeesSwept(address indexed to, uint256 amount);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Sets name, symbol and owner (the proxy's initializer).
    function initialize(address owner_) external initializer {
        __ERC20_init("Replay Token", "RPL");
        __Ownable_init(owner_);
    }

    /// @notice Fee on large transfers, in basis points.
    function feeBps() public pure virtual returns (uint256) {
        return 100;
    }

    /// @notice Mints new tokens; owner only.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Sends the fees collected so far to the owner.
    function sweepFees() external returns (uint256 amount) {
        amount = balanceOf(address(this));
        _update(address(this), owner(), amount);
        emit FeesSwept(owner(), amount);
    }

    function _update(address from, address to, uint256 value) internal virtual override {
        if (from != address(0) && from != address(this) && to != address(0) && value >= LARGE_TRANSFER) {
            uint256 fee = (value * feeBps()) / 10_000;
            super._update(from, address(this), fee);
            emit FeeCharged(from, fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}
