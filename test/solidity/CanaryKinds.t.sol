// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CanaryRouter} from "../../contracts/canary/CanaryRouter.sol";
import {IBlueGreenSwitch} from "../../contracts/interfaces/IBlueGreenSwitch.sol";
import {BeaconDouble, KindsTestBase} from "./KindsTestBase.sol";

interface VmOriginKinds {
    function prank(address msgSender, address txOrigin) external;
}

/// @notice Canary steps per proxy kind: refused for UUPS, one router for every BeaconProxy of a beacon.
contract CanaryKindsTest is KindsTestBase {
    bytes32 internal constant SALT = keccak256("kinds salt");

    function setUp() public {
        deployKinds(1, address(0xD00D));
    }

    function canaryOf(uint256 kind, uint16 bps) internal returns (IBlueGreenSwitch.CanaryStep memory) {
        address green = greens[kind][0];
        bytes32 routerCodehash = address(new CanaryRouter(blues[kind], green, bps, SALT, true)).codehash;
        return IBlueGreenSwitch.CanaryStep(
            units[kind], green, green.codehash, blues[kind], bps, SALT, true, routerCodehash, EVIDENCE
        );
    }

    /// A UUPS proxy behind a router could not run its own upgrade: the switch refuses it.
    function testFuzz_uupsRefused(bool role, uint256 bpsSeed) public {
        uint256 kind = role ? ROLE : OWNABLE;
        IBlueGreenSwitch.CanaryStep memory st = canaryOf(kind, uint16(bound(bpsSeed, 1, 9_999)));
        IBlueGreenSwitch.ProxyKind proxyKind =
            role ? IBlueGreenSwitch.ProxyKind.UupsAccessControl : IBlueGreenSwitch.ProxyKind.UupsOwnable;
        vm.prank(approver);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.CanaryNotSupported.selector, units[kind], proxyKind));
        sw.promoteCanary(st);
        assertEq(runs(kind), blues[kind], "refused canary moved the proxy");
    }

    /// A beacon points every BeaconProxy at the router; rollback goes back to blue for all.
    function testFuzz_beaconCanaryRoutesEveryBeaconProxy(address caller) public {
        vm.assume(caller != address(0));
        IBlueGreenSwitch.CanaryStep memory st = canaryOf(BEACON, 5_000);
        vm.prank(approver);
        sw.promoteCanary(st);
        address router = sw.canaryState(units[BEACON]).router;
        assertEq(runs(BEACON), router, "beacon not on the router");
        bool green = uint256(keccak256(abi.encodePacked(SALT, caller))) % 10_000 < 5_000;
        for (uint256 i = 0; i < 2; ++i) {
            VmOriginKinds(address(vm)).prank(caller, caller);
            uint256 id = BeaconDouble(beaconProxies[i]).id();
            assertTrue(id == (green ? 1 : 0), "beacon proxy routed against the cohort");
        }
        vm.prank(approver);
        sw.rollbackNow(units[BEACON]);
        assertEq(runs(BEACON), blues[BEACON], "beacon not back on blue");
    }
}
