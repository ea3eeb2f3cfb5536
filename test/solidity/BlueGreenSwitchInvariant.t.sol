// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BlueGreenSwitch} from "../../contracts/BlueGreenSwitch.sol";
import {IBlueGreenSwitch} from "../../contracts/interfaces/IBlueGreenSwitch.sol";
import {ProxyAdmin} from "@openzeppelin/contracts/proxy/transparent/ProxyAdmin.sol";
import {ITransparentUpgradeableProxy} from "@openzeppelin/contracts/proxy/transparent/TransparentUpgradeableProxy.sol";
import {SwitchTestBase} from "./SwitchTestBase.sol";
import {Vm} from "./Vm.sol";

/// @notice Drives the switch through random sequences of every operation, by
/// every kind of caller, and keeps ghost records of what happened.
contract SwitchHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    BlueGreenSwitch public immutable sw;
    address public immutable proxy;
    address public immutable proxyAdmin;
    address public immutable approver;
    address public immutable guardian;
    address[] internal greens;

    /// Ghosts: each flag records a violation the invariants then report.
    bool public rollbackMissedBlue;
    bool public unauthorizedChange;
    bool public rollbackAfterFinalize;
    uint256 public promotions;
    uint256 public rollbacks;

    constructor(BlueGreenSwitch sw_, address proxy_, address proxyAdmin_, address approver_, address guardian_, address[] memory greens_) {
        sw = sw_;
        proxy = proxy_;
        proxyAdmin = proxyAdmin_;
        approver = approver_;
        guardian = guardian_;
        greens = greens_;
    }

    function implementation() public view returns (address) {
        return address(uint160(uint256(vm.load(proxy, IMPLEMENTATION_SLOT))));
    }

    function promote(uint256 greenSeed, bool pinWrongHash) external {
        address green = greens[greenSeed % greens.length];
        address expectedBlue = sw.currentImplementation(proxy);
        bytes32 pinned = pinWrongHash ? keccak256("not green") : green.codehash;
        vm.prank(approver);
        try sw.promote(proxy, green, pinned, expectedBlue, "", keccak256(abi.encode(greenSeed))) {
            promotions += 1;
        } catch {}
    }

    function scheduleRollback(bool byApprover) external {
        vm.prank(byApprover ? approver : guardian);
        try sw.scheduleRollback(proxy) {} catch {}
    }

    function cancelRollback() external {
        vm.prank(approver);
        try sw.cancelRollback(proxy) {} catch {}
    }

    function executeRollback(address caller) external {
        _rollBack(caller, false);
    }

    function rollbackNow() external {
        _rollBack(approver, true);
    }

    function finalize(address caller, bool byApprover) external {
        vm.prank(byApprover ? approver : caller);
        try sw.finalize(proxy) {} catch {}
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 10 days));
    }

    /// A caller with no role tries every entry point that could move the proxy.
    function stranger(address caller, uint256 entry, uint256 greenSeed) external {
        if (caller == approver || sw.isGuardian(caller)) return;
        address before = implementation();
        address green = greens[greenSeed % greens.length];
        vm.startPrank(caller);
        uint256 which = entry % 6;
        if (which == 0) {
            try sw.promote(proxy, green, green.codehash, before, "", bytes32(uint256(1))) {} catch {}
        } else if (which == 1) {
            try sw.rollbackNow(proxy) {} catch {}
        } else if (which == 2) {
            try sw.scheduleRollback(proxy) {} catch {}
        } else if (which == 3) {
            try sw.release(proxyAdmin, caller) {} catch {}
        } else if (which == 4) {
            try sw.adopt(proxy, proxyAdmin, green) {} catch {}
        } else {
            try ProxyAdmin(proxyAdmin).upgradeAndCall(ITransparentUpgradeableProxy(proxy), green, "") {} catch {}
        }
        vm.stopPrank();
        if (implementation() != before) unauthorizedChange = true;
    }

    function _rollBack(address caller, bool immediate) private {
        IBlueGreenSwitch.ProxyState memory s = sw.proxyState(proxy);
        vm.prank(caller);
        if (immediate) {
            try sw.rollbackNow(proxy) {
                _recordRollback(s);
            } catch {}
        } else {
            try sw.executeRollback(proxy) {
                _recordRollback(s);
            } catch {}
        }
    }

    function _recordRollback(IBlueGreenSwitch.ProxyState memory before) private {
        rollbacks += 1;
        if (implementation() != before.blue) rollbackMissedBlue = true;
        if (before.status == IBlueGreenSwitch.Status.Finalized) rollbackAfterFinalize = true;
    }
}

/// @notice Invariants of the switch under random operation sequences.
/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 40
contract BlueGreenSwitchInvariantTest is SwitchTestBase {
    SwitchHandler internal handler;

    function setUp() public {
        deployWorld(3);
        handler = new SwitchHandler(sw, proxy, proxyAdmin, approver, guardian, greens);
    }

    /// Only the handler is called by the fuzzer.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// The proxy always runs what the switch tracks.
    function invariant_trackedImplementationIsTheSlot() public view {
        assertEq(implementation(), sw.currentImplementation(proxy), "slot and tracking differ");
    }

    /// The implementation is always the tracked blue or the green of the current release.
    function invariant_implementationIsBlueOrGreen() public view {
        IBlueGreenSwitch.ProxyState memory s = sw.proxyState(proxy);
        address impl = implementation();
        if (s.status == IBlueGreenSwitch.Status.None) {
            assertEq(impl, blue, "moved without a release");
        } else if (s.status == IBlueGreenSwitch.Status.RolledBack) {
            assertEq(impl, s.blue, "rolled back but not on blue");
        } else {
            assertEq(impl, s.green, "release open or final but not on green");
        }
    }

    /// A rollback never targets anything but the recorded blue.
    function invariant_rollbackOnlyToRecordedBlue() public view {
        assertTrue(!handler.rollbackMissedBlue(), "a rollback missed blue");
    }

    /// No call from anyone but the approver, or a guardian's rollback, changes the implementation.
    function invariant_noUnauthorizedChange() public view {
        assertTrue(!handler.unauthorizedChange(), "a caller without a role moved the proxy");
    }

    /// After finalize, rollback is impossible.
    function invariant_noRollbackAfterFinalize() public view {
        assertTrue(!handler.rollbackAfterFinalize(), "rolled back a finalized release");
    }

    /// The switch keeps the ProxyAdmin and its roles.
    function invariant_switchKeepsControl() public view {
        assertEq(ProxyAdmin(proxyAdmin).owner(), address(sw), "ProxyAdmin left the switch");
        assertEq(sw.approver(), approver, "approver changed");
    }
}
