// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBlueGreenSwitch} from "../../contracts/interfaces/IBlueGreenSwitch.sol";
import {CanaryBase} from "./CanaryBase.sol";

/// @notice Fuzzed properties of canary steps: order, pinning, routing and the way back.
contract CanaryFuzzTest is CanaryBase {
    function setUp() public {
        deployWorld(2);
    }

    /// A later step must route strictly more callers to green; 10000 ends on green itself.
    function testFuzz_stepsOnlyInIncreasingOrder(uint256 firstSeed, uint256 nextSeed) public {
        uint16 first = uint16(bound(firstSeed, 1, 9_999));
        uint16 next = uint16(bound(nextSeed, 0, 10_001));
        address green = greens[0];
        promoteStep(green, first, SALT, true);
        address firstRouter = sw.canaryState(proxy).router;
        assertEq(implementation(), firstRouter, "first step not on its router");

        IBlueGreenSwitch.CanaryStep memory st = step(green, next, SALT, true);
        bool inOrder = next > first && next <= 10_000;
        if (!inOrder) {
            vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.CanaryStepOutOfOrder.selector, proxy, first, next));
        }
        vm.prank(approver);
        sw.promoteCanary(st);
        if (!inOrder) {
            assertEq(implementation(), firstRouter, "refused step moved the proxy");
        } else if (next == 10_000) {
            assertEq(implementation(), green, "last step not on green");
            assertEq(sw.canaryState(proxy).bps, 0, "canary still recorded after green");
        } else {
            assertEq(sw.canaryState(proxy).bps, next, "step not recorded");
            assertEq(implementation(), sw.canaryState(proxy).router, "step not on its router");
        }
    }

    /// The same share twice is not a step: its router would be the same one, reused.
    function testFuzz_sameShareRefused(uint256 bpsSeed) public {
        uint16 bps = uint16(bound(bpsSeed, 1, 9_999));
        promoteStep(greens[0], bps, SALT, true);
        IBlueGreenSwitch.CanaryStep memory st = step(greens[0], bps, SALT, true);
        vm.prank(approver);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.CanaryStepOutOfOrder.selector, proxy, bps, bps));
        sw.promoteCanary(st);
    }

    /// The first step must be a real share: neither nobody nor everybody.
    function testFuzz_firstStepIsAShare(bool all) public {
        uint16 bps = all ? 10_000 : 0;
        IBlueGreenSwitch.CanaryStep memory st = step(greens[0], bps, SALT, true);
        vm.prank(approver);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.CanaryStepOutOfOrder.selector, proxy, 0, bps));
        sw.promoteCanary(st);
    }

    /// Rollback from any step, scheduled or immediate, lands on exactly blue and ends the canary.
    function testFuzz_rollbackFromAnyStepLandsOnBlue(uint256 stepsSeed, bool immediate, uint256 waitSeed) public {
        uint256 steps = bound(stepsSeed, 1, 3);
        uint16[3] memory shares = [uint16(100), 500, 2_500];
        for (uint256 i = 0; i < steps; ++i) {
            promoteStep(greens[0], shares[i], SALT, true);
        }
        if (immediate) {
            vm.warp(block.timestamp + bound(waitSeed, 0, 30 days));
            vm.prank(approver);
            sw.rollbackNow(proxy);
        } else {
            vm.prank(guardian);
            sw.scheduleRollback(proxy);
            vm.warp(block.timestamp + DELAY + bound(waitSeed, 0, 1 days));
            sw.executeRollback(proxy);
        }
        assertEq(implementation(), blue, "rollback did not land on blue");
        assertEq(sw.currentImplementation(proxy), blue, "tracking not on blue");
        assertEq(sw.canaryState(proxy).router, address(0), "canary survives rollback");
        assertTrue(sw.proxyState(proxy).status == IBlueGreenSwitch.Status.RolledBack, "not rolled back");
    }

    /// The router's immutables are the release's: its address commits to them, and each
    /// caller reaches green exactly when its cohort is in the share.
    function testFuzz_routerImmutablesMatchRelease(uint256 bpsSeed, bytes32 salt, bool byOrigin, address caller)
        public
    {
        vm.assume(caller != address(0) && caller != proxyAdmin);
        uint16 bps = uint16(bound(bpsSeed, 1, 9_999));
        address green = greens[1];
        promoteStep(green, bps, salt, byOrigin);
        IBlueGreenSwitch.CanaryState memory c = sw.canaryState(proxy);
        assertEq(c.router, sw.canaryRouterFor(blue, green, bps, salt, byOrigin), "router is not the release's");
        assertTrue(c.router.codehash == c.routerCodehash, "router code hash not pinned");
        uint256 expectedId = onGreen(salt, caller, bps) ? 2 : 0;
        assertEq(idSeenBy(caller), expectedId, "caller routed against its cohort");
    }

    /// A router with any other code hash than the pinned one is refused.
    function testFuzz_routerCodehashPinned(bytes32 pinned) public {
        IBlueGreenSwitch.CanaryStep memory st = step(greens[0], 100, SALT, true);
        vm.assume(pinned != st.routerCodehash);
        address router = sw.canaryRouterFor(blue, greens[0], 100, SALT, true);
        bytes32 actual = st.routerCodehash;
        st.routerCodehash = pinned;
        vm.prank(approver);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.RouterCodehashMismatch.selector, router, pinned, actual));
        sw.promoteCanary(st);
        assertEq(implementation(), blue, "refused step moved the proxy");
    }

    /// A later step keeps green, the salt and the cohort mode of the canary.
    function testFuzz_laterStepKeepsTheCanary(uint256 what) public {
        promoteStep(greens[0], 100, SALT, true);
        uint256 change = bound(what, 0, 2);
        IBlueGreenSwitch.CanaryStep memory st = step(
            change == 0 ? greens[1] : greens[0], 500, change == 1 ? keccak256("other") : SALT, change != 2
        );
        vm.prank(approver);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.CanaryStepMismatch.selector, proxy));
        sw.promoteCanary(st);
    }

    /// A canary step is never final; after its window the approver can still go back to blue.
    function test_noFinalizeDuringAStepButRollbackStaysOpen() public {
        promoteStep(greens[0], 500, SALT, true);
        vm.warp(block.timestamp + WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.CanaryStepOpen.selector, proxy, uint16(500)));
        sw.finalize(proxy);
        uint64 windowEnd = sw.proxyState(proxy).windowEnd;
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.RollbackWindowClosed.selector, proxy, windowEnd));
        sw.scheduleRollback(proxy);
        vm.prank(approver);
        sw.rollbackNow(proxy);
        assertEq(implementation(), blue, "not back on blue");
    }

    /// Ending on green is an ordinary release from then on: window, then finalize.
    function test_lastStepIsAnOrdinaryRelease() public {
        promoteStep(greens[0], 100, SALT, false);
        promoteStep(greens[0], 2_500, SALT, false);
        promoteStep(greens[0], 10_000, SALT, false);
        IBlueGreenSwitch.ProxyState memory s = sw.proxyState(proxy);
        assertEq(s.blue, blue, "blue lost across steps");
        assertEq(s.green, greens[0], "green lost across steps");
        vm.warp(block.timestamp + WINDOW);
        sw.finalize(proxy);
        assertEq(implementation(), greens[0], "final release not on green");
    }

    /// Steps take a new release each, and a promote cannot start while a canary runs.
    function test_promoteRefusedDuringACanary() public {
        promoteStep(greens[0], 100, SALT, true);
        address router = sw.canaryState(proxy).router;
        address g = greens[1];
        vm.prank(approver);
        vm.expectRevert(
            abi.encodeWithSelector(IBlueGreenSwitch.ReleaseStillOpen.selector, proxy, IBlueGreenSwitch.Status.Live)
        );
        sw.promote(proxy, g, g.codehash, router, "", EVIDENCE);
    }
}
