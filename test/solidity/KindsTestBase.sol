// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
import {UpgradeableBeacon} from "@openzeppelin/contracts/proxy/beacon/UpgradeableBeacon.sol";
import {BeaconProxy} from "@openzeppelin/contracts/proxy/beacon/BeaconProxy.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts/proxy/utils/UUPSUpgradeable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {AccessControlUpgradeable} from "@openzeppelin/contracts-upgradeable/access/AccessControlUpgradeable.sol";

import {BlueGreenSwitch} from "../../contracts/BlueGreenSwitch.sol";
import {IBlueGreenSwitch} from "../../contracts/interfaces/IBlueGreenSwitch.sol";
import {Vm} from "./Vm.sol";

/// @notice A UUPS implementation upgraded by its owner; its code differs per `id`.
contract UupsOwnedDouble is OwnableUpgradeable, UUPSUpgradeable {
    uint256 public immutable id;

    constructor(uint256 id_) {
        id = id_;
    }

    function initialize(address owner_) external initializer {
        __Ownable_init(owner_);
    }

    function _authorizeUpgrade(address) internal override onlyOwner {}
}

/// @notice A UUPS implementation upgraded by holders of UPGRADER_ROLE; its code differs per `id`.
contract UupsRoleDouble is AccessControlUpgradeable, UUPSUpgradeable {
    bytes32 public constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");
    uint256 public immutable id;

    constructor(uint256 id_) {
        id = id_;
    }

    function initialize(address admin, address upgrader) external initializer {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(UPGRADER_ROLE, upgrader);
    }

    function _authorizeUpgrade(address) internal override onlyRole(UPGRADER_ROLE) {}
}

/// @notice A beacon implementation; its code differs per `id`.
contract BeaconDouble {
    uint256 public immutable id;

    constructor(uint256 id_) {
        id = id_;
    }
}

/// @notice Shared setup for the UUPS and beacon kinds: a switch holding the authority
/// over a UUPS Ownable proxy, a UUPS AccessControl proxy and a beacon with two
/// BeaconProxy contracts, each running its blue, with distinct greens for each.
abstract contract KindsTestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    bytes32 internal constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    bytes32 internal constant UPGRADER_ROLE = keccak256("UPGRADER_ROLE");
    uint64 internal constant DELAY = 1 hours;
    uint64 internal constant WINDOW = 7 days;
    bytes32 internal constant EVIDENCE = keccak256("evidence");
    uint256 internal constant START = 1_700_000_000;
    uint256 internal constant OWNABLE = 0;
    uint256 internal constant ROLE = 1;
    uint256 internal constant BEACON = 2;

    address internal approver = address(0xA11CE);
    address internal guardian = address(0x6A2D);

    BlueGreenSwitch internal sw;
    /// [UUPS Ownable proxy, UUPS AccessControl proxy, beacon]
    address[3] internal units;
    address[3] internal blues;
    /// greens[kind][i]: distinct greens of each unit.
    address[][3] internal greens;
    address[2] internal beaconProxies;

    /// `holder` keeps what the switch hands back: the owner of the Ownable proxy and the
    /// beacon, and DEFAULT_ADMIN_ROLE of the AccessControl proxy.
    function deployKinds(uint256 greenCount, address holder) internal {
        vm.warp(START);
        address[] memory guardians = new address[](1);
        guardians[0] = guardian;
        sw = new BlueGreenSwitch(approver, guardians, DELAY, WINDOW);
        blues[OWNABLE] = address(new UupsOwnedDouble(0));
        blues[ROLE] = address(new UupsRoleDouble(0));
        blues[BEACON] = address(new BeaconDouble(0));
        for (uint256 i = 1; i <= greenCount; ++i) {
            greens[OWNABLE].push(address(new UupsOwnedDouble(i)));
            greens[ROLE].push(address(new UupsRoleDouble(i)));
            greens[BEACON].push(address(new BeaconDouble(i)));
        }
        units[OWNABLE] = address(
            new ERC1967Proxy(blues[OWNABLE], abi.encodeCall(UupsOwnedDouble.initialize, (address(sw))))
        );
        units[ROLE] =
            address(new ERC1967Proxy(blues[ROLE], abi.encodeCall(UupsRoleDouble.initialize, (holder, address(sw)))));
        units[BEACON] = address(new UpgradeableBeacon(blues[BEACON], address(sw)));
        beaconProxies[0] = address(new BeaconProxy(units[BEACON], ""));
        beaconProxies[1] = address(new BeaconProxy(units[BEACON], ""));
        vm.startPrank(approver);
        sw.adoptUups(units[OWNABLE], blues[OWNABLE], IBlueGreenSwitch.UupsAuthority.Ownable, bytes32(0));
        sw.adoptUups(units[ROLE], blues[ROLE], IBlueGreenSwitch.UupsAuthority.AccessControl, UPGRADER_ROLE);
        sw.adoptBeacon(units[BEACON], blues[BEACON]);
        vm.stopPrank();
    }

    /// What unit `kind` runs, read from the chain: the ERC-1967 slot, or the beacon.
    function runs(uint256 kind) internal view returns (address) {
        if (kind == BEACON) return UpgradeableBeacon(units[BEACON]).implementation();
        return address(uint160(uint256(vm.load(units[kind], IMPLEMENTATION_SLOT))));
    }

    function assertEq(address a, address b, string memory why) internal pure {
        require(a == b, why);
    }

    function assertTrue(bool condition, string memory why) internal pure {
        require(condition, why);
    }

    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        return min + (x % (max - min + 1));
    }
}
