// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {UpgradeableBeacon} from "@openzeppelin/contracts/proxy/beacon/UpgradeableBeacon.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts/proxy/utils/UUPSUpgradeable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";

import {BlueGreenSwitch} from "../../contracts/BlueGreenSwitch.sol";
import {IBlueGreenSwitch} from "../../contracts/interfaces/IBlueGreenSwitch.sol";
import {KindsTestBase} from "./KindsTestBase.sol";
import {Vm} from "./Vm.sol";

/// @notice Drives the switch through random sequences of every operation over a UUPS
/// Ownable proxy, a UUPS AccessControl proxy and a beacon, releasing and adopting them
/// again, and keeps ghost records of what happened.
contract KindsHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    bytes32 internal constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");

    BlueGreenSwitch public sw;
    address[3] public units;
    address[][3] internal greens;
    address public guardian;
    address public canceller;

    bool public rollbackMissedBlue;
    bool public unauthorizedChange;
    bool public rollbackAfterFinalize;
    bool public promotedByOther;
    uint256 public promotions;
    uint256 public rollbacks;
    uint256 public releases;

    function init(
        BlueGreenSwitch sw_,
        address[3] memory units_,
        address[][3] memory greens_,
        address guardian_,
        address canceller_
    ) external {
        sw = sw_;
        units = units_;
        for (uint256 k = 0; k < 3; ++k) {
            greens[k] = greens_[k];
        }
        guardian = guardian_;
        canceller = canceller_;
    }

    function runs(uint256 kind) public view returns (address) {
        if (kind == 2) return UpgradeableBeacon(units[2]).implementation();
        return address(uint160(uint256(vm.load(units[kind], IMPLEMENTATION_SLOT))));
    }

    function promote(uint256 kindSeed, uint256 greenSeed) external {
        uint256 kind = kindSeed % 3;
        address green = greens[kind][greenSeed % greens[kind].length];
        address expectedBlue = sw.currentImplementation(units[kind]);
        vm.prank(sw.approver());
        try sw.promote(units[kind], green, green.codehash, expectedBlue, "", keccak256(abi.encode(greenSeed))) {
            promotions += 1;
        } catch {}
    }

    /// All three kinds as one coupled release.
    function promoteBatch(uint256 greenSeed) external {
        IBlueGreenSwitch.Promotion[] memory batch = new IBlueGreenSwitch.Promotion[](3);
        for (uint256 k = 0; k < 3; ++k) {
            address green = greens[k][(greenSeed + k) % greens[k].length];
            batch[k] = IBlueGreenSwitch.Promotion(
                units[k], green, green.codehash, sw.currentImplementation(units[k]), "", bytes32(greenSeed | 1)
            );
        }
        vm.prank(sw.approver());
        try sw.promoteBatch(batch) {
            promotions += 3;
        } catch {}
    }

    function scheduleRollback(uint256 kindSeed, bool byApprover) external {
        vm.prank(byApprover ? sw.approver() : guardian);
        try sw.scheduleRollback(units[kindSeed % 3]) {} catch {}
    }

    function cancelRollback(uint256 kindSeed, bool byApprover) external {
        vm.prank(byApprover ? sw.approver() : canceller);
        try sw.cancelRollback(units[kindSeed % 3]) {} catch {}
    }

    function executeRollback(uint256 kindSeed, address caller) external {
        _rollBack(units[kindSeed % 3], caller, false);
    }

    function rollbackNow(uint256 kindSeed) external {
        _rollBack(units[kindSeed % 3], sw.approver(), true);
    }

    function finalize(uint256 kindSeed, address caller, bool byApprover) external {
        vm.prank(byApprover ? sw.approver() : caller);
        try sw.finalize(units[kindSeed % 3]) {} catch {}
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 10 days));
    }

    /// The approver hands a unit's authority back (to this handler, or renounces the role).
    function release(uint256 kindSeed) external {
        uint256 kind = kindSeed % 3;
        address unit = units[kind];
        if (!sw.isAdopted(unit)) return;
        vm.prank(sw.approver());
        sw.release(unit, kind == 1 ? address(0) : address(this));
        releases += 1;
    }

    /// Gives a released unit's authority back to the switch and adopts it again, stating what it runs.
    function adopt(uint256 kindSeed) external {
        uint256 kind = kindSeed % 3;
        address unit = units[kind];
        if (sw.isAdopted(unit)) return;
        address current = runs(kind);
        if (kind == 0) {
            OwnableUpgradeable(unit).transferOwnership(address(sw));
            vm.prank(sw.approver());
            sw.adoptUups(unit, current, IBlueGreenSwitch.UupsAuthority.Ownable, bytes32(0));
        } else if (kind == 1) {
            AccessControlUpgradeable(unit).grantRole(UPGRADER_ROLE, address(sw));
            vm.prank(sw.approver());
            sw.adoptUups(unit, current, IBlueGreenSwitch.UupsAuthority.AccessControl, UPGRADER_ROLE);
        } else {
            UpgradeableBeacon(unit).transferOwnership(address(sw));
            vm.prank(sw.approver());
            sw.adoptBeacon(unit, current);
        }
    }

    /// A caller with no role tries every entry point that could move a unit.
    function stranger(address caller, uint256 entry, uint256 kindSeed, uint256 greenSeed) external {
        if (caller == sw.approver() || sw.isGuardian(caller) || caller == canceller || caller == address(this)) return;
        if (caller == address(sw)) return;
        uint256 kind = kindSeed % 3;
        address unit = units[kind];
        address before = runs(kind);
        address green = greens[kind][greenSeed % greens[kind].length];
        vm.startPrank(caller);
        uint256 which = entry % 7;
        if (which == 0) {
            try sw.promote(unit, green, green.codehash, before, "", bytes32(uint256(1))) {
                promotedByOther = true;
            } catch {}
        } else if (which == 1) {
            try sw.rollbackNow(unit) {} catch {}
        } else if (which == 2) {
            try sw.scheduleRollback(unit) {} catch {}
        } else if (which == 3) {
            try sw.release(unit, caller) {} catch {}
        } else if (which == 4) {
            try sw.adoptBeacon(unit, green) {} catch {}
        } else if (which == 5) {
            try sw.cancelRollback(unit) {} catch {}
        } else if (kind == 2) {
            try UpgradeableBeacon(unit).upgradeTo(green) {} catch {}
        } else {
            try UUPSUpgradeable(unit).upgradeToAndCall(green, "") {} catch {}
        }
        vm.stopPrank();
        if (runs(kind) != before) unauthorizedChange = true;
    }

    function _rollBack(address unit, address caller, bool immediate) private {
        address[] memory members = sw.releaseProxies(unit);
        IBlueGreenSwitch.ProxyState[] memory before = new IBlueGreenSwitch.ProxyState[](members.length);
        for (uint256 i = 0; i < members.length; ++i) {
            before[i] = sw.proxyState(members[i]);
        }
        vm.prank(caller);
        bool ok;
        if (immediate) {
            try sw.rollbackNow(unit) {
                ok = true;
            } catch {}
        } else {
            try sw.executeRollback(unit) {
                ok = true;
            } catch {}
        }
        if (!ok) return;
        for (uint256 i = 0; i < members.length; ++i) {
            rollbacks += 1;
            uint256 kind = members[i] == units[0] ? 0 : members[i] == units[1] ? 1 : 2;
            if (runs(kind) != before[i].blue) rollbackMissedBlue = true;
            if (before[i].status == IBlueGreenSwitch.Status.Finalized) rollbackAfterFinalize = true;
        }
    }
}

