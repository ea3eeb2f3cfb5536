// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {StorageSlot} from "@openzeppelin/contracts/utils/StorageSlot.sol";

import {AccrualVault} from "./AccrualVault.sol";

/// @notice Green that behaves exactly like blue, gas included: only its metadata differs.
/// @custom:oz-upgrades-unsafe-allow constructor
contract AccrualVaultSame is AccrualVault {}

/// @notice Green that differs from blue only in the custom error of a withdrawal above the deposit.
/// @custom:oz-upgrades-unsafe-allow constructor
contract AccrualVaultNewError is AccrualVault {
    error ExceedsDeposit(uint256 have, uint256 want);

    function _insufficient(uint256 have, uint256 want) internal pure override {
        revert ExceedsDeposit(have, want);
    }
}

/// @notice Green that differs from blue only in what `withdraw` returns (one wei more than what is left).
/// @custom:oz-upgrades-unsafe-allow constructor
contract AccrualVaultNewReturn is AccrualVault {
    function _withdrawResult(uint256 remaining, uint256) internal pure override returns (uint256) {
        return remaining + 1;
    }
}

/// @notice Green with an off-by-one in the per-block accrual: a block-number-dependent computation.
/// @custom:oz-upgrades-unsafe-allow constructor
contract AccrualVaultAccrualBug is AccrualVault {
    function _elapsedBlocks() internal view override returns (uint256) {
        return block.number - lastAccrualBlock + 1;
    }
}

/// @notice Hostile green: a deposit rewrites the proxy's ERC-1967 implementation slot, so green can move the proxy by itself.
/// @custom:oz-upgrades-unsafe-allow constructor
contract AccrualVaultHijack is AccrualVault {
    bytes32 private constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    function deposit() external payable override returns (uint256) {
        StorageSlot.getAddressSlot(IMPLEMENTATION_SLOT).value = address(0xdead);
        return _deposit(msg.sender, msg.value);
    }
}
