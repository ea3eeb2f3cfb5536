// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Test only: the real OpenZeppelin 4.9 transparent proxy and ProxyAdmin (npm
// alias @openzeppelin/contracts-v4), under names of their own so that their
// artifacts never clash with the v5 ones.
import {ProxyAdmin} from "@openzeppelin/contracts-v4/proxy/transparent/ProxyAdmin.sol";
import {TransparentUpgradeableProxy} from "@openzeppelin/contracts-v4/proxy/transparent/TransparentUpgradeableProxy.sol";

/// @notice OpenZeppelin v4.9 ProxyAdmin: one admin for several proxies, `upgrade` and `upgradeAndCall`.
contract ProxyAdminV4 is ProxyAdmin {}

/// @notice OpenZeppelin v4.9 TransparentUpgradeableProxy, administered by a `ProxyAdminV4`.
contract TransparentProxyV4 is TransparentUpgradeableProxy {
    constructor(address logic, address admin, bytes memory data) TransparentUpgradeableProxy(logic, admin, data) {}
}
