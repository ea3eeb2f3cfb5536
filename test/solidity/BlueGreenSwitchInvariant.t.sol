// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BlueGreenSwitch} from "../../contracts/BlueGreenSwitch.sol";
import {IBlueGreenSwitch} from "../../contracts/interfaces/IBlueGreenSwitch.sol";
import {ProxyAdmin} from "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol";
import {ITransparentUpgradeableProxy} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";
import {SwitchTestBase} from "./SwitchTestBase.sol";
import {Vm} from "./Vm.sol";

interface IOwnable {
    function owner() external view returns (address);
    function transferOwnership(address newOwner) external;
}

/// @notice Drives the switch through random sequences of every operation, by
/// every kind of caller, over a v5 proxy and two v4 proxies sharing one
/// ProxyAdmin, and keeps ghost records of what happened.
contract SwitchHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    BlueGreenSwitch public immutable sw;
    address[] public proxies;
    /// The ProxyAdmin of each proxy (the two v4 proxies share one).
    address[] public adminOf;
    address[] public admins;
    /// The accounts the approver role rotates between.
    address[] public approvers;
    address[] public guardianSet;
    address public immutable canceller;
    address[] internal greens;

    /// Ghosts: each flag records a violation the invariants then report.
    bool public rollbackMissedBlue;
    bool public unauthorizedChange;
    bool public rollbackAfterFinalize;
    bool public guardianScheduledTwice;
    bool public releasedProxyMoved;
    uint256 public promotions;
    uint256 public rollbacks;
    uint256 public releases;
    uint256 public rotations;
    mapping(uint64 releaseId => mapping(address guardian => uint256)) internal schedules;

    constructor(
        BlueGreenSwitch sw_,
        address[] memory proxies_,
        address[] memory adminOf_,
        address[] memory approvers_,
        address[] memory guardians_,
        address canceller_,
        address[] memory greens_
    ) {
        sw = sw_;
        proxies = proxies_;
        adminOf = adminOf_;
        for (uint256 i = 0; i < adminOf_.length; ++i) {
            bool seen = false;
            for (uint256 j = 0; j < admins.length; ++j) {
                if (admins[j] == adminOf_[i]) seen = true;
            }
            if (!seen) admins.push(adminOf_[i]);
        }
        approvers = approvers_;
        guardianSet = guardians_;
        canceller = canceller_;
        greens = greens_;
    }

    function proxyCount() external view returns (uint256) {
        return proxies.length;
    }

    function approverCount() external view returns (uint256) {
        return approvers.length;
    }

    function implementationOf(address proxy) public view returns (address) {
        return address(uint160(uint256(vm.load(proxy, IMPLEMENTATION_SLOT))));
    }

    function promote(uint256 proxySeed, uint256 greenSeed, bool pinWrongHash) external {
        address proxy = proxies[proxySeed % proxies.length];
        address green = greens[greenSeed % greens.length];
        address expectedBlue = sw.currentImplementation(proxy);
        bytes32 pinned = pinWrongHash ? keccak256("not green") : green.codehash;
        vm.prank(sw.approver());
        try sw.promote(proxy, green, pinned, expectedBlue, "", keccak256(abi.encode(greenSeed))) {
            promotions += 1;
        } catch {}
    }

    /// Promotes every proxy (or the first two) as one coupled release.
    function promoteBatch(uint256 greenSeed, bool all) external {
        uint256 n = all ? proxies.length : 2;
        IBlueGreenSwitch.Promotion[] memory batch = new IBlueGreenSwitch.Promotion[](n);
        for (uint256 i = 0; i < n; ++i) {
            address green = greens[(greenSeed + i) % greens.length];
            batch[i] = IBlueGreenSwitch.Promotion(
                proxies[i], green, green.codehash, sw.currentImplementation(proxies[i]), "", bytes32(greenSeed | 1)
            );
        }
        vm.prank(sw.approver());
        try sw.promoteBatch(batch) {
            promotions += n;
        } catch {}
    }

    function scheduleRollback(uint256 proxySeed, uint256 callerSeed) external {
        address proxy = proxies[proxySeed % proxies.length];
        bool byApprover = callerSeed % (guardianSet.length + 1) == guardianSet.length;
        address caller = byApprover ? sw.approver() : guardianSet[callerSeed % (guardianSet.length + 1)];
        uint64 releaseId = sw.proxyState(proxy).releaseId;
        vm.prank(caller);
        try sw.scheduleRollback(proxy) {
            if (!byApprover && caller != sw.approver()) {
                schedules[releaseId][caller] += 1;
                if (schedules[releaseId][caller] > 1) guardianScheduledTwice = true;
            }
        } catch {}
    }

    function cancelRollback(uint256 proxySeed, bool byApprover) external {
        address proxy = proxies[proxySeed % proxies.length];
        vm.prank(byApprover ? sw.approver() : canceller);
        try sw.cancelRollback(proxy) {} catch {}
    }

    function executeRollback(uint256 proxySeed, address caller) external {
        _rollBack(proxies[proxySeed % proxies.length], caller, false);
    }

    function rollbackNow(uint256 proxySeed) external {
        _rollBack(proxies[proxySeed % proxies.length], sw.approver(), true);
    }

    function finalize(uint256 proxySeed, address caller, bool byApprover) external {
        vm.prank(byApprover ? sw.approver() : caller);
        try sw.finalize(proxies[proxySeed % proxies.length]) {} catch {}
    }

    /// The approver hands a ProxyAdmin to this handler; its proxies must then stay put
    /// whatever the switch is asked.
    function release(uint256 adminSeed) external {
        address admin = admins[adminSeed % admins.length];
        if (IOwnable(admin).owner() != address(sw)) return;
        vm.prank(sw.approver());
        sw.release(admin, address(this));
        releases += 1;
    }

    /// Gives a released ProxyAdmin back to the switch and adopts its proxies again,
    /// stating what they run now.
    function adopt(uint256 adminSeed) external {
        address admin = admins[adminSeed % admins.length];
        if (IOwnable(admin).owner() != address(this)) return;
        IOwnable(admin).transferOwnership(address(sw));
        for (uint256 i = 0; i < proxies.length; ++i) {
            if (adminOf[i] != admin) continue;
            vm.prank(sw.approver());
            sw.adopt(proxies[i], admin, implementationOf(proxies[i]));
        }
    }

    /// Two-step rotation to the next known approver.
    function rotateApprover(uint256 seed) external {
        address current = sw.approver();
        address next = approvers[seed % approvers.length];
        if (next == current) return;
        vm.prank(current);
        sw.proposeApprover(next);
        vm.prank(next);
        sw.acceptApprover();
        rotations += 1;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 10 days));
    }

    /// A caller with no role tries every entry point that could move a proxy.
    function stranger(address caller, uint256 entry, uint256 proxySeed, uint256 greenSeed) external {
        if (_hasRole(caller) || caller == address(this)) return;
        address proxy = proxies[proxySeed % proxies.length];
        address admin = adminOf[proxySeed % proxies.length];
        address before = implementationOf(proxy);
        address green = greens[greenSeed % greens.length];
        vm.startPrank(caller);
        uint256 which = entry % 7;
        if (which == 0) {
            try sw.promote(proxy, green, green.codehash, before, "", bytes32(uint256(1))) {} catch {}
        } else if (which == 1) {
            try sw.rollbackNow(proxy) {} catch {}
        } else if (which == 2) {
            try sw.scheduleRollback(proxy) {} catch {}
        } else if (which == 3) {
            try sw.release(admin, caller) {} catch {}
        } else if (which == 4) {
            try sw.adopt(proxy, admin, green) {} catch {}
        } else if (which == 5) {
            try sw.cancelRollback(proxy) {} catch {}
        } else {
            try ProxyAdmin(admin).upgradeAndCall(ITransparentUpgradeableProxy(proxy), green, "") {} catch {}
        }
        vm.stopPrank();
        if (implementationOf(proxy) != before) unauthorizedChange = true;
    }

    function _hasRole(address caller) private view returns (bool) {
        for (uint256 i = 0; i < approvers.length; ++i) {
            if (approvers[i] == caller) return true;
        }
        return sw.isGuardian(caller) || caller == canceller;
    }

    function _rollBack(address proxy, address caller, bool immediate) private {
        address[] memory members = sw.releaseProxies(proxy);
        IBlueGreenSwitch.ProxyState[] memory before = new IBlueGreenSwitch.ProxyState[](members.length);
        for (uint256 i = 0; i < members.length; ++i) {
            before[i] = sw.proxyState(members[i]);
        }
        vm.prank(caller);
        bool ok;
        if (immediate) {
            try sw.rollbackNow(proxy) {
                ok = true;
            } catch {}
        } else {
            try sw.executeRollback(proxy) {
                ok = true;
            } catch {}
        }
        if (!ok) return;
        for (uint256 i = 0; i < members.length; ++i) {
            rollbacks += 1;
            if (implementationOf(members[i]) != before[i].blue) rollbackMissedBlue = true;
            if (before[i].status == IBlueGreenSwitch.Status.Finalized) rollbackAfterFinalize = true;
        }
    }
}

