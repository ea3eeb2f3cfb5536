// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CanaryRouter} from "../../contracts/canary/CanaryRouter.sol";
import {IBlueGreenSwitch} from "../../contracts/interfaces/IBlueGreenSwitch.sol";
import {SwitchTestImplementation} from "../../contracts/test/SwitchTestDoubles.sol";
import {SwitchTestBase} from "./SwitchTestBase.sol";

interface VmOrigin {
    /// Sets both msg.sender and tx.origin for the next call.
    function prank(address msgSender, address txOrigin) external;
}

/// @notice A switch with a v5 transparent proxy on blue, and what a canary step needs.
abstract contract CanaryBase is SwitchTestBase {
    bytes32 internal constant SALT = keccak256("canary salt");

    function step(address green, uint16 bps, bytes32 salt, bool byOrigin)
        internal
        returns (IBlueGreenSwitch.CanaryStep memory)
    {
        IBlueGreenSwitch.ProxyState memory s = sw.proxyState(proxy);
        bool inCanary = sw.canaryState(proxy).router != address(0);
        address expectedBlue = inCanary ? s.blue : s.implementation;
        bytes32 routerCodehash = bps == 10_000 ? bytes32(0) : referenceRouterCodehash(expectedBlue, green, bps, salt, byOrigin);
        return IBlueGreenSwitch.CanaryStep(
            proxy, green, green.codehash, expectedBlue, bps, salt, byOrigin, routerCodehash, EVIDENCE
        );
    }

    /// The code hash a router of these immutables has, from one deployed here with the
    /// same arguments, independently of the switch.
    function referenceRouterCodehash(address b, address g, uint16 bps, bytes32 salt, bool byOrigin)
        internal
        returns (bytes32)
    {
        return address(new CanaryRouter(b, g, bps, salt, byOrigin)).codehash;
    }

    function promoteStep(address green, uint16 bps, bytes32 salt, bool byOrigin) internal {
        IBlueGreenSwitch.CanaryStep memory st = step(green, bps, salt, byOrigin);
        vm.prank(approver);
        sw.promoteCanary(st);
    }

    /// The cohort rule, written out independently of the router's assembly.
    function onGreen(bytes32 salt, address caller, uint16 bps) internal pure returns (bool) {
        return uint256(keccak256(abi.encodePacked(salt, caller))) % 10_000 < bps;
    }

    function idSeenBy(address caller) internal returns (uint256) {
        VmOrigin(address(vm)).prank(caller, caller);
        return SwitchTestImplementation(proxy).id();
    }
}
