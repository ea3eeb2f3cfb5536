// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BlueGreenSwitch} from "../../contracts/BlueGreenSwitch.sol";
import {CanaryRouter} from "../../contracts/canary/CanaryRouter.sol";
import {IBlueGreenSwitch} from "../../contracts/interfaces/IBlueGreenSwitch.sol";
import {CanaryBase} from "./CanaryBase.sol";
import {Vm} from "./Vm.sol";

/// @notice Drives canaries on a v5 and a v4 transparent proxy through random steps,
/// rollbacks, vetoes, finalizes and time, and records violations as ghosts.
contract CanaryHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    BlueGreenSwitch public immutable sw;
    address public immutable approver;
    address public immutable guardian;
    address[] public proxies;
    address[] internal greens;
    /// Pinned code hashes, from routers deployed here with the same immutables.
    mapping(bytes32 immutables => bytes32) internal codehashOf;

    bool public stepOutOfOrder;
    bool public rollbackMissedBlue;
    uint256 public steps;
    uint256 public rollbacks;

    constructor(BlueGreenSwitch sw_, address approver_, address guardian_, address[] memory proxies_, address[] memory greens_) {
        (sw, approver, guardian, proxies, greens) = (sw_, approver_, guardian_, proxies_, greens_);
    }

    function proxyCount() external view returns (uint256) {
        return proxies.length;
    }

    function promoteStep(uint256 proxySeed, uint256 bpsSeed, uint256 greenSeed, bool byOrigin) external {
        address proxy = proxies[proxySeed % proxies.length];
        IBlueGreenSwitch.ProxyState memory s = sw.proxyState(proxy);
        IBlueGreenSwitch.CanaryState memory c = sw.canaryState(proxy);
        uint16 bps = _share(bpsSeed, c.bps);
        bool inCanary = c.router != address(0);
        address green = inCanary ? s.green : greens[greenSeed % greens.length];
        bytes32 salt = inCanary ? c.salt : bytes32(greenSeed);
        bool mode = inCanary ? c.cohortByOrigin : byOrigin;
        address expectedBlue = inCanary ? s.blue : s.implementation;
        bytes32 routerCodehash;
        if (bps > 0 && bps < 10_000) routerCodehash = _referenceCodehash(expectedBlue, green, bps, salt, mode);
        IBlueGreenSwitch.CanaryStep memory st = IBlueGreenSwitch.CanaryStep(
            proxy, green, green.codehash, expectedBlue, bps, salt, mode, routerCodehash, bytes32(bpsSeed | 1)
        );
        vm.prank(approver);
        try sw.promoteCanary(st) {
            steps += 1;
            if (inCanary && bps <= c.bps) stepOutOfOrder = true;
            if (bps == 0 || bps > 10_000) stepOutOfOrder = true;
        } catch {}
    }

    /// Mostly real next steps; sometimes the same share again, or anything (the switch must refuse what is out of order).
    function _share(uint256 seed, uint16 current) private pure returns (uint16) {
        uint256 pick = seed % 5;
        if (pick == 0) return uint16(seed % 10_002);
        if (pick == 1) return current;
        return uint16(current + 1 + (seed % (10_000 - current)));
    }

    function scheduleRollback(uint256 proxySeed, bool byApprover) external {
        vm.prank(byApprover ? approver : guardian);
        try sw.scheduleRollback(proxies[proxySeed % proxies.length]) {} catch {}
    }

    function cancelRollback(uint256 proxySeed) external {
        vm.prank(approver);
        try sw.cancelRollback(proxies[proxySeed % proxies.length]) {} catch {}
    }

    function executeRollback(uint256 proxySeed, address caller) external {
        _rollBack(proxies[proxySeed % proxies.length], caller, false);
    }

    function rollbackNow(uint256 proxySeed) external {
        _rollBack(proxies[proxySeed % proxies.length], approver, true);
    }

    function finalize(uint256 proxySeed, bool byApprover, address caller) external {
        vm.prank(byApprover ? approver : caller);
        try sw.finalize(proxies[proxySeed % proxies.length]) {} catch {}
    }

    function passTime(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 10 days));
    }

    function _rollBack(address proxy, address caller, bool immediate) private {
        address blue = sw.proxyState(proxy).blue;
        vm.prank(caller);
        if (immediate) {
            try sw.rollbackNow(proxy) {
                rollbacks += 1;
                if (_slot(proxy) != blue) rollbackMissedBlue = true;
            } catch {}
        } else {
            try sw.executeRollback(proxy) {
                rollbacks += 1;
                if (_slot(proxy) != blue) rollbackMissedBlue = true;
            } catch {}
        }
    }

    function _slot(address proxy) private view returns (address) {
        return address(uint160(uint256(vm.load(proxy, IMPLEMENTATION_SLOT))));
    }

    function _referenceCodehash(address b, address g, uint16 bps, bytes32 salt, bool mode) private returns (bytes32) {
        bytes32 key = keccak256(abi.encode(b, g, bps, salt, mode));
        if (codehashOf[key] == bytes32(0)) codehashOf[key] = address(new CanaryRouter(b, g, bps, salt, mode)).codehash;
        return codehashOf[key];
    }
}

/// forge-config: default.invariant.depth = 30
contract CanaryInvariantTest is CanaryBase {
    CanaryHandler internal handler;

    function setUp() public {
        deployWorld(2);
        (, address[] memory v4Proxies) = deployV4(1);
        address[] memory all = new address[](2);
        (all[0], all[1]) = (proxy, v4Proxies[0]);
        handler = new CanaryHandler(sw, approver, guardian, all, greens);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// Steps go only forward, and only within (0, 10000].
    function invariant_stepsOnlyInOrder() public view {
        assertTrue(!handler.stepOutOfOrder(), "a step out of order was accepted");
    }

    /// Every rollback, from a step or from green, lands on exactly blue.
    function invariant_rollbackLandsOnBlue() public view {
        assertTrue(!handler.rollbackMissedBlue(), "a rollback missed blue");
    }

    /// During a step the proxy runs the router whose immutables are the release's: the
    /// address the switch derives from (blue, green, bps, salt, mode), with the pinned hash.
    function invariant_routerMatchesRelease() public view {
        for (uint256 i = 0; i < handler.proxyCount(); ++i) {
            address p = handler.proxies(i);
            IBlueGreenSwitch.CanaryState memory c = sw.canaryState(p);
            IBlueGreenSwitch.ProxyState memory s = sw.proxyState(p);
            if (c.router == address(0)) {
                if (s.status != IBlueGreenSwitch.Status.None) {
                    address expected = s.status == IBlueGreenSwitch.Status.RolledBack ? s.blue : s.green;
                    assertEq(implementationOf(p), expected, "outside a step, neither blue nor green as recorded");
                }
                continue;
            }
            assertEq(implementationOf(p), c.router, "in a step but not on its router");
            assertEq(
                c.router, sw.canaryRouterFor(s.blue, s.green, c.bps, c.salt, c.cohortByOrigin), "router not the release's"
            );
            assertTrue(c.router.codehash == c.routerCodehash, "router code hash not as pinned");
            assertTrue(c.bps > 0 && c.bps < 10_000, "step share out of range");
            assertTrue(s.status != IBlueGreenSwitch.Status.Finalized, "a step was finalized");
        }
    }
}