/// @notice Invariants of the switch under random operation sequences.
/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 40
contract BlueGreenSwitchInvariantTest is SwitchTestBase {
    SwitchHandler internal handler;
    address[] internal approverSet;
    address internal canceller = address(0xCA11);

    function setUp() public {
        deployWorld(3);
        (address v4Admin, address[] memory v4Proxies) = deployV4(2);
        address[] memory all = new address[](3);
        address[] memory adminOf = new address[](3);
        (all[0], all[1], all[2]) = (proxy, v4Proxies[0], v4Proxies[1]);
        (adminOf[0], adminOf[1], adminOf[2]) = (proxyAdmin, v4Admin, v4Admin);
        approverSet.push(approver);
        approverSet.push(address(0xB0B));
        address[] memory guardianSet = new address[](2);
        (guardianSet[0], guardianSet[1]) = (guardian, address(0x6A2E));
        vm.startPrank(approver);
        sw.addGuardian(guardianSet[1]);
        sw.addCanceller(canceller);
        vm.stopPrank();
        handler = new SwitchHandler(sw, all, adminOf, approverSet, guardianSet, canceller, greens);
    }

    /// Only the handler is called by the fuzzer.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// Every managed proxy runs what the switch tracks.
    function invariant_trackedImplementationIsTheSlot() public view {
        for (uint256 i = 0; i < handler.proxyCount(); ++i) {
            address p = handler.proxies(i);
            if (!sw.isAdopted(p)) continue;
            assertEq(implementationOf(p), sw.currentImplementation(p), "slot and tracking differ");
        }
    }

    /// A managed proxy runs its release's blue after a rollback, its green otherwise.
    function invariant_implementationIsBlueOrGreen() public view {
        for (uint256 i = 0; i < handler.proxyCount(); ++i) {
            address p = handler.proxies(i);
            IBlueGreenSwitch.ProxyState memory s = sw.proxyState(p);
            if (s.status == IBlueGreenSwitch.Status.None) continue;
            if (s.status == IBlueGreenSwitch.Status.RolledBack) {
                assertEq(implementationOf(p), s.blue, "rolled back but not on blue");
            } else {
                assertEq(implementationOf(p), s.green, "release open or final but not on green");
            }
        }
    }

    /// Every managed proxy of one release has the same status and schedule: a coupled
    /// release is never half blue and half green.
    function invariant_coupledReleasesMoveTogether() public view {
        for (uint256 i = 0; i < handler.proxyCount(); ++i) {
            address p = handler.proxies(i);
            IBlueGreenSwitch.ProxyState memory s = sw.proxyState(p);
            if (s.releaseId == 0) continue;
            address[] memory members = sw.releaseProxies(p);
            for (uint256 j = 0; j < members.length; ++j) {
                IBlueGreenSwitch.ProxyState memory m = sw.proxyState(members[j]);
                assertEq(m.releaseId, s.releaseId, "member of another release");
                assertTrue(m.status == s.status, "coupled proxies in different states");
                assertEq(m.rollbackReadyAt, s.rollbackReadyAt, "coupled proxies scheduled apart");
            }
        }
    }

    /// A rollback never targets anything but the recorded blue.
    function invariant_rollbackOnlyToRecordedBlue() public view {
        assertTrue(!handler.rollbackMissedBlue(), "a rollback missed blue");
    }

    /// No call from anyone without a role changes an implementation.
    function invariant_noUnauthorizedChange() public view {
        assertTrue(!handler.unauthorizedChange(), "a caller without a role moved a proxy");
    }

    /// After finalize, rollback is impossible.
    function invariant_noRollbackAfterFinalize() public view {
        assertTrue(!handler.rollbackAfterFinalize(), "rolled back a finalized release");
    }

    /// A guardian schedules at most once per release.
    function invariant_oneSchedulePerGuardianPerRelease() public view {
        assertTrue(!handler.guardianScheduledTwice(), "a guardian scheduled twice in one release");
    }

    /// The switch owns every ProxyAdmin of a managed proxy; a released one is the
    /// handler's and none of its proxies is managed.
    function invariant_switchKeepsControlUntilRelease() public view {
        for (uint256 i = 0; i < handler.proxyCount(); ++i) {
            address p = handler.proxies(i);
            address owner = ProxyAdmin(handler.adminOf(i)).owner();
            if (sw.isAdopted(p)) assertEq(owner, address(sw), "a managed proxy's ProxyAdmin left the switch");
            else assertEq(owner, address(handler), "an unmanaged proxy's ProxyAdmin is neither released nor the switch's");
        }
    }

    /// The approver role only ever moves between the accounts rotated to.
    function invariant_approverIsKnown() public view {
        address current = sw.approver();
        bool known = false;
        for (uint256 i = 0; i < handler.approverCount(); ++i) {
            if (handler.approvers(i) == current) known = true;
        }
        assertTrue(known, "approver is an unknown account");
        assertEq(sw.pendingApprover(), address(0), "a rotation was left half done");
    }
}
