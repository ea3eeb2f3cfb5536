// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {CanaryRouter} from "./canary/CanaryRouter.sol";
import {IBlueGreenSwitch} from "./interfaces/IBlueGreenSwitch.sol";
import {IUpgradeProxyAdmin} from "./interfaces/IUpgradeProxyAdmin.sol";
import {IUUPSProxy, IUpgradeableBeacon} from "./interfaces/IUUPSProxy.sol";

/// @title BlueGreenSwitch: atomic promote of green, timelocked rollback to exactly blue
/// @notice Holds the upgrade authority of proxies and is then their only upgrader: the
/// ProxyAdmins of OpenZeppelin TransparentUpgradeableProxy contracts (v4, v5), the owner
/// or upgrader role of UUPS proxies, and the ownership of UpgradeableBeacons.
///
/// - Forward is deliberate: the approver (a Safe, a timelock or a governor)
///   promotes a green whose code hash is pinned, over a blue it states, in one
///   transaction.
/// - Back is fast but narrow: during the rollback window, a guardian schedules a
///   rollback that anyone can execute after the delay. A canceller or the approver
///   can veto it during the delay; the approver can also drop it later (for a
///   rollback that cannot run) or roll back at once. The target is always the
///   recorded blue, never anything else.
/// - Proxies promoted by one `promoteBatch` form one release: any rollback,
///   veto or finalize of one of them acts on all of them, so a coupled release
///   is never half blue and half green.
/// - After the window, `finalize` closes the rollback path.
/// - `release` hands a ProxyAdmin back, so no one is locked in.
///
/// Every proxy kind (`ProxyKind`) follows the same state machine; the kind only
/// changes how an upgrade is performed and verified (`_upgrade`), and how adoption
/// proves and `release` hands back the authority:
/// - transparent v4/v5: `adopt`, through the ProxyAdmin (below);
/// - UUPS (`adoptUups`): the switch is the proxy's `owner()` or holds an AccessControl
///   role its `_authorizeUpgrade` accepts, and calls `upgradeToAndCall` on the proxy.
///   Green must answer `proxiableUUID()` with the ERC-1967 implementation slot. The
///   switch cannot read the proxy's ERC-1967 slot from outside, so, as for v5
///   transparent proxies, the off-chain tools compare the slot with the record. The
///   rollback runs green's own `upgradeToAndCall`: a green whose `_authorizeUpgrade`
///   no longer accepts the switch (or that has no upgrade function) can be promoted,
///   but its rollback then reverts. The switch cannot see that before it happens; the
///   off-chain rollback-path proof must (simulate the rollback on a fork) before promote;
/// - beacon (`adoptBeacon`): the switch owns an OpenZeppelin `UpgradeableBeacon` and
///   calls `upgradeTo`, which switches every BeaconProxy of the beacon in one call. Here
///   the "proxy" of every function and record is the beacon's address (the unit the
///   switch upgrades), and the beacon's `implementation()` is read back before a promote
///   and after every upgrade and rollback. A beacon upgrade cannot run `initData`.
///
/// @dev Proxy admins: OpenZeppelin v5 (`UPGRADE_INTERFACE_VERSION` "5.0.0", one
/// ProxyAdmin per proxy, only `upgradeAndCall`) and v4 (no version getter,
/// `upgrade` and `upgradeAndCall`, one ProxyAdmin possibly shared by several
/// proxies, implementation readable through `getProxyImplementation`). Any other
/// version string is refused. A v4 `upgradeAndCall` with empty data would call the
/// implementation's `receive`/`fallback`, so empty-data upgrades on v4 use `upgrade`.
///
/// Code that can change after it was checked is refused: green and blue must have
/// code, and not an EIP-7702 delegation (`0xef0100` ++ address), whose key holder
/// can re-delegate at will. On v4 every upgrade and rollback is read back through the
/// ProxyAdmin's getters, so one that did not take (for example because green moved the
/// admin slot) reverts instead of being recorded. A v5 proxy has no getter: the
/// off-chain tools (`bg:status`, `bg:monitor`) compare its ERC-1967 slots with the
/// switch's record and report a mismatch as critical.
///
/// Rollback scheduling rules: a guardian may schedule at most one rollback per
/// release, so with g guardians a release can be held in `RollbackScheduled` at most
/// g times before `finalize`; removing a guardian cancels the rollbacks it scheduled.
///
/// Security: no delegatecall, not upgradeable, checks-effects-interactions in every
/// function, and every state-changing function is `nonReentrant` (transient storage,
/// EIP-1153) because `initData` runs arbitrary code in the proxy. The switch needs a
/// chain with EIP-1153 and PUSH0 (Cancun/Shanghai); on any other chain every guarded
/// function, `release` included, would revert, so `bg:init` refuses such a chain.
/// Promote is not payable: initializers that need ETH are not supported.
///
/// Canary (`promoteCanary`): one transparent proxy or beacon moves from blue to green in
/// steps, each a `CanaryRouter` (deployed by the switch, CREATE2) sending a growing share
/// of callers to green, then to green itself. Every step is a release of its own (its own
/// id, window and guardian schedules) whose rollback lands on the canary's blue.
///
/// The rollback delay and window are fixed at construction: delay in
/// [1 minute, 7 days], window in [1 hour, 90 days], and delay shorter than window.
/// A rollback scheduled near the end of the window can be executed after the
/// window ends (its delay has to run out); a release cannot be finalized while a
/// rollback is scheduled.
contract BlueGreenSwitch is IBlueGreenSwitch, ReentrancyGuardTransient {
    using EnumerableSet for EnumerableSet.AddressSet;

    uint64 public constant MIN_ROLLBACK_DELAY = 1 minutes;
    uint64 public constant MAX_ROLLBACK_DELAY = 7 days;
    uint64 public constant MIN_ROLLBACK_WINDOW = 1 hours;
    uint64 public constant MAX_ROLLBACK_WINDOW = 90 days;

    bytes32 private constant V5_INTERFACE_VERSION = keccak256("5.0.0");
    /// EXTCODEHASH of an account that exists but has no code.
    bytes32 private constant EMPTY_CODEHASH = keccak256("");
    /// ERC-1967 slots, read by `adoptionProbe` inside the proxy.
    bytes32 private constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    bytes32 private constant ADMIN_SLOT = 0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;
    /// Length of an EIP-7702 delegation designator: 0xef0100 ++ 20-byte address.
    uint256 private constant DELEGATION_LENGTH = 23;
    bytes3 private constant DELEGATION_PREFIX = 0xef0100;

    /// @notice Seconds between scheduling a rollback and when anyone may execute it.
    uint64 public immutable rollbackDelay;
    /// @notice Seconds after a promote during which a rollback can be started.
    uint64 public immutable rollbackWindow;

    /// @notice The one account that adopts, promotes, vetoes and releases.
    address public approver;
    /// @notice The proposed next approver, until it accepts (zero: none).
    address public pendingApprover;
    /// @notice Releases promoted so far; each promote or promoteBatch takes the next id.
    uint64 public releaseCount;

    EnumerableSet.AddressSet private _guardians;
    EnumerableSet.AddressSet private _cancellers;
    mapping(address proxy => ProxyState) private _proxies;
    /// Proxies adopted per ProxyAdmin (a v4 ProxyAdmin may serve several), forgotten on `release`.
    mapping(address proxyAdmin => address[]) private _proxiesOf;
    /// Proxies of each release of more than one proxy, in promote order. A single
    /// promote stores nothing here (its one proxy is the whole release).
    mapping(uint64 releaseId => address[]) private _coupled;
    /// For each guardian, a proxy of every release whose rollback it scheduled, newest
    /// last, so `removeGuardian` can cancel them without scanning every proxy. Entries
    /// whose rollback has since ended are dropped lazily (from the end when the
    /// guardian schedules again, all of them on removal): a plain list is much cheaper
    /// than an indexed set on the guardian's urgent path.
    mapping(address guardian => address[]) private _pendingOf;
    /// Guardians that have used their one schedule of a release.
    mapping(uint64 releaseId => mapping(address guardian => bool)) private _scheduled;
    /// The AccessControl role the switch holds on a `UupsAccessControl` proxy.
    mapping(address proxy => bytes32) private _upgraderRole;
    /// The canary step each proxy is in; deleted when the canary ends (green, blue or release).
    mapping(address proxy => CanaryState) private _canaries;

    modifier onlyApprover() {
        if (msg.sender != approver) revert NotApprover(msg.sender);
        _;
    }

    /// @param approver_ The one account that adopts, promotes, vetoes and releases.
    /// @param guardians_ Accounts that may schedule a rollback inside the window.
    /// @param rollbackDelay_ Seconds between scheduling a rollback and executing it.
    /// @param rollbackWindow_ Seconds after a promote during which a rollback can be started.
    constructor(address approver_, address[] memory guardians_, uint64 rollbackDelay_, uint64 rollbackWindow_) {
        if (approver_ == address(0)) revert ZeroAddress();
        if (rollbackDelay_ < MIN_ROLLBACK_DELAY || rollbackDelay_ > MAX_ROLLBACK_DELAY) {
            revert InvalidRollbackDelay(rollbackDelay_, MIN_ROLLBACK_DELAY, MAX_ROLLBACK_DELAY);
        }
        if (rollbackWindow_ < MIN_ROLLBACK_WINDOW || rollbackWindow_ > MAX_ROLLBACK_WINDOW) {
            revert InvalidRollbackWindow(rollbackWindow_, MIN_ROLLBACK_WINDOW, MAX_ROLLBACK_WINDOW);
        }
        if (rollbackDelay_ >= rollbackWindow_) revert DelayNotShorterThanWindow(rollbackDelay_, rollbackWindow_);
        rollbackDelay = rollbackDelay_;
        rollbackWindow = rollbackWindow_;
        approver = approver_;
        emit Configured(rollbackDelay_, rollbackWindow_);
        emit ApproverChanged(address(0), approver_);
        for (uint256 i = 0; i < guardians_.length; ++i) {
            _addGuardian(guardians_[i]);
        }
    }

    // ------------------------------------------------------------- adoption

    /// @notice Registers `proxy` after its ProxyAdmin's ownership was transferred to the switch.
    /// @dev The ProxyAdmin must be proven to be the proxy's admin, in a way a permissive
    /// fallback in the proxy's implementation cannot fake (a non-admin's call to a
    /// transparent proxy falls through to the implementation, which may accept anything).
    ///
    /// v5: the proxy's admin is an immutable in the proxy's own code, copied once to
    /// the ERC-1967 admin slot by its constructor; storage of another contract cannot
    /// be read on chain, so the switch reads it from inside the proxy. It asks
    /// `proxyAdmin` to upgrade `proxy` to the switch itself with a call of
    /// `adoptionProbe`, which, run by delegatecall in the proxy, reverts with the
    /// proxy's address and its admin and implementation slots; the revert undoes the
    /// probe upgrade. The switch accepts only exactly
    /// `AdoptionProbe(proxy, proxyAdmin, switch)`:
    /// - the implementation slot holding the switch shows that the proxy really ran
    ///   an upgrade to the switch; a transparent proxy does that only on its admin
    ///   branch (the switch has no `proxiableUUID`, so a UUPS `upgradeToAndCall` in the
    ///   implementation refuses it);
    /// - the admin slot names `proxyAdmin`;
    /// - a permissive fallback returns success, and success is refused.
    /// Only code written to forge the report (writing both slots, then running the
    /// probe, or a fake ProxyAdmin reverting with it) could pass; `bg:adopt` reads both
    /// slots off chain first, and the monitors compare them after.
    /// Then the switch upgrades the proxy to `currentImplementation_` with no call, so
    /// the tracked implementation is true by construction: when the statement was
    /// wrong, the stated implementation is what the proxy runs afterwards, so the
    /// approver signs exactly that.
    ///
    /// v4: the proxy answers its admin and implementation only to its admin, through
    /// the ProxyAdmin's getters, so both are checked and nothing is upgraded.
    ///
    /// The proxy and the implementation must have code that is not an EIP-7702
    /// delegation.
    function adopt(address proxy, address proxyAdmin, address currentImplementation_)
        external
        nonReentrant
        onlyApprover
    {
        _checkLastingCode(proxy);
        _checkLastingCode(currentImplementation_);
        ProxyState storage s = _proxies[proxy];
        if (s.proxyAdmin != address(0)) revert AlreadyAdopted(proxy, s.proxyAdmin);
        // An adopted UUPS proxy or beacon is its own authority: it cannot also be a ProxyAdmin.
        address selfAdmin = _proxies[proxyAdmin].proxyAdmin;
        if (selfAdmin == proxyAdmin) revert AlreadyAdopted(proxyAdmin, selfAdmin);
        _checkOwnedProxyAdmin(proxyAdmin);
        uint8 version = _adminVersion(proxyAdmin);
        if (version == 4) _checkLegacyProxy(proxy, proxyAdmin, currentImplementation_);
        ProxyKind kind = version == 4 ? ProxyKind.TransparentV4 : ProxyKind.TransparentV5;

        s.proxyAdmin = proxyAdmin;
        s.adminVersion = version;
        s.kind = kind;
        s.implementation = currentImplementation_;
        _proxiesOf[proxyAdmin].push(proxy);
        emit Adopted(proxy, proxyAdmin, currentImplementation_, version);
        emit AdoptedKind(proxy, kind, bytes32(0));

        if (version == 5) {
            _proveV5Admin(proxy, proxyAdmin);
            _upgrade(s, proxy, currentImplementation_, "");
        }
    }

    /// @notice Registers a UUPS `proxy` (ERC-1822/ERC-1967, OpenZeppelin v5 `UUPSUpgradeable`)
    /// whose upgrade authority the switch now holds. Approver only.
    /// @param proxy The ERC-1967 proxy; code that is not an EIP-7702 delegation.
    /// @param currentImplementation_ What the proxy runs; must answer `proxiableUUID()`
    /// with the ERC-1967 implementation slot.
    /// @param authority `Ownable`: the switch must be the proxy's `owner()` (its owner
    /// called `transferOwnership(switch)`; with Ownable2Step the switch cannot accept, so
    /// such proxies are not supported). `AccessControl`: the switch must hold `role` on
    /// the proxy (`hasRole(role, switch)`), the role `_authorizeUpgrade` checks.
    /// @param role The upgrader role for `AccessControl`; zero for `Ownable`.
    /// @dev The switch cannot read the proxy's slots from outside, so it proves what it
    /// can: the authority (owner or role), and then it upgrades the proxy to
    /// `currentImplementation_` with no call. That upgrade runs the proxy's own
    /// `_authorizeUpgrade` with the switch as caller, so adoption fails unless the switch
    /// really can upgrade the proxy, and the tracked implementation is true by
    /// construction (when the statement was wrong, the stated implementation is what the
    /// proxy runs afterwards). Off-chain tools read the slot before and after.
    /// For `proxiesOf` and `release`, the proxy is its own authority: `proxiesOf(proxy)`
    /// is `[proxy]` and `release(proxy, newOwner)` hands it back.
    /// OpenZeppelin v4 `UUPSUpgradeable` is not supported: its `upgradeToAndCall` always
    /// calls the new implementation, even with empty data, so its adoption reverts.
    function adoptUups(address proxy, address currentImplementation_, UupsAuthority authority, bytes32 role)
        external
        nonReentrant
        onlyApprover
    {
        _checkLastingCode(proxy);
        _checkLastingCode(currentImplementation_);
        _checkNotAdopted(proxy);
        ProxyKind kind;
        if (authority == UupsAuthority.Ownable) {
            if (role != bytes32(0)) revert RoleWithOwnable(proxy, role);
            _checkOwner(proxy);
            kind = ProxyKind.UupsOwnable;
        } else {
            (bool ok, bytes memory ret) = proxy.staticcall(abi.encodeCall(IUUPSProxy.hasRole, (role, address(this))));
            if (!ok || ret.length != 32) revert NotAccessControl(proxy);
            if (abi.decode(ret, (uint256)) != 1) revert UpgraderRoleNotGranted(proxy, role);
            kind = ProxyKind.UupsAccessControl;
            _upgraderRole[proxy] = role;
        }
        _checkUupsImplementation(currentImplementation_);

        ProxyState storage s = _proxies[proxy];
        s.proxyAdmin = proxy;
        s.kind = kind;
        s.implementation = currentImplementation_;
        _proxiesOf[proxy].push(proxy);
        emit Adopted(proxy, proxy, currentImplementation_, 0);
        emit AdoptedKind(proxy, kind, role);

        _upgrade(s, proxy, currentImplementation_, "");
    }

    /// @notice Registers an OpenZeppelin `UpgradeableBeacon` whose ownership was
    /// transferred to the switch. Approver only.
    /// @dev The beacon is the unit the switch upgrades: it is the "proxy" in every other
    /// function, record and event (and its own authority: `proxiesOf(beacon)` is
    /// `[beacon]`, `release(beacon, newOwner)` hands it back). Its BeaconProxy contracts
    /// are not listed on chain. Checked: the switch is `owner()`, and `implementation()`
    /// is `currentImplementation_`; nothing is upgraded.
    function adoptBeacon(address beacon, address currentImplementation_) external nonReentrant onlyApprover {
        _checkLastingCode(beacon);
        _checkLastingCode(currentImplementation_);
        _checkNotAdopted(beacon);
        _checkOwner(beacon);
        (bool known, address actual) = _beaconImplementation(beacon);
        if (!known) revert NotABeacon(beacon);
        if (actual != currentImplementation_) revert ImplementationMismatch(beacon, currentImplementation_, actual);

        ProxyState storage s = _proxies[beacon];
        s.proxyAdmin = beacon;
        s.kind = ProxyKind.Beacon;
        s.implementation = currentImplementation_;
        _proxiesOf[beacon].push(beacon);
        emit Adopted(beacon, beacon, currentImplementation_, 0);
        emit AdoptedKind(beacon, ProxyKind.Beacon, bytes32(0));
    }

    /// @notice Not for direct use: run inside a proxy by `adopt`, it reverts with the
    /// proxy's ERC-1967 admin and implementation slots (see `adopt`).
    /// @dev Called on the switch itself it reports the switch's own (empty) slots and
    /// changes nothing.
    function adoptionProbe() external view {
        bytes32 adminSlot;
        bytes32 implementationSlot;
        assembly ("memory-safe") {
            adminSlot := sload(ADMIN_SLOT)
            implementationSlot := sload(IMPLEMENTATION_SLOT)
        }
        revert AdoptionProbe(address(this), adminSlot, implementationSlot);
    }

    // -------------------------------------------------------------- promote

    /// @notice Switches `proxy` from blue to green in one transaction and opens the rollback window.
    /// @param proxy An adopted proxy whose previous release is closed (none, rolled back or finalized).
    /// @param green The new implementation; code that is not an EIP-7702 delegation.
    /// @param greenCodehash Green's EXTCODEHASH: exactly the staged and audited bytecode.
    /// @param expectedBlue The implementation the approver saw; must be the tracked one, so no other upgrade can race.
    /// It must still have code that is not a delegation, or a rollback could not land on it.
    /// @param initData Called on green through the proxy (upgradeAndCall, or `upgradeToAndCall`
    /// of a UUPS proxy); empty for none. Its hash is logged. Must be empty for a beacon.
    /// @param evidenceHash Canonical hash of the evidence promoted on; not zero.
    function promote(
        address proxy,
        address green,
        bytes32 greenCodehash,
        address expectedBlue,
        bytes calldata initData,
        bytes32 evidenceHash
    ) external nonReentrant onlyApprover {
        uint64 releaseId = ++releaseCount;
        ProxyState storage s = _proxies[proxy];
        _checkAndRecordPromotion(
            s, releaseId, Promotion(proxy, green, greenCodehash, expectedBlue, initData, evidenceHash)
        );
        _upgrade(s, proxy, green, initData);
    }

    /// @notice Promotes several proxies together as one release: all switch, or none does.
    /// @dev All checks and records come first, then the upgrades in the given order, so
    /// one green's `initData` may rely on the greens before it already being live. A
    /// proxy listed twice fails its second check (its release is then open). From then
    /// on the proxies are one release: a rollback, veto or finalize of any of them acts
    /// on all of them (rollbacks run in reverse order).
    function promoteBatch(Promotion[] calldata promotions) external nonReentrant onlyApprover {
        uint256 n = promotions.length;
        if (n == 0) revert EmptyBatch();
        uint64 releaseId = ++releaseCount;
        for (uint256 i = 0; i < n; ++i) {
            Promotion calldata p = promotions[i];
            _checkAndRecordPromotion(_proxies[p.proxy], releaseId, p);
            if (n > 1) _coupled[releaseId].push(p.proxy);
        }
        for (uint256 i = 0; i < n; ++i) {
            Promotion calldata p = promotions[i];
            _upgrade(_proxies[p.proxy], p.proxy, p.green, p.initData);
        }
    }

    /// @notice Promotes `step.proxy` to the next canary step, or ends its canary on green
    /// (`bps` 10000). Approver only.
    /// @dev The first step starts from a closed release, like `promote`: blue is the tracked
    /// implementation. Each later step needs the previous one live (not scheduled for
    /// rollback), the same blue, green, green code hash, salt and cohort mode, and a larger
    /// share. A step's router is deployed by the switch at `canaryRouterFor(...)` (or reused
    /// there), so its immutables are the step's by construction, and its code hash must
    /// equal the pinned `routerCodehash`. Each step takes a new release id and a new window;
    /// rollback from any step goes to blue through the usual path. No initializer runs:
    /// it would be delegated by the switch's own cohort.
    ///
    /// Not for UUPS proxies (`CanaryNotSupported`): their upgrade function is in the
    /// implementation, so behind the router it would run blue's or green's code by the
    /// caller's cohort, and OpenZeppelin's `onlyProxy` (the slot must hold the implementation
    /// itself) refuses both there; the proxy could then never leave the router. A transparent
    /// proxy's admin calls never reach the implementation, and a beacon is upgraded on the
    /// beacon, so both keep their way back.
    function promoteCanary(CanaryStep calldata step) external nonReentrant onlyApprover {
        address proxy = step.proxy;
        ProxyState storage s = _adopted(proxy);
        ProxyKind kind = s.kind;
        if (kind == ProxyKind.UupsOwnable || kind == ProxyKind.UupsAccessControl) revert CanaryNotSupported(proxy, kind);
        CanaryState storage c = _canaries[proxy];
        uint16 bps = step.bps;
        address blue;
        if (c.router == address(0)) {
            if (bps == 0 || bps >= 10_000) revert CanaryStepOutOfOrder(proxy, 0, bps);
            _checkAndRecordPromotion(
                s,
                ++releaseCount,
                Promotion(proxy, step.green, step.greenCodehash, step.expectedBlue, "", step.evidenceHash)
            );
            blue = s.blue;
        } else {
            if (s.status != Status.Live) revert ReleaseNotLive(proxy, s.status);
            if (bps <= c.bps || bps > 10_000) revert CanaryStepOutOfOrder(proxy, c.bps, bps);
            blue = s.blue;
            if (step.expectedBlue != blue) revert UnexpectedBlue(proxy, step.expectedBlue, blue);
            if (
                step.green != s.green || step.greenCodehash != s.greenCodehash || step.salt != c.salt
                    || step.cohortByOrigin != c.cohortByOrigin
            ) revert CanaryStepMismatch(proxy);
            bytes32 actualCodehash = step.green.codehash;
            if (actualCodehash != step.greenCodehash) {
                revert CodehashMismatch(step.green, step.greenCodehash, actualCodehash);
            }
            _checkLastingCode(blue);
            if (kind == ProxyKind.TransparentV4) _verifyLegacy(proxy, s.proxyAdmin, c.router);
            else if (kind == ProxyKind.Beacon) _verifyBeacon(proxy, c.router);
            if (step.evidenceHash == bytes32(0)) revert EmptyEvidenceHash(proxy);
            uint64 now_ = uint64(block.timestamp);
            uint64 windowEnd = now_ + rollbackWindow;
            uint64 releaseId = ++releaseCount;
            s.promotedAt = now_;
            s.windowEnd = windowEnd;
            s.releaseId = releaseId;
            s.evidenceHash = step.evidenceHash;
            s.rollbackReadyAt = 0;
            if (bps == 10_000) {
                if (_canaries[proxy].router != address(0)) delete _canaries[proxy];
                s.implementation = step.green;
                emit Promoted(
                    proxy, blue, step.green, step.greenCodehash, step.evidenceHash, now_, windowEnd, keccak256(""), releaseId
                );
                _upgrade(s, proxy, step.green, "");
                return;
            }
        }
        _enterRouterStep(s, step, blue);
    }

    /// Puts `step.proxy` on the step's router: deployed or found, pinned, recorded, upgraded.
    function _enterRouterStep(ProxyState storage s, CanaryStep calldata step, address blue) private {
        address router = _deployRouter(blue, step.green, step.bps, step.salt, step.cohortByOrigin);
        bytes32 routerCodehash = router.codehash;
        if (routerCodehash != step.routerCodehash) {
            revert RouterCodehashMismatch(router, step.routerCodehash, routerCodehash);
        }
        s.implementation = router;
        _canaries[step.proxy] = CanaryState(router, step.bps, step.cohortByOrigin, step.salt, routerCodehash);
        emit CanaryStepPromoted(
            step.proxy,
            blue,
            step.green,
            router,
            routerCodehash,
            step.bps,
            step.salt,
            step.cohortByOrigin,
            step.evidenceHash,
            s.windowEnd,
            s.releaseId
        );
        _upgrade(s, step.proxy, router, "");
    }

    // ------------------------------------------------------------- rollback

    /// @notice Starts a rollback of the release of `proxy` to blue, executable by anyone
    /// after the delay. Guardian or approver, inside the window.
    /// @dev A guardian may do this once per release, so repeated scheduling cannot hold
    /// a release away from `finalize` for ever; the approver is not limited (it can
    /// finalize or roll back itself).
    function scheduleRollback(address proxy) external nonReentrant {
        bool byApprover = msg.sender == approver;
        if (!byApprover && !_guardians.contains(msg.sender)) revert NotGuardianOrApprover(msg.sender);
        ProxyState storage s = _adopted(proxy);
        if (s.status != Status.Live) revert ReleaseNotLive(proxy, s.status);
        if (block.timestamp >= s.windowEnd) revert RollbackWindowClosed(proxy, s.windowEnd);
        uint64 releaseId = s.releaseId;
        if (!byApprover) {
            if (_scheduled[releaseId][msg.sender]) revert AlreadyScheduledInRelease(proxy, msg.sender, releaseId);
            _scheduled[releaseId][msg.sender] = true;
            address[] storage pending = _pendingOf[msg.sender];
            while (pending.length > 0 && !_isPendingBy(pending[pending.length - 1], msg.sender)) pending.pop();
            pending.push(proxy);
        }

        uint64 readyAt = uint64(block.timestamp) + rollbackDelay;
        address[] memory members = _members(proxy, releaseId);
        for (uint256 i = 0; i < members.length; ++i) {
            ProxyState storage m = _proxies[members[i]];
            m.rollbackReadyAt = readyAt;
            m.rollbackScheduledBy = msg.sender;
            m.status = Status.RollbackScheduled;
            emit RollbackScheduled(members[i], msg.sender, readyAt);
        }
    }

    /// @notice Drops a scheduled rollback; the release is live again. A canceller or the
    /// approver while the delay runs (the veto); the approver also after it, so a
    /// rollback that cannot run (blue lost its code) never leaves the proxy stuck.
    function cancelRollback(address proxy) external nonReentrant {
        bool byApprover = msg.sender == approver;
        if (!byApprover && !_cancellers.contains(msg.sender)) revert NotCancellerOrApprover(msg.sender);
        ProxyState storage s = _adopted(proxy);
        if (s.status != Status.RollbackScheduled) revert NoRollbackScheduled(proxy, s.status);
        if (!byApprover && block.timestamp >= s.rollbackReadyAt) revert RollbackAlreadyReady(proxy, s.rollbackReadyAt);
        _cancelScheduled(proxy, s.releaseId);
    }

    /// @notice Executes a scheduled rollback once ready: back to exactly the recorded blue. Anyone.
    /// @dev The status implies the proxy still runs that green as far as the switch can
    /// tell: only the switch upgrades it, and any other upgrade through the switch needs
    /// the release closed first. On v4 the result is read back and must be blue.
    function executeRollback(address proxy) external nonReentrant {
        ProxyState storage s = _adopted(proxy);
        if (s.status != Status.RollbackScheduled) revert NoRollbackScheduled(proxy, s.status);
        if (block.timestamp < s.rollbackReadyAt) revert RollbackNotReady(proxy, s.rollbackReadyAt);
        _rollBack(proxy, s.releaseId, false);
    }

    /// @notice Rolls back to blue at once, skipping the delay. Approver only, inside the
    /// window, and at any time during a canary step (which cannot be finalized, so the
    /// approver keeps its way back to blue).
    function rollbackNow(address proxy) external nonReentrant onlyApprover {
        ProxyState storage s = _adopted(proxy);
        if (s.status != Status.Live && s.status != Status.RollbackScheduled) revert ReleaseNotLive(proxy, s.status);
        if (block.timestamp >= s.windowEnd && _canaries[proxy].router == address(0)) {
            revert RollbackWindowClosed(proxy, s.windowEnd);
        }
        _rollBack(proxy, s.releaseId, true);
    }

    /// @notice Closes the rollback path of the release of `proxy`: green stays. Anyone
    /// after the window, the approver at any time.
    /// @dev Refused while a rollback is scheduled: it must be executed or cancelled first.
    /// Refused during a canary step: a proxy must never stay on a router for good.
    function finalize(address proxy) external nonReentrant {
        ProxyState storage s = _adopted(proxy);
        if (s.status != Status.Live) revert ReleaseNotLive(proxy, s.status);
        uint16 canaryBps = _canaries[proxy].bps;
        if (canaryBps != 0) revert CanaryStepOpen(proxy, canaryBps);
        if (msg.sender != approver && block.timestamp < s.windowEnd) revert WindowStillOpen(proxy, s.windowEnd);

        address[] memory members = _members(proxy, s.releaseId);
        for (uint256 i = 0; i < members.length; ++i) {
            ProxyState storage m = _proxies[members[i]];
            m.status = Status.Finalized;
            emit Finalized(members[i], m.green, msg.sender);
        }
    }

    // -------------------------------------------------------------- release

    /// @notice Hands the upgrade authority held on `proxyAdmin` back and forgets its proxies. Approver only.
    /// @param proxyAdmin The authority as recorded (`ProxyState.proxyAdmin`): a ProxyAdmin;
    /// a UUPS proxy itself; a beacon itself.
    /// @param newOwner Who receives ownership (ProxyAdmin, Ownable UUPS proxy, beacon);
    /// must be address(0) for a `UupsAccessControl` proxy.
    /// @dev Works for any Ownable authority the switch owns, adopted or not, at any time: the
    /// approver can always leave. Releasing during an open window drops its rollback
    /// path; a scheduled rollback of a released proxy is cancelled first, for its whole
    /// release, and each forgotten proxy is logged.
    /// - ProxyAdmin, beacon, Ownable UUPS proxy: `transferOwnership(newOwner)`.
    /// - AccessControl UUPS proxy: the switch renounces its upgrader role and grants
    ///   nothing: the role's admin (typically `DEFAULT_ADMIN_ROLE`) and every other holder
    ///   of the role keep what they had, and they decide who upgrades next. `Released`
    ///   and `ProxyReleased` log `newOwner` zero.
    /// - A UUPS proxy runs code (green) that can change its owner or roles, or refuse the
    ///   hand-back, without the switch. When the switch no longer holds the authority, or
    ///   the hand-back call reverts, the proxy is still forgotten (so it can be adopted
    ///   again, and the approver is never stuck with it), and `AuthorityNotHandedBack`
    ///   is logged instead of `Released`.
    function release(address proxyAdmin, address newOwner) external nonReentrant onlyApprover {
        address[] storage proxies = _proxiesOf[proxyAdmin];
        ProxyKind kind = proxies.length == 0 ? ProxyKind.None : _proxies[proxies[0]].kind;
        bool holds = true;
        bytes32 role;
        if (kind == ProxyKind.UupsAccessControl) {
            if (newOwner != address(0)) revert RenounceTakesNoNewOwner(proxyAdmin, newOwner);
            role = _upgraderRole[proxyAdmin];
            (bool ok, bytes memory ret) =
                proxyAdmin.staticcall(abi.encodeCall(IUUPSProxy.hasRole, (role, address(this))));
            holds = ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1;
            delete _upgraderRole[proxyAdmin];
        } else {
            if (newOwner == address(0) || newOwner == address(this)) revert InvalidNewOwner(newOwner);
            if (kind == ProxyKind.UupsOwnable) {
                (bool ok, address owner) = _askOwner(proxyAdmin);
                holds = ok && owner == address(this);
            } else {
                _checkOwnedProxyAdmin(proxyAdmin);
            }
        }

        for (uint256 i = 0; i < proxies.length; ++i) {
            address proxy = proxies[i];
            ProxyState storage s = _proxies[proxy];
            if (s.status == Status.RollbackScheduled) _cancelScheduled(proxy, s.releaseId);
            emit ProxyReleased(proxy, proxyAdmin, newOwner, s.status);
            delete _proxies[proxy];
            if (_canaries[proxy].router != address(0)) delete _canaries[proxy];
        }
        delete _proxiesOf[proxyAdmin];

        if (kind != ProxyKind.UupsOwnable && kind != ProxyKind.UupsAccessControl) {
            emit Released(proxyAdmin, newOwner);
            IUpgradeProxyAdmin(proxyAdmin).transferOwnership(newOwner);
            return;
        }
        // UUPS: the proxy's own code answers; its refusal must not keep the record.
        bool handedBack = false;
        if (holds) {
            (handedBack,) = proxyAdmin.call(
                kind == ProxyKind.UupsAccessControl
                    ? abi.encodeCall(IUUPSProxy.renounceRole, (role, address(this)))
                    : abi.encodeCall(IUUPSProxy.transferOwnership, (newOwner))
            );
        }
        if (handedBack) emit Released(proxyAdmin, newOwner);
        else emit AuthorityNotHandedBack(proxyAdmin, newOwner, holds);
    }

    // ---------------------------------------------------------------- roles

    /// @notice First step of approver rotation; zero withdraws a proposal. Approver only.
    function proposeApprover(address newApprover) external nonReentrant onlyApprover {
        pendingApprover = newApprover;
        emit ApproverProposed(msg.sender, newApprover);
    }

    /// @notice Second step of approver rotation, by the proposed approver.
    function acceptApprover() external nonReentrant {
        if (msg.sender != pendingApprover || msg.sender == address(0)) revert NotPendingApprover(msg.sender);
        address previous = approver;
        approver = msg.sender;
        pendingApprover = address(0);
        emit ApproverChanged(previous, msg.sender);
    }

    /// @notice Adds a guardian, who may then schedule rollbacks. Approver only.
    function addGuardian(address guardian) external nonReentrant onlyApprover {
        _addGuardian(guardian);
    }

    /// @notice Removes a guardian and cancels every rollback it has scheduled. Approver only.
    /// @dev A guardian is removed because its key is lost or distrusted, so what it
    /// scheduled must not run either.
    function removeGuardian(address guardian) external nonReentrant onlyApprover {
        if (!_guardians.remove(guardian)) revert NotAGuardian(guardian);
        emit GuardianRemoved(guardian);
        address[] memory pending = _pendingOf[guardian];
        delete _pendingOf[guardian];
        for (uint256 i = 0; i < pending.length; ++i) {
            if (_isPendingBy(pending[i], guardian)) _cancelScheduled(pending[i], _proxies[pending[i]].releaseId);
        }
    }

    /// @notice Adds a canceller, who may veto scheduled rollbacks during their delay.
    /// Approver only.
    /// @dev The veto is a role of its own because the approver may be too slow for the
    /// delay (a timelock, a governor, a large Safe). A canceller can only keep green
    /// running: it cannot promote, roll back or finalize.
    function addCanceller(address canceller) external nonReentrant onlyApprover {
        if (canceller == address(0)) revert ZeroAddress();
        if (!_cancellers.add(canceller)) revert CancellerAlreadyAdded(canceller);
        emit CancellerAdded(canceller);
    }

    /// @notice Removes a canceller. Approver only.
    function removeCanceller(address canceller) external nonReentrant onlyApprover {
        if (!_cancellers.remove(canceller)) revert NotACanceller(canceller);
        emit CancellerRemoved(canceller);
    }

    // ---------------------------------------------------------------- views

    /// @notice True when `account` may schedule rollbacks as a guardian.
    function isGuardian(address account) external view returns (bool) {
        return _guardians.contains(account);
    }

    /// @notice All guardians, in no guaranteed order.
    function guardians() external view returns (address[] memory) {
        return _guardians.values();
    }

    /// @notice True when `account` may veto scheduled rollbacks during their delay.
    function isCanceller(address account) external view returns (bool) {
        return _cancellers.contains(account);
    }

    /// @notice All cancellers, in no guaranteed order.
    function cancellers() external view returns (address[] memory) {
        return _cancellers.values();
    }

    /// @notice True when `guardian` has used its one schedule of release `releaseId`.
    function hasScheduled(uint64 releaseId, address guardian) external view returns (bool) {
        return _scheduled[releaseId][guardian];
    }

    /// @notice True when the switch manages `proxy`.
    function isAdopted(address proxy) external view returns (bool) {
        return _proxies[proxy].proxyAdmin != address(0);
    }

    /// @notice Everything the switch records about `proxy` (all zero if it is not adopted).
    function proxyState(address proxy) external view returns (ProxyState memory) {
        return _proxies[proxy];
    }

    /// @notice The implementation `proxy` runs, as tracked by the switch (zero if not adopted).
    function currentImplementation(address proxy) external view returns (address) {
        return _proxies[proxy].implementation;
    }

    /// @notice Blue of the latest release: the implementation before the latest promote (zero before any).
    function previousImplementation(address proxy) external view returns (address) {
        return _proxies[proxy].blue;
    }

    /// @notice How `proxy` is upgraded (`None` if it is not adopted). For a beacon, `proxy` is the beacon.
    function proxyKind(address proxy) external view returns (ProxyKind) {
        return _proxies[proxy].kind;
    }

    /// @notice The AccessControl role the switch holds on a `UupsAccessControl` proxy (zero otherwise).
    function upgraderRole(address proxy) external view returns (bytes32) {
        return _upgraderRole[proxy];
    }

    /// @notice The adopted proxies upgraded through `proxyAdmin` (one for v5; possibly several
    /// for v4; `[proxy]` for a UUPS proxy and `[beacon]` for a beacon, their own authority).
    function proxiesOf(address proxyAdmin) external view returns (address[] memory) {
        return _proxiesOf[proxyAdmin];
    }

    /// @notice The proxies of the latest release of `proxy` that the switch still
    /// manages, in promote order: just `proxy` for a single promote, every proxy of
    /// the batch for a `promoteBatch`; empty before any release.
    function releaseProxies(address proxy) external view returns (address[] memory) {
        ProxyState storage s = _proxies[proxy];
        if (s.releaseId == 0) return new address[](0);
        return _members(proxy, s.releaseId);
    }

    /// @notice True when `executeRollback(proxy)` would pass the switch's own checks now.
    function canExecuteRollback(address proxy) external view returns (bool) {
        ProxyState storage s = _proxies[proxy];
        return s.status == Status.RollbackScheduled && block.timestamp >= s.rollbackReadyAt;
    }

    /// @notice The canary step `proxy` is in (all zero when none).
    function canaryState(address proxy) external view returns (CanaryState memory) {
        return _canaries[proxy];
    }

    /// @notice Where the switch deploys (or finds) the `CanaryRouter` with these immutables.
    function canaryRouterFor(address blue, address green, uint16 bps, bytes32 salt, bool cohortByOrigin)
        external
        view
        returns (address)
    {
        return _routerAddress(keccak256(_routerInitCode(blue, green, bps, salt, cohortByOrigin)));
    }

    // ------------------------------------------------------------- internal

    function _routerInitCode(address blue, address green, uint16 bps, bytes32 salt, bool cohortByOrigin)
        private
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(type(CanaryRouter).creationCode, abi.encode(blue, green, bps, salt, cohortByOrigin));
    }

    function _routerAddress(bytes32 initCodeHash) private view returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), bytes32(0), initCodeHash)))));
    }

    /// The router is stateless, so one deployed for the same immutables (an earlier canary
    /// of the same blue and green, or another proxy) is reused as is. CREATE2 with salt
    /// zero: the address commits to the constructor arguments through the init code.
    function _deployRouter(address blue, address green, uint16 bps, bytes32 salt, bool cohortByOrigin)
        private
        returns (address router)
    {
        bytes memory initCode = _routerInitCode(blue, green, bps, salt, cohortByOrigin);
        router = _routerAddress(keccak256(initCode));
        if (router.code.length != 0) return router;
        assembly ("memory-safe") {
            router := create2(0, add(initCode, 0x20), mload(initCode), 0)
        }
        // The constructor refuses a bad share or blue/green; the checks before make that unreachable.
        if (router == address(0)) revert NotAContract(router);
    }

    function _addGuardian(address guardian) private {
        if (guardian == address(0)) revert ZeroAddress();
        if (!_guardians.add(guardian)) revert GuardianAlreadyAdded(guardian);
        emit GuardianAdded(guardian);
    }

    function _adopted(address proxy) private view returns (ProxyState storage s) {
        s = _proxies[proxy];
        if (s.proxyAdmin == address(0)) revert NotAdopted(proxy);
    }

    /// The still-managed proxies of release `releaseId`, which `proxy` belongs to. A
    /// released proxy's record is deleted, so its release id no longer matches.
    function _members(address proxy, uint64 releaseId) private view returns (address[] memory members) {
        address[] storage coupled = _coupled[releaseId];
        uint256 n = coupled.length;
        if (n == 0) {
            members = new address[](1);
            members[0] = proxy;
            return members;
        }
        members = new address[](n);
        uint256 kept = 0;
        for (uint256 i = 0; i < n; ++i) {
            address member = coupled[i];
            if (_proxies[member].releaseId == releaseId) members[kept++] = member;
        }
        assembly ("memory-safe") {
            mstore(members, kept)
        }
    }

    /// Checks and effects of one promotion; the upgrade itself is the caller's interaction.
    function _checkAndRecordPromotion(ProxyState storage s, uint64 releaseId, Promotion memory p) private {
        address proxy = p.proxy;
        if (s.proxyAdmin == address(0)) revert NotAdopted(proxy);
        if (s.status == Status.Live || s.status == Status.RollbackScheduled) revert ReleaseStillOpen(proxy, s.status);
        address blue = s.implementation;
        if (p.expectedBlue != blue) revert UnexpectedBlue(proxy, p.expectedBlue, blue);
        if (p.green == blue) revert GreenIsBlue(proxy, p.green);
        bytes32 actualCodehash = p.green.codehash;
        // A pinned hash of "no account" or "no code" would let a codeless green through.
        if (actualCodehash == bytes32(0) || actualCodehash == EMPTY_CODEHASH) revert NotAContract(p.green);
        if (actualCodehash != p.greenCodehash) revert CodehashMismatch(p.green, p.greenCodehash, actualCodehash);
        // The pin holds a delegation's hash too, but not what its key holder delegates to next.
        if (_isDelegation(p.green)) revert DelegatedCode(p.green);
        _checkLastingCode(blue);
        _checkKindBeforePromote(s, p, blue);
        if (p.evidenceHash == bytes32(0)) revert EmptyEvidenceHash(proxy);

        uint64 now_ = uint64(block.timestamp);
        uint64 windowEnd = now_ + rollbackWindow;
        s.promotedAt = now_;
        s.status = Status.Live;
        s.implementation = p.green;
        s.windowEnd = windowEnd;
        s.blue = blue;
        s.rollbackReadyAt = 0;
        s.green = p.green;
        s.releaseId = releaseId;
        s.greenCodehash = p.greenCodehash;
        s.evidenceHash = p.evidenceHash;
        emit Promoted(
            proxy, blue, p.green, p.greenCodehash, p.evidenceHash, now_, windowEnd, keccak256(p.initData), releaseId
        );
    }

    /// The checks of a promotion that depend on the proxy's kind.
    function _checkKindBeforePromote(ProxyState storage s, Promotion memory p, address blue) private view {
        ProxyKind kind = s.kind;
        if (kind == ProxyKind.TransparentV4) {
            // A v4 proxy can say what it runs: a green that wrote its slots must not pass as blue.
            _verifyLegacy(p.proxy, s.proxyAdmin, blue);
        } else if (kind == ProxyKind.Beacon) {
            if (p.initData.length != 0) revert BeaconTakesNoInitData(p.proxy);
            _verifyBeacon(p.proxy, blue);
        } else if (kind != ProxyKind.TransparentV5) {
            // UUPS: a green that is not UUPS could never be upgraded again.
            _checkUupsImplementation(p.green);
        }
    }

    /// True while the rollback of the release of `proxy` that `guardian` scheduled is pending.
    function _isPendingBy(address proxy, address guardian) private view returns (bool) {
        ProxyState storage s = _proxies[proxy];
        return s.status == Status.RollbackScheduled && s.rollbackScheduledBy == guardian;
    }

    /// Cancels the scheduled rollback of the release of `proxy`, for all its proxies.
    function _cancelScheduled(address proxy, uint64 releaseId) private {
        address[] memory members = _members(proxy, releaseId);
        for (uint256 i = 0; i < members.length; ++i) {
            ProxyState storage m = _proxies[members[i]];
            m.rollbackReadyAt = 0;
            m.rollbackScheduledBy = address(0);
            m.status = Status.Live;
            emit RollbackCancelled(members[i], msg.sender);
        }
    }

    /// Rolls the whole release of `proxy` back to its blues: records first, then the
    /// upgrades, last promoted first.
    function _rollBack(address proxy, uint64 releaseId, bool immediate) private {
        address[] memory members = _members(proxy, releaseId);
        for (uint256 i = 0; i < members.length; ++i) {
            ProxyState storage m = _proxies[members[i]];
            address green = m.implementation;
            m.implementation = m.blue;
            m.status = Status.RolledBack;
            m.rollbackScheduledBy = address(0);
            // Read before clearing: most releases have no canary, and a read is cheaper than three clears.
            if (_canaries[members[i]].router != address(0)) delete _canaries[members[i]];
            emit RolledBack(members[i], green, m.blue, msg.sender, immediate);
        }
        for (uint256 i = members.length; i > 0; --i) {
            ProxyState storage m = _proxies[members[i - 1]];
            _upgrade(m, members[i - 1], m.blue, "");
        }
    }

    /// Performs and verifies one upgrade of `proxy`, according to its kind.
    function _upgrade(ProxyState storage s, address proxy, address implementation, bytes memory data) private {
        ProxyKind kind = s.kind;
        if (kind == ProxyKind.UupsOwnable || kind == ProxyKind.UupsAccessControl) {
            IUUPSProxy(proxy).upgradeToAndCall(implementation, data);
            return;
        }
        if (kind == ProxyKind.Beacon) {
            IUpgradeableBeacon(proxy).upgradeTo(implementation);
            _verifyBeacon(proxy, implementation);
            return;
        }
        address proxyAdmin = s.proxyAdmin;
        if (kind == ProxyKind.TransparentV4) {
            if (data.length == 0) {
                IUpgradeProxyAdmin(proxyAdmin).upgrade(proxy, implementation);
            } else {
                IUpgradeProxyAdmin(proxyAdmin).upgradeAndCall(proxy, implementation, data);
            }
            _verifyLegacy(proxy, proxyAdmin, implementation);
        } else {
            IUpgradeProxyAdmin(proxyAdmin).upgradeAndCall(proxy, implementation, data);
        }
    }

    /// A v4 upgrade whose call fell through to the implementation (because green moved
    /// the admin slot, say) returns normally; reading the proxy back catches it.
    function _verifyLegacy(address proxy, address proxyAdmin, address expected) private view {
        (bool adminKnown, address admin) = _askProxyAdmin(proxyAdmin, IUpgradeProxyAdmin.getProxyAdmin.selector, proxy);
        (bool implementationKnown, address actual) =
            _askProxyAdmin(proxyAdmin, IUpgradeProxyAdmin.getProxyImplementation.selector, proxy);
        if (!adminKnown || admin != proxyAdmin || !implementationKnown || actual != expected) {
            revert ProxyNotAsRecorded(proxy, expected, actual, admin);
        }
    }

    /// One address from a v4 ProxyAdmin getter; false when it fails or answers anything
    /// but one clean address word (an implementation's fallback may answer instead).
    function _askProxyAdmin(address proxyAdmin, bytes4 selector, address proxy)
        private
        view
        returns (bool ok, address answer)
    {
        bytes memory ret;
        (ok, ret) = proxyAdmin.staticcall(abi.encodeWithSelector(selector, proxy));
        if (!ok || ret.length != 32) return (false, address(0));
        uint256 word = abi.decode(ret, (uint256));
        if (word >> 160 != 0) return (false, address(0));
        return (true, address(uint160(word)));
    }

    /// See `adopt` for why this proves `proxyAdmin` is the admin of `proxy`.
    function _proveV5Admin(address proxy, address proxyAdmin) private {
        (bool ok, bytes memory ret) = proxyAdmin.call(
            abi.encodeCall(
                IUpgradeProxyAdmin.upgradeAndCall, (proxy, address(this), abi.encodeCall(this.adoptionProbe, ()))
            )
        );
        bytes memory expected = abi.encodeWithSelector(
            AdoptionProbe.selector, proxy, bytes32(uint256(uint160(proxyAdmin))), bytes32(uint256(uint160(address(this))))
        );
        if (ok || keccak256(ret) != keccak256(expected)) revert ProxyAdminMismatch(proxy, proxyAdmin, _probedAdmin(proxy, ret));
    }

    /// The admin an honest probe of `proxy` reported, for the error; zero when the
    /// answer was not a probe report from inside `proxy` after an upgrade to the switch.
    function _probedAdmin(address proxy, bytes memory ret) private view returns (address) {
        if (ret.length != 100 || bytes4(ret) != AdoptionProbe.selector) return address(0);
        bytes32 reportedProxy;
        bytes32 adminSlot;
        bytes32 implementationSlot;
        assembly ("memory-safe") {
            reportedProxy := mload(add(ret, 36))
            adminSlot := mload(add(ret, 68))
            implementationSlot := mload(add(ret, 100))
        }
        if (reportedProxy != bytes32(uint256(uint160(proxy)))) return address(0);
        if (implementationSlot != bytes32(uint256(uint160(address(this))))) return address(0);
        return address(uint160(uint256(adminSlot)));
    }

    /// Refuses an adopted `target`, and one already used as the ProxyAdmin of adopted proxies.
    function _checkNotAdopted(address target) private view {
        address recorded = _proxies[target].proxyAdmin;
        if (recorded != address(0)) revert AlreadyAdopted(target, recorded);
        if (_proxiesOf[target].length != 0) revert AlreadyAdopted(_proxiesOf[target][0], target);
    }

    /// `owner()` of `target`; false when it fails or answers anything but one clean address word.
    function _askOwner(address target) private view returns (bool ok, address owner) {
        bytes memory ret;
        (ok, ret) = target.staticcall(abi.encodeCall(IUUPSProxy.owner, ()));
        if (!ok || ret.length != 32) return (false, address(0));
        uint256 word = abi.decode(ret, (uint256));
        if (word >> 160 != 0) return (false, address(0));
        return (true, address(uint160(word)));
    }

    /// The switch must be `owner()` of a UUPS proxy or a beacon.
    function _checkOwner(address target) private view {
        (bool ok, address owner) = _askOwner(target);
        if (!ok) revert NotOwnable(target);
        if (owner != address(this)) revert NotUpgradeOwner(target, owner);
    }

    /// ERC-1822: a UUPS implementation answers `proxiableUUID()` with the ERC-1967 slot.
    function _checkUupsImplementation(address implementation) private view {
        (bool ok, bytes memory ret) = implementation.staticcall(abi.encodeCall(IUUPSProxy.proxiableUUID, ()));
        if (!ok || ret.length != 32 || abi.decode(ret, (bytes32)) != IMPLEMENTATION_SLOT) {
            revert NotUupsImplementation(implementation);
        }
    }

    /// `implementation()` of a beacon; false when it fails or answers anything but one clean address word.
    function _beaconImplementation(address beacon) private view returns (bool ok, address implementation) {
        bytes memory ret;
        (ok, ret) = beacon.staticcall(abi.encodeCall(IUpgradeableBeacon.implementation, ()));
        if (!ok || ret.length != 32) return (false, address(0));
        uint256 word = abi.decode(ret, (uint256));
        if (word >> 160 != 0) return (false, address(0));
        return (true, address(uint160(word)));
    }

    /// The beacon must answer exactly `expected`: an upgrade that did not take reverts.
    function _verifyBeacon(address beacon, address expected) private view {
        (, address actual) = _beaconImplementation(beacon);
        if (actual != expected) revert BeaconNotAsRecorded(beacon, expected, actual);
    }

    /// Code that stays what it is: present, and not an EIP-7702 delegation.
    function _checkLastingCode(address account) private view {
        if (account.code.length == 0) revert NotAContract(account);
        if (_isDelegation(account)) revert DelegatedCode(account);
    }

    /// True for an EIP-7702 delegated account, whose code reads as 0xef0100 ++ address.
    function _isDelegation(address account) private view returns (bool) {
        if (account.code.length != DELEGATION_LENGTH) return false;
        bytes32 head;
        assembly ("memory-safe") {
            let p := mload(0x40)
            extcodecopy(account, p, 0, 3)
            head := and(mload(p), shl(232, 0xffffff))
        }
        return bytes3(head) == DELEGATION_PREFIX;
    }

    function _checkOwnedProxyAdmin(address proxyAdmin) private view {
        if (proxyAdmin.code.length == 0) revert NotAContract(proxyAdmin);
        (bool ok, bytes memory ret) = proxyAdmin.staticcall(abi.encodeCall(IUpgradeProxyAdmin.owner, ()));
        if (!ok || ret.length != 32) revert NotAProxyAdmin(proxyAdmin);
        address owner = abi.decode(ret, (address));
        if (owner != address(this)) revert NotProxyAdminOwner(proxyAdmin, owner);
    }

    /// 5 when the ProxyAdmin answers UPGRADE_INTERFACE_VERSION "5.0.0", 4 when it has no such getter.
    function _adminVersion(address proxyAdmin) private view returns (uint8) {
        (bool ok, bytes memory ret) =
            proxyAdmin.staticcall(abi.encodeCall(IUpgradeProxyAdmin.UPGRADE_INTERFACE_VERSION, ()));
        if (!ok || ret.length == 0) return 4;
        string memory version = abi.decode(ret, (string));
        if (keccak256(bytes(version)) != V5_INTERFACE_VERSION) revert UnsupportedProxyAdmin(proxyAdmin, version);
        return 5;
    }

    /// A v4 proxy tells its admin the admin and implementation, so they are checked, not assumed.
    function _checkLegacyProxy(address proxy, address proxyAdmin, address stated) private view {
        (bool adminKnown, address actualAdmin) =
            _askProxyAdmin(proxyAdmin, IUpgradeProxyAdmin.getProxyAdmin.selector, proxy);
        if (!adminKnown || actualAdmin != proxyAdmin) revert ProxyAdminMismatch(proxy, proxyAdmin, actualAdmin);
        (, address actual) = _askProxyAdmin(proxyAdmin, IUpgradeProxyAdmin.getProxyImplementation.selector, proxy);
        if (actual != stated) revert ImplementationMismatch(proxy, stated, actual);
    }
}
