// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TransparentUpgradeableProxy} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";
import {ProxyAdmin} from "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol";

import {BlueGreenSwitch} from "../../contracts/BlueGreenSwitch.sol";
import {SwitchTestImplementation} from "../../contracts/test/SwitchTestDoubles.sol";
import {ProxyAdminV4, TransparentProxyV4} from "../../contracts/test/LegacyProxyV4.sol";
import {Vm} from "./Vm.sol";

/// @notice Shared setup: cheatcodes, small assertions, and a switch that owns the
/// ProxyAdmin of a real OpenZeppelin v5 transparent proxy running blue.
abstract contract SwitchTestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    bytes32 internal constant ADMIN_SLOT = 0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;
    uint64 internal constant DELAY = 1 hours;
    uint64 internal constant WINDOW = 7 days;
    bytes32 internal constant EVIDENCE = keccak256("evidence");
    uint256 internal constant START = 1_700_000_000;

    address internal approver = address(0xA11CE);
    address internal guardian = address(0x6A2D);

    BlueGreenSwitch internal sw;
    address internal proxy;
    address internal proxyAdmin;
    address internal blue;
    /// Distinct green implementations (different code, hence different code hashes).
    address[] internal greens;

    function deployWorld(uint256 greenCount) internal {
        vm.warp(START);
        address[] memory guardians = new address[](1);
        guardians[0] = guardian;
        sw = new BlueGreenSwitch(approver, guardians, DELAY, WINDOW);
        blue = address(new SwitchTestImplementation(0));
        for (uint256 i = 1; i <= greenCount; ++i) {
            greens.push(address(new SwitchTestImplementation(i)));
        }
        proxy = address(
            new TransparentUpgradeableProxy(blue, address(this), abi.encodeCall(SwitchTestImplementation.setValue, (1)))
        );
        proxyAdmin = slotAddress(proxy, ADMIN_SLOT);
        ProxyAdmin(proxyAdmin).transferOwnership(address(sw));
        vm.prank(approver);
        sw.adopt(proxy, proxyAdmin, blue);
    }

    /// Adds `count` OpenZeppelin v4 proxies running blue behind one shared v4
    /// ProxyAdmin, owned and adopted by the switch.
    function deployV4(uint256 count) internal returns (address admin, address[] memory proxies) {
        ProxyAdminV4 a = new ProxyAdminV4();
        admin = address(a);
        proxies = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            proxies[i] = address(new TransparentProxyV4(blue, admin, ""));
        }
        a.transferOwnership(address(sw));
        for (uint256 i = 0; i < count; ++i) {
            vm.prank(approver);
            sw.adopt(proxies[i], admin, blue);
        }
    }

    function implementationOf(address target) internal view returns (address) {
        return slotAddress(target, IMPLEMENTATION_SLOT);
    }

    function implementation() internal view returns (address) {
        return slotAddress(proxy, IMPLEMENTATION_SLOT);
    }

    function promoteAs(address caller, address green) internal {
        // Arguments first: an external call between prank and promote would use up the prank.
        address expectedBlue = sw.currentImplementation(proxy);
        vm.prank(caller);
        sw.promote(proxy, green, green.codehash, expectedBlue, "", EVIDENCE);
    }

    function slotAddress(address target, bytes32 slot) internal view returns (address) {
        return address(uint160(uint256(vm.load(target, slot))));
    }

    function assertEq(address a, address b, string memory why) internal pure {
        require(a == b, why);
    }

    function assertEq(uint256 a, uint256 b, string memory why) internal pure {
        require(a == b, why);
    }

    function assertTrue(bool condition, string memory why) internal pure {
        require(condition, why);
    }

    /// Maps any x into [min, max] (inclusive).
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        return min + (x % (max - min + 1));
    }
}
