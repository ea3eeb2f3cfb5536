// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts/proxy/utils/UUPSUpgradeable.sol";

/// @notice A UUPS store whose upgrades holders of UPGRADER_ROLE authorize; DEFAULT_ADMIN_ROLE
/// administers the role (blue of the UUPS AccessControl examples).
contract UupsRoleBoxV1 is Initializable, AccessControlUpgradeable, UUPSUpgradeable {
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");

    uint256 public value;

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize(address admin, address upgrader) external initializer {
        __AccessControl_init();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(UPGRADER_ROLE, upgrader);
    }

    function store(uint256 newValue) external {
        value = newValue;
    }

    function version() external pure virtual returns (string memory) {
        return "1";
    }

    function _authorizeUpgrade(address) internal virtual override onlyRole(UPGRADER_ROLE) {}
}

/// @notice Green of the UUPS AccessControl examples.
contract UupsRoleBoxV2 is UupsRoleBoxV1 {
    function version() external pure override returns (string memory) {
        return "2";
    }
}
