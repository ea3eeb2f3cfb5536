// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts/proxy/utils/UUPSUpgradeable.sol";

/// @notice A UUPS store whose upgrades its `owner()` authorizes (blue of the UUPS examples).
contract UupsOwnableBoxV1 is Initializable, OwnableUpgradeable, UUPSUpgradeable {
    uint256 public value;

    event ValueChanged(address indexed by, uint256 value);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize(address owner_) external initializer {
        __Ownable_init(owner_);
    }

    function store(uint256 newValue) external {
        value = newValue;
        emit ValueChanged(msg.sender, newValue);
    }

    function version() external pure virtual returns (string memory) {
        return "1";
    }

    function _authorizeUpgrade(address) internal virtual override onlyOwner {}
}

/// @notice Green of the UUPS Ownable examples: same storage, same authority. It adds no
/// state to initialize: V1's initializer ran in the proxy already.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract UupsOwnableBoxV2 is UupsOwnableBoxV1 {
    function version() external pure override returns (string memory) {
        return "2";
    }

    function double() external {
        value *= 2;
    }
}

/// @notice A green that locks the switch out: its `_authorizeUpgrade` only accepts
/// `lockedTo`, not the owner. Promoting it works; rolling it back through the owner
/// (the switch) then reverts. The off-chain rollback-path proof must catch it.
contract UupsLockoutBoxV2 is UupsOwnableBoxV1 {
    error UpgradeLockedTo(address lockedTo, address caller);

    /// @custom:oz-upgrades-unsafe-allow state-variable-immutable
    address public immutable lockedTo;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor(address lockedTo_) {
        lockedTo = lockedTo_;
    }

    function version() external pure override returns (string memory) {
        return "2-locked";
    }

    function _authorizeUpgrade(address) internal view override {
        if (msg.sender != lockedTo) revert UpgradeLockedTo(lockedTo, msg.sender);
    }
}

/// @notice A green that hands upgrades to a governor it hard-codes (a migration written
/// before the governor existed): deployable without arguments, as bg:stage deploys green,
/// and its `_authorizeUpgrade` refuses the owner (the switch). The rollback-path proof
/// of bg:stage must refuse it.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract UupsGovernedBoxV2 is UupsOwnableBoxV1 {
    address public constant GOVERNOR = 0x000000000000000000000000000000000000600d;

    error NotGovernor(address caller);

    function version() external pure override returns (string memory) {
        return "2-governed";
    }

    function _authorizeUpgrade(address) internal view override {
        if (msg.sender != GOVERNOR) revert NotGovernor(msg.sender);
    }
}

/// @notice A green that is not UUPSUpgradeable (no `upgradeToAndCall`, no
/// `proxiableUUID`): a UUPS proxy upgraded to it could never be upgraded again.
contract UupsPlainBoxV2 is Initializable {
    /// Same layout as the V1 slots it replaces (ERC-7201 namespaces aside).
    uint256 public value;

    function version() external pure returns (string memory) {
        return "2-plain";
    }
}
