// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {UpgradeableBeacon} from "@openzeppelin/contracts/proxy/beacon/UpgradeableBeacon.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts/proxy/utils/UUPSUpgradeable.sol";

import {IBlueGreenSwitch} from "../../contracts/interfaces/IBlueGreenSwitch.sol";
import {BeaconDouble, KindsTestBase} from "./KindsTestBase.sol";

/// @notice Fuzzed properties of the switch over UUPS proxies (Ownable, AccessControl)
/// and beacons: only the approver promotes, and a rollback lands on exactly blue.
contract BlueGreenSwitchKindsFuzzTest is KindsTestBase {
    function setUp() public {
        deployKinds(3, address(0xAD));
    }

    function testKindsAreRecorded() public view {
        require(sw.proxyKind(units[OWNABLE]) == IBlueGreenSwitch.ProxyKind.UupsOwnable, "ownable kind");
        require(sw.proxyKind(units[ROLE]) == IBlueGreenSwitch.ProxyKind.UupsAccessControl, "role kind");
        require(sw.proxyKind(units[BEACON]) == IBlueGreenSwitch.ProxyKind.Beacon, "beacon kind");
        require(sw.upgraderRole(units[ROLE]) == UPGRADER_ROLE, "role");
        for (uint256 k = 0; k < 3; ++k) {
            assertEq(runs(k), blues[k], "adoption moved the implementation");
        }
    }

    /// Nobody but the approver promotes, whatever the kind; a refused promote changes nothing.
    function testFuzz_onlyApproverPromotes(address caller, uint256 kindSeed, uint256 greenSeed) public {
        vm.assume(caller != approver);
        uint256 kind = kindSeed % 3;
        address green = greens[kind][greenSeed % greens[kind].length];
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.NotApprover.selector, caller));
        sw.promote(units[kind], green, green.codehash, blues[kind], "", EVIDENCE);
        assertEq(runs(kind), blues[kind], "implementation changed");
    }

    /// Nobody but the switch upgrades a unit directly: the authority is the switch's.
    function testFuzz_directUpgradeRefused(address caller, uint256 kindSeed) public {
        vm.assume(caller != address(sw));
        uint256 kind = kindSeed % 3;
        address green = greens[kind][0];
        vm.prank(caller);
        vm.expectRevert();
        if (kind == BEACON) {
            UpgradeableBeacon(units[BEACON]).upgradeTo(green);
        } else {
            UUPSUpgradeable(units[kind]).upgradeToAndCall(green, "");
        }
        assertEq(runs(kind), blues[kind], "implementation changed");
    }

    /// Whatever the kind, the green and when the rollback starts inside the window, a
    /// rollback (scheduled or immediate) lands on exactly the recorded blue, and a second
    /// release rolls back to that release's blue.
    function testFuzz_rollbackLandsOnBlue(
        uint256 kindSeed,
        uint256 greenSeed,
        uint256 scheduleAfter,
        bool immediate,
        bool secondRelease
    ) public {
        uint256 kind = kindSeed % 3;
        address unit = units[kind];
        address expectedBlue = blues[kind];
        if (secondRelease) {
            address first = greens[kind][(greenSeed + 1) % greens[kind].length];
            vm.prank(approver);
            sw.promote(unit, first, first.codehash, expectedBlue, "", EVIDENCE);
            vm.prank(approver);
            sw.finalize(unit);
            expectedBlue = first;
        }
        address green = greens[kind][greenSeed % greens[kind].length];
        vm.assume(green != expectedBlue);
        vm.prank(approver);
        sw.promote(unit, green, green.codehash, expectedBlue, "", EVIDENCE);
        assertEq(runs(kind), green, "promote did not install green");
        if (kind == BEACON) {
            assertEq(address(uint160(BeaconDouble(beaconProxies[0]).id())), address(uint160(BeaconDouble(green).id())), "proxy 0");
            assertEq(address(uint160(BeaconDouble(beaconProxies[1]).id())), address(uint160(BeaconDouble(green).id())), "proxy 1");
        }

        vm.warp(block.timestamp + bound(scheduleAfter, 0, WINDOW - 1));
        if (immediate) {
            vm.prank(approver);
            sw.rollbackNow(unit);
        } else {
            vm.prank(guardian);
            sw.scheduleRollback(unit);
            vm.warp(block.timestamp + DELAY);
            sw.executeRollback(unit);
        }
        assertEq(runs(kind), expectedBlue, "rollback missed blue");
        assertEq(sw.currentImplementation(unit), expectedBlue, "record missed blue");
    }

    /// A green that is not UUPS is refused on UUPS kinds, with the unit untouched.
    function testFuzz_uupsGreenMustBeUups(uint256 kindSeed, uint256 greenSeed) public {
        uint256 kind = kindSeed % 2;
        address notUups = greens[BEACON][greenSeed % greens[BEACON].length];
        vm.prank(approver);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.NotUupsImplementation.selector, notUups));
        sw.promote(units[kind], notUups, notUups.codehash, blues[kind], "", EVIDENCE);
        assertEq(runs(kind), blues[kind], "implementation changed");
    }
}
