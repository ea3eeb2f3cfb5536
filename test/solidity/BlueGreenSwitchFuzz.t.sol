// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BlueGreenSwitch} from "../../contracts/BlueGreenSwitch.sol";
import {IBlueGreenSwitch} from "../../contracts/interfaces/IBlueGreenSwitch.sol";
import {SwitchTestBase} from "./SwitchTestBase.sol";

/// @notice Fuzzed properties of the switch: who may act, when, and where a rollback goes.
contract BlueGreenSwitchFuzzTest is SwitchTestBase {
    function setUp() public {
        deployWorld(3);
    }

    /// Construction succeeds exactly inside the documented bounds.
    function testFuzz_constructionBounds(uint256 delaySeed, uint256 windowSeed) public {
        // Around the bounds, so both outcomes are exercised.
        uint64 delay = uint64(bound(delaySeed, 0, 8 days));
        uint64 window = uint64(bound(windowSeed, 0, 91 days));
        bool valid = delay >= 1 minutes && delay <= 7 days && window >= 1 hours && window <= 90 days && delay < window;
        if (!valid) vm.expectRevert();
        BlueGreenSwitch created = new BlueGreenSwitch(approver, new address[](0), delay, window);
        if (valid) {
            assertEq(created.rollbackDelay(), delay, "delay not recorded");
            assertEq(created.rollbackWindow(), window, "window not recorded");
        }
    }

    /// Nobody but the approver promotes, and a refused promote changes nothing.
    function testFuzz_onlyApproverPromotes(address caller) public {
        vm.assume(caller != approver);
        address green = greens[0];
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.NotApprover.selector, caller));
        sw.promote(proxy, green, green.codehash, blue, "", EVIDENCE);
        assertEq(implementation(), blue, "implementation changed");
    }

    /// Green must be exactly the pinned bytecode.
    function testFuzz_promoteRequiresPinnedCodehash(bytes32 pinned) public {
        address green = greens[0];
        vm.assume(pinned != green.codehash);
        vm.prank(approver);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.CodehashMismatch.selector, green, pinned, green.codehash));
        sw.promote(proxy, green, pinned, blue, "", EVIDENCE);
    }

    /// Blue must be the one the approver saw.
    function testFuzz_promoteRequiresExpectedBlue(address expectedBlue) public {
        vm.assume(expectedBlue != blue);
        address green = greens[0];
        vm.prank(approver);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.UnexpectedBlue.selector, proxy, expectedBlue, blue));
        sw.promote(proxy, green, green.codehash, expectedBlue, "", EVIDENCE);
    }

    /// A guardian's rollback can start only inside the window, runs only after the
    /// delay, and lands exactly on blue.
    function testFuzz_guardianRollbackTiming(uint256 scheduleAfter, uint256 executeAfter) public {
        scheduleAfter = bound(scheduleAfter, 0, 2 * WINDOW);
        executeAfter = bound(executeAfter, 0, 2 * DELAY);
        promoteAs(approver, greens[0]);
        uint256 promotedAt = block.timestamp;

        vm.warp(promotedAt + scheduleAfter);
        vm.prank(guardian);
        if (scheduleAfter >= WINDOW) {
            vm.expectRevert(
                abi.encodeWithSelector(IBlueGreenSwitch.RollbackWindowClosed.selector, proxy, uint64(promotedAt + WINDOW))
            );
            sw.scheduleRollback(proxy);
            return;
        }
        sw.scheduleRollback(proxy);
        uint256 readyAt = block.timestamp + DELAY;

        vm.warp(block.timestamp + executeAfter);
        if (executeAfter < DELAY) {
            vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.RollbackNotReady.selector, proxy, uint64(readyAt)));
            sw.executeRollback(proxy);
            assertEq(implementation(), greens[0], "green replaced before the delay");
        } else {
            sw.executeRollback(proxy);
            assertEq(implementation(), blue, "rollback did not land on blue");
        }
    }

    /// Anyone but the approver can finalize only once the window has ended.
    function testFuzz_finalizeTiming(address caller, uint256 after_) public {
        vm.assume(caller != approver);
        after_ = bound(after_, 0, 2 * WINDOW);
        promoteAs(approver, greens[0]);
        uint256 windowEnd = block.timestamp + WINDOW;
        vm.warp(block.timestamp + after_);
        vm.prank(caller);
        if (block.timestamp < windowEnd) {
            vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.WindowStillOpen.selector, proxy, uint64(windowEnd)));
        }
        sw.finalize(proxy);
    }

    /// After finalize, no path leads back to blue.
    function testFuzz_noRollbackAfterFinalize(address caller, uint256 after_) public {
        after_ = bound(after_, 0, 2 * WINDOW);
        promoteAs(approver, greens[0]);
        vm.prank(approver);
        sw.finalize(proxy);
        vm.warp(block.timestamp + after_);

        vm.prank(caller);
        vm.expectRevert();
        sw.scheduleRollback(proxy);
        vm.prank(approver);
        vm.expectRevert();
        sw.rollbackNow(proxy);
        vm.prank(caller);
        vm.expectRevert();
        sw.executeRollback(proxy);
        assertEq(implementation(), greens[0], "implementation left green");
    }

    /// Over a chain of releases and rollbacks, a rollback always lands on that
    /// release's recorded blue, whatever the order of greens.
    function testFuzz_rollbackTargetsRecordedBlue(uint256 seed) public {
        for (uint256 round = 0; round < 6; ++round) {
            address current = sw.currentImplementation(proxy);
            address green = greens[uint256(keccak256(abi.encode(seed, round))) % greens.length];
            if (green == current) continue;
            promoteAs(approver, green);
            bool rollBack = (seed >> round) & 1 == 1;
            vm.prank(approver);
            if (rollBack) {
                sw.rollbackNow(proxy);
                assertEq(implementation(), current, "rollback left the recorded blue");
            } else {
                sw.finalize(proxy);
                assertEq(implementation(), green, "finalize moved the proxy");
            }
            assertEq(implementation(), sw.currentImplementation(proxy), "tracking drifted from the slot");
        }
    }

    /// Callers with no role cannot change the implementation through any entry point.
    function testFuzz_strangersCannotMoveTheProxy(address caller, uint8 entry) public {
        vm.assume(caller != approver && caller != guardian);
        promoteAs(approver, greens[0]);
        address before = implementation();
        vm.startPrank(caller);
        uint256 which = entry % 7;
        if (which == 0) {
            try sw.promote(proxy, greens[1], greens[1].codehash, greens[0], "", EVIDENCE) {} catch {}
        } else if (which == 1) {
            try sw.scheduleRollback(proxy) {} catch {}
        } else if (which == 2) {
            try sw.executeRollback(proxy) {} catch {}
        } else if (which == 3) {
            try sw.rollbackNow(proxy) {} catch {}
        } else if (which == 4) {
            try sw.adopt(proxy, proxyAdmin, blue) {} catch {}
        } else if (which == 5) {
            try sw.release(proxyAdmin, caller) {} catch {}
        } else {
            try sw.cancelRollback(proxy) {} catch {}
        }
        vm.stopPrank();
        assertEq(implementation(), before, "a stranger moved the proxy");
        assertEq(sw.approver(), approver, "a stranger took the approver role");
    }

    /// An EIP-7702 delegation (0xef0100 ++ any address) is never accepted as green,
    /// even with its own code hash pinned.
    function testFuzz_delegatedGreenRefused(address delegate, address account) public {
        vm.assume(account.code.length == 0 && uint160(account) > 0xffff && account != address(vm));
        vm.etch(account, abi.encodePacked(bytes3(0xef0100), delegate));
        vm.prank(approver);
        vm.expectRevert(abi.encodeWithSelector(IBlueGreenSwitch.DelegatedCode.selector, account));
        sw.promote(proxy, account, account.codehash, blue, "", EVIDENCE);
        assertEq(implementation(), blue, "implementation changed");
    }

    /// On v4 proxies sharing one ProxyAdmin, any sequence of promotes, rollbacks and
    /// finalizes keeps every proxy on what the switch tracks, and moves only the proxy asked.
    function testFuzz_v4SharedAdminKeepsEachProxyTracked(uint256 seed) public {
        (, address[] memory proxies) = deployV4(2);
        for (uint256 round = 0; round < 8; ++round) {
            uint256 r = uint256(keccak256(abi.encode(seed, round)));
            address p = proxies[r % 2];
            address other = proxies[(r % 2) ^ 1];
            address otherBefore = implementationOf(other);
            IBlueGreenSwitch.ProxyState memory s = sw.proxyState(p);
            vm.startPrank(approver);
            if (s.status == IBlueGreenSwitch.Status.Live) {
                if ((r >> 8) & 1 == 1) sw.rollbackNow(p);
                else sw.finalize(p);
            } else {
                address green = greens[(r >> 16) % greens.length];
                if (green != s.implementation) sw.promote(p, green, green.codehash, s.implementation, "", EVIDENCE);
            }
            vm.stopPrank();
            assertEq(implementationOf(p), sw.currentImplementation(p), "v4 slot and tracking differ");
            assertEq(implementationOf(other), otherBefore, "the other proxy of the shared admin moved");
        }
    }

    /// A v4 rollback scheduled by a guardian lands exactly on blue once its delay has run.
    function testFuzz_v4GuardianRollbackLandsOnBlue(uint256 greenSeed, uint256 wait) public {
        (, address[] memory proxies) = deployV4(1);
        address p = proxies[0];
        address green = greens[greenSeed % greens.length];
        vm.prank(approver);
        sw.promote(p, green, green.codehash, blue, "", EVIDENCE);
        vm.prank(guardian);
        sw.scheduleRollback(p);
        wait = bound(wait, DELAY, 2 * WINDOW);
        vm.warp(block.timestamp + wait);
        sw.executeRollback(p);
        assertEq(implementationOf(p), blue, "v4 rollback missed blue");
        assertEq(sw.currentImplementation(p), blue, "tracking missed blue");
    }
}
