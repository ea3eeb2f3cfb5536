// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";

/// @notice An ETH vault whose deposits accrue a reward every block, behind a UUPS proxy
/// whose upgrades holders of UPGRADER_ROLE authorize. Blue of the UUPS AccessControl release.
contract AccrualVaultV1 is Initializable, AccessControlUpgradeable, UUPSUpgradeable {
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");

    /// Reward per deposited wei per block, in WAD (1e18 = 100%).
    uint256 public ratePerBlockWad;
    mapping(address => uint256) public principal;
    mapping(address => uint256) public accrued;
    mapping(address => uint256) public lastAccrual;

    event Deposited(address indexed account, uint256 amount, uint256 accruedNow);
    event Withdrawn(address indexed account, uint256 amount, uint256 accruedNow);

    error InsufficientPrincipal(uint256 available, uint256 asked);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize(address admin, address upgrader, uint256 ratePerBlockWad_) external initializer {
        __AccessControl_init();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(UPGRADER_ROLE, upgrader);
        ratePerBlockWad = ratePerBlockWad_;
    }

    function deposit() external payable {
        _accrue(msg.sender);
        principal[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value, accrued[msg.sender]);
    }

    function withdraw(uint256 amount) external {
        _accrue(msg.sender);
        uint256 available = principal[msg.sender];
        if (amount > available) revert InsufficientPrincipal(available, amount);
        principal[msg.sender] = available - amount;
        emit Withdrawn(msg.sender, amount, accrued[msg.sender]);
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "transfer failed");
    }

    function _accrue(address account) internal {
        uint256 since = lastAccrual[account];
        if (since != 0) accrued[account] += (principal[account] * (block.number - since) * ratePerBlockWad) / 1e18;
        lastAccrual[account] = block.number;
    }

    function _authorizeUpgrade(address) internal virtual override onlyRole(UPGRADER_ROLE) {}
}

/// @notice Green: a view of what an account has accrued up to this block.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract AccrualVaultV2 is AccrualVaultV1 {
    function owed(address account) public view returns (uint256) {
        uint256 since = lastAccrual[account];
        uint256 pending = since == 0 ? 0 : (principal[account] * (block.number - since) * ratePerBlockWad) / 1e18;
        return accrued[account] + pending;
    }
}

/// @notice The next release: the accrual per block a deposit of `amount` would earn.
/// @custom:oz-upgrades-unsafe-allow missing-initializer
contract AccrualVaultV3 is AccrualVaultV2 {
    function quote(uint256 amount) external view returns (uint256) {
        return (amount * ratePerBlockWad) / 1e18;
    }
}