/// @notice Invariants of the switch over UUPS proxies and beacons under random operation sequences.
/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 40
contract BlueGreenSwitchKindsInvariantTest is KindsTestBase {
    KindsHandler internal handler;
    address internal canceller = address(0xCA11);

    function setUp() public {
        handler = new KindsHandler();
        deployKinds(3, address(handler));
        vm.prank(approver);
        sw.addCanceller(canceller);
        handler.init(sw, units, greens, guardian, canceller);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// Every managed unit runs what the switch tracks (its slot, or its beacon's implementation).
    function invariant_trackedImplementationIsWhatRuns() public view {
        for (uint256 k = 0; k < 3; ++k) {
            if (!sw.isAdopted(units[k])) continue;
            assertEq(runs(k), sw.currentImplementation(units[k]), "what runs and tracking differ");
        }
    }

    /// A managed unit runs its release's blue after a rollback, its green otherwise.
    function invariant_implementationIsBlueOrGreen() public view {
        for (uint256 k = 0; k < 3; ++k) {
            IBlueGreenSwitch.ProxyState memory s = sw.proxyState(units[k]);
            if (s.status == IBlueGreenSwitch.Status.None) continue;
            if (s.status == IBlueGreenSwitch.Status.RolledBack) {
                assertEq(runs(k), s.blue, "rolled back but not on blue");
            } else {
                assertEq(runs(k), s.green, "release open or final but not on green");
            }
        }
    }

    /// The record names the kind of every managed unit, and nothing for a released one.
    function invariant_kindRecorded() public view {
        IBlueGreenSwitch.ProxyKind[3] memory expected = [
            IBlueGreenSwitch.ProxyKind.UupsOwnable,
            IBlueGreenSwitch.ProxyKind.UupsAccessControl,
            IBlueGreenSwitch.ProxyKind.Beacon
        ];
        for (uint256 k = 0; k < 3; ++k) {
            if (sw.isAdopted(units[k])) require(sw.proxyKind(units[k]) == expected[k], "wrong kind");
            else require(sw.proxyKind(units[k]) == IBlueGreenSwitch.ProxyKind.None, "kind of a released unit");
        }
    }

    /// The switch holds the authority over every managed unit, and none over a released one.
    function invariant_switchHoldsAuthorityUntilRelease() public view {
        bool adopted0 = sw.isAdopted(units[0]);
        assertEq(OwnableUpgradeable(units[0]).owner(), adopted0 ? address(sw) : address(handler), "ownable owner");
        bool role = AccessControlUpgradeable(units[1]).hasRole(UPGRADER_ROLE, address(sw));
        assertTrue(role == sw.isAdopted(units[1]), "upgrader role");
        bool adopted2 = sw.isAdopted(units[2]);
        assertEq(UpgradeableBeacon(units[2]).owner(), adopted2 ? address(sw) : address(handler), "beacon owner");
    }

    function invariant_rollbackOnlyToRecordedBlue() public view {
        assertTrue(!handler.rollbackMissedBlue(), "a rollback missed blue");
    }

    function invariant_onlyApproverPromotes() public view {
        assertTrue(!handler.promotedByOther(), "a caller other than the approver promoted");
    }

    function invariant_noUnauthorizedChange() public view {
        assertTrue(!handler.unauthorizedChange(), "a caller without a role moved a unit");
    }

    function invariant_noRollbackAfterFinalize() public view {
        assertTrue(!handler.rollbackAfterFinalize(), "rolled back a finalized release");
    }
}
