// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The surfaces of UUPS proxies and beacons the switch calls
/// @dev UUPS: OpenZeppelin v5 `UUPSUpgradeable` (through the proxy) with `OwnableUpgradeable`
/// or `AccessControlUpgradeable`. Beacon: OpenZeppelin `UpgradeableBeacon` (Ownable).
interface IUUPSProxy {
    /// @dev ERC-1822: answered by a UUPS implementation itself (not through a proxy) with
    /// the ERC-1967 implementation slot.
    function proxiableUUID() external view returns (bytes32);

    /// @dev v5 `UUPSUpgradeable`: with empty `data` it only upgrades (no call).
    function upgradeToAndCall(address newImplementation, bytes calldata data) external payable;

    function owner() external view returns (address);

    function transferOwnership(address newOwner) external;

    function hasRole(bytes32 role, address account) external view returns (bool);

    function renounceRole(bytes32 role, address callerConfirmation) external;
}

interface IUpgradeableBeacon {
    function implementation() external view returns (address);

    function upgradeTo(address newImplementation) external;

    function owner() external view returns (address);

    function transferOwnership(address newOwner) external;
}
