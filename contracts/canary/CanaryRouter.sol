// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title CanaryRouter: one proxy's traffic split between blue and green by caller cohort
/// @notice A proxy points its implementation at this router during a canary step. Each
/// call is delegated to green when the caller's cohort falls inside the step's share,
/// and to blue otherwise:
///
///     green  iff  uint256(keccak256(abi.encodePacked(salt, caller))) % 10000 < bps
///
/// so a caller always lands on the same side for a given salt, and, with the salt kept
/// across steps, every caller on green at 1% stays on green at 5% and at 25%.
///
/// The caller is `tx.origin` by default, so that users reaching the proxy through a
/// shared router contract still spread across cohorts; `msg.sender` can be chosen
/// instead (then a shared router contract puts all its users in one cohort, but a
/// contract caller cannot pick its cohort by choosing which EOA sends). The caller is
/// used for cohorting only, never for authorization: blue and green see the proxy's
/// own `msg.sender` and `msg.value`, unchanged, because the router delegates.
///
/// @dev No storage, no external functions: everything is an immutable, and every call
/// (fallback and receive) is delegated, so no selector of blue or green is shadowed and
/// blue and green read and write the proxy's storage exactly as they would without the
/// router. Return data and reverts pass through byte for byte.
///
/// Proxy kinds: behind an OpenZeppelin TransparentUpgradeableProxy the admin's calls
/// never reach the implementation, so upgrades (and rollback) keep working during a
/// canary. Behind a beacon the router serves every BeaconProxy of the beacon, and the
/// beacon's own `upgradeTo` is unaffected. A UUPS proxy must NOT point at the router:
/// its upgrade function lives in the implementation, so it would be delegated by the
/// upgrader's cohort, and OpenZeppelin's `onlyProxy` check (the implementation slot must
/// hold the implementation itself) makes blue's and green's `upgradeToAndCall` revert
/// while the router is in the slot, which leaves the proxy with no way back.
/// BlueGreenSwitch refuses a canary on a UUPS proxy for that reason.
contract CanaryRouter {
    /// The share of callers routed to green cannot exceed every caller.
    error CanaryRouterInvalidShare(uint16 bps);
    /// Blue and green must be two distinct, non-zero implementations.
    error CanaryRouterInvalidImplementations(address blue, address green);

    uint256 private constant SHARE_DENOMINATOR = 10_000;

    address private immutable _blue;
    address private immutable _green;
    uint256 private immutable _bps;
    bytes32 private immutable _salt;
    bool private immutable _cohortByOrigin;

    constructor(address blue, address green, uint16 bps, bytes32 salt, bool cohortByOrigin) {
        if (bps > SHARE_DENOMINATOR) revert CanaryRouterInvalidShare(bps);
        if (blue == address(0) || green == address(0) || blue == green) {
            revert CanaryRouterInvalidImplementations(blue, green);
        }
        _blue = blue;
        _green = green;
        _bps = bps;
        _salt = salt;
        _cohortByOrigin = cohortByOrigin;
    }

    fallback() external payable {
        _route();
    }

    receive() external payable {
        _route();
    }

    function _route() private {
        address blue = _blue;
        address green = _green;
        uint256 bps = _bps;
        bytes32 salt = _salt;
        address cohortOf = _cohortByOrigin ? tx.origin : msg.sender;
        // Not memory-safe: the calldata and the return data overwrite memory from 0, which
        // is sound only because the block ends the call.
        assembly {
            // Scratch space: salt (32 bytes) ++ caller (20 bytes) = abi.encodePacked(salt, caller).
            mstore(0x00, salt)
            mstore(0x20, shl(96, cohortOf))
            let target := blue
            if lt(mod(keccak256(0x00, 0x34), SHARE_DENOMINATOR), bps) { target := green }
            calldatacopy(0x00, 0x00, calldatasize())
            let ok := delegatecall(gas(), target, 0x00, calldatasize(), 0x00, 0x00)
            returndatacopy(0x00, 0x00, returndatasize())
            if iszero(ok) { revert(0x00, returndatasize()) }
            return(0x00, returndatasize())
        }
    }
}
