// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The ProxyAdmin surface the switch calls, OpenZeppelin v4 and v5
/// @dev Proxies are plain addresses in the ABI, so the selectors match both
/// versions' `ITransparentUpgradeableProxy`/`TransparentUpgradeableProxy` parameters.
interface IUpgradeProxyAdmin {
    /// @dev Both versions (Ownable).
    function owner() external view returns (address);

    function transferOwnership(address newOwner) external;

    /// @dev Both versions. v4 delegatecalls `data` even when it is empty (hitting
    /// `receive`/`fallback`), so with empty data v4 must use `upgrade` instead.
    function upgradeAndCall(address proxy, address implementation, bytes calldata data) external payable;

    /// @dev v5 only; returns "5.0.0". Its absence identifies a v4 ProxyAdmin.
    function UPGRADE_INTERFACE_VERSION() external view returns (string memory);

    /// @dev v4 only.
    function upgrade(address proxy, address implementation) external;

    /// @dev v4 only: asks the proxy, which answers its admin.
    function getProxyAdmin(address proxy) external view returns (address);

    /// @dev v4 only: asks the proxy, which answers its admin.
    function getProxyImplementation(address proxy) external view returns (address);
}
