// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The blue-green release switch: types, events, errors and functions
/// @notice Tools, signers and monitors depend on these names and meanings; they are stable.
/// @dev Every state change emits an event, so the whole history of every proxy
/// can be rebuilt from logs alone (`bg:status`, monitors).
interface IBlueGreenSwitch {
    /// @notice Where the latest release of a proxy stands.
    /// @dev `None`: adopted (or unknown) with no release yet. `Live`: green runs and
    /// the rollback window is open. `RollbackScheduled`: a rollback to blue waits
    /// out the delay. `RolledBack`: blue runs again. `Finalized`: green stays,
    /// the rollback path is closed.
    enum Status {
        None,
        Live,
        RollbackScheduled,
        RolledBack,
        Finalized
    }

    /// @notice How the switch upgrades a proxy, and what authority it holds over it.
    /// @dev `TransparentV4`/`TransparentV5`: an OpenZeppelin TransparentUpgradeableProxy
    /// whose ProxyAdmin (v4 or v5) the switch owns. `UupsOwnable`/`UupsAccessControl`: an
    /// ERC-1822/ERC-1967 UUPS proxy (`UUPSUpgradeable`, OpenZeppelin v5 interface) whose
    /// `_authorizeUpgrade` accepts the switch as `owner()` or as a holder of an AccessControl
    /// role (see `upgraderRole`). `Beacon`: an OpenZeppelin `UpgradeableBeacon` the switch
    /// owns; the "proxy" is the beacon itself, upgraded once for all its BeaconProxy contracts.
    enum ProxyKind {
        None,
        TransparentV4,
        TransparentV5,
        UupsOwnable,
        UupsAccessControl,
        Beacon
    }

    /// @notice Which authority over a UUPS proxy the switch holds (argument of `adoptUups`).
    enum UupsAuthority {
        Ownable,
        AccessControl
    }

    /// @notice Everything the switch knows about one proxy.
    /// @dev Field order packs storage; see each field.
    struct ProxyState {
        /// The contract on which the switch holds the upgrade authority; zero: not adopted.
        /// Transparent: the ProxyAdmin (owned by the switch). UUPS: the proxy itself (its
        /// owner or role). Beacon: the beacon itself (which is also the "proxy").
        /// It is what `release` takes.
        address proxyAdmin;
        /// When the latest promote happened (0 before the first promote).
        uint64 promotedAt;
        /// 5 for an OpenZeppelin v5 ProxyAdmin, 4 for a v4 one; 0 for UUPS and beacons.
        uint8 adminVersion;
        /// State of the latest release.
        Status status;
        /// How the proxy is upgraded (see `ProxyKind`).
        ProxyKind kind;
        /// The implementation the proxy runs now, as tracked by the switch.
        address implementation;
        /// End of the rollback window of the latest release (exclusive).
        uint64 windowEnd;
        /// Blue: the implementation before the latest promote, the only rollback target.
        address blue;
        /// When a scheduled rollback becomes executable (0 if none was scheduled).
        uint64 rollbackReadyAt;
        /// Green: the implementation installed by the latest promote.
        address green;
        /// Id of the latest release (see `releaseCount`); proxies promoted by one
        /// `promoteBatch` share it and are rolled back and finalized together.
        uint64 releaseId;
        /// EXTCODEHASH of green, as checked at promote.
        bytes32 greenCodehash;
        /// Hash of the evidence (gates, reports) the approver promoted on.
        bytes32 evidenceHash;
        /// Who scheduled the pending rollback (zero when none is scheduled).
        address rollbackScheduledBy;
    }

    /// @notice One proxy's part of a batch promote; same meaning as `promote`'s arguments.
    struct Promotion {
        address proxy;
        address green;
        bytes32 greenCodehash;
        address expectedBlue;
        bytes initData;
        bytes32 evidenceHash;
    }

    /// @notice One canary step of one proxy (argument of `promoteCanary`).
    /// @dev The switch deploys the step's `CanaryRouter` itself (CREATE2, see
    /// `canaryRouterFor`), so the router's immutables are these arguments by construction.
    struct CanaryStep {
        /// An adopted transparent proxy or beacon (not UUPS, see `promoteCanary`).
        address proxy;
        /// Green; the same at every step of one canary.
        address green;
        /// EXTCODEHASH of green (the staged code); the same at every step.
        bytes32 greenCodehash;
        /// Blue as the approver saw it: the tracked implementation at the first step,
        /// the canary's blue after it.
        address expectedBlue;
        /// Share of callers routed to green, in basis points; strictly increasing from
        /// step to step; 10000 ends the canary on green itself.
        uint16 bps;
        /// Cohort salt; the same at every step, so a caller on green stays on green.
        bytes32 salt;
        /// Cohort by `tx.origin` (true) or by `msg.sender` (false); the same at every step.
        bool cohortByOrigin;
        /// EXTCODEHASH the step's router must have (ignored at 10000: no router).
        bytes32 routerCodehash;
        /// Canonical hash of the evidence promoted on; not zero.
        bytes32 evidenceHash;
    }

    /// @notice The canary step a proxy is in (all zero when it is not in one).
    struct CanaryState {
        address router;
        uint16 bps;
        bool cohortByOrigin;
        bytes32 salt;
        bytes32 routerCodehash;
    }

    // ---------------------------------------------------------------- events

    /// @notice The switch was deployed with these fixed timings.
    event Configured(uint64 rollbackDelay, uint64 rollbackWindow);
    /// @notice `proxy` is now upgraded only through the switch; it runs `implementation`.
    /// `adminVersion` is the OpenZeppelin major version of its ProxyAdmin (4 or 5); 0 for a
    /// UUPS proxy or a beacon, whose `proxyAdmin` is the proxy (the beacon) itself. The
    /// kind follows in `AdoptedKind`.
    event Adopted(address indexed proxy, address indexed proxyAdmin, address implementation, uint8 adminVersion);
    /// @notice `proxy` is adopted as a proxy of `kind`; for `UupsAccessControl`, `role` is the
    /// AccessControl role the switch holds on it (zero for every other kind). Emitted right
    /// after `Adopted`, for every kind. For `Beacon`, `proxy` is the beacon.
    event AdoptedKind(address indexed proxy, ProxyKind kind, bytes32 role);
    /// @notice `release` of a UUPS `proxy` forgot it but handed nothing to `newOwner` (zero for
    /// AccessControl): `held` false when the switch no longer held the authority (its owner
    /// was changed, or its role revoked, by code other than the switch, e.g. a green); `held`
    /// true when the proxy's code reverted the hand-back (`transferOwnership`/`renounceRole`),
    /// so the switch may still hold it, untracked. Logged instead of `Released`.
    event AuthorityNotHandedBack(address indexed proxy, address indexed newOwner, bool held);
    /// @notice `proxy` switched from blue to green; the rollback window runs until `windowEnd`.
    /// `initDataHash` is keccak256 of the call run on green (keccak256("") for none), so a
    /// signer can prove which initializer ran. Proxies of one `promoteBatch` share
    /// `releaseId`, and move back or become final together.
    event Promoted(
        address indexed proxy,
        address indexed blue,
        address indexed green,
        bytes32 greenCodehash,
        bytes32 evidenceHash,
        uint64 promotedAt,
        uint64 windowEnd,
        bytes32 initDataHash,
        uint64 releaseId
    );
    /// @notice `proxy` now runs `router`, which sends `bps` of callers (by cohort) to green
    /// and the rest to blue; the rollback window of this step runs until `windowEnd`.
    /// The first step of a canary opens the release like any promote, so it logs `Promoted`
    /// (blue, green, code hash, evidence) first and then this event; later steps log only
    /// this event; the step ending the canary on green itself logs only `Promoted`. While
    /// a step is live, `proxyState(proxy).implementation` is the router.
    event CanaryStepPromoted(
        address indexed proxy,
        address indexed blue,
        address indexed green,
        address router,
        bytes32 routerCodehash,
        uint16 bps,
        bytes32 salt,
        bool cohortByOrigin,
        bytes32 evidenceHash,
        uint64 windowEnd,
        uint64 releaseId
    );
    /// @notice A rollback of `proxy` to blue becomes executable at `readyAt`.
    event RollbackScheduled(address indexed proxy, address indexed by, uint64 readyAt);
    /// @notice The scheduled rollback of `proxy` was dropped: vetoed by a canceller or the
    /// approver, or dropped because its guardian was removed or its ProxyAdmin released.
    event RollbackCancelled(address indexed proxy, address indexed by);
    /// @notice `proxy` went back from green (`from`) to blue (`to`); `immediate` when the approver skipped the delay.
    event RolledBack(address indexed proxy, address indexed from, address indexed to, address by, bool immediate);
    /// @notice The release of `proxy` is final: green stays, the rollback path is closed.
    event Finalized(address indexed proxy, address indexed green, address by);
    /// @notice Ownership of `proxyAdmin` was handed to `newOwner`; its proxies are no longer tracked.
    /// For a UUPS AccessControl proxy, `newOwner` is zero: the switch renounced its role.
    event Released(address indexed proxyAdmin, address indexed newOwner);
    /// @notice `proxy` is no longer tracked because its ProxyAdmin was released;
    /// `status` is where its latest release stood (a scheduled rollback is cancelled first).
    event ProxyReleased(address indexed proxy, address indexed proxyAdmin, address indexed newOwner, Status status);
    /// @notice The approver proposed `proposed` as its successor (zero: proposal withdrawn).
    event ApproverProposed(address indexed current, address indexed proposed);
    /// @notice The approver changed (from zero at deployment).
    event ApproverChanged(address indexed previous, address indexed current);
    event GuardianAdded(address indexed guardian);
    event GuardianRemoved(address indexed guardian);
    event CancellerAdded(address indexed canceller);
    event CancellerRemoved(address indexed canceller);

    // ---------------------------------------------------------------- errors

    error NotApprover(address caller);
    error NotPendingApprover(address caller);
    error NotGuardianOrApprover(address caller);
    error ZeroAddress();
    error InvalidRollbackDelay(uint256 delay, uint256 min, uint256 max);
    error InvalidRollbackWindow(uint256 window, uint256 min, uint256 max);
    error DelayNotShorterThanWindow(uint256 delay, uint256 window);
    error GuardianAlreadyAdded(address guardian);
    error NotAGuardian(address account);
    error NotAContract(address account);
    error NotAProxyAdmin(address proxyAdmin);
    error UnsupportedProxyAdmin(address proxyAdmin, string version);
    error NotProxyAdminOwner(address proxyAdmin, address owner);
    error ProxyAdminMismatch(address proxy, address stated, address actual);
    error ImplementationMismatch(address proxy, address stated, address actual);
    error AlreadyAdopted(address proxy, address proxyAdmin);
    error NotAdopted(address proxy);
    error ReleaseStillOpen(address proxy, Status status);
    error UnexpectedBlue(address proxy, address expected, address actual);
    error CodehashMismatch(address green, bytes32 expected, bytes32 actual);
    error GreenIsBlue(address proxy, address green);
    error EmptyEvidenceHash(address proxy);
    error EmptyBatch();
    error ReleaseNotLive(address proxy, Status status);
    error NoRollbackScheduled(address proxy, Status status);
    error RollbackWindowClosed(address proxy, uint64 windowEnd);
    error RollbackNotReady(address proxy, uint64 readyAt);
    error RollbackAlreadyReady(address proxy, uint64 readyAt);
    error WindowStillOpen(address proxy, uint64 windowEnd);
    error InvalidNewOwner(address newOwner);
    error NotCancellerOrApprover(address caller);
    error CancellerAlreadyAdded(address canceller);
    error NotACanceller(address account);
    /// The account's code is an EIP-7702 delegation (0xef0100 ++ address): whoever holds
    /// its key can change what it runs, so it can be neither green nor blue.
    error DelegatedCode(address account);
    /// The v4 ProxyAdmin's getters do not show the proxy running `expected` under that
    /// ProxyAdmin, before a promote or after an upgrade or rollback (zero where a getter
    /// gave no answer): something other than the switch moved its slots.
    error ProxyNotAsRecorded(address proxy, address expected, address actualImplementation, address actualAdmin);
    /// A guardian may schedule one rollback per release; the approver is not limited.
    error AlreadyScheduledInRelease(address proxy, address guardian, uint64 releaseId);
    /// `adoptUups`: the account does not answer `owner()` (Ownable) or `hasRole` (AccessControl) as expected.
    error NotOwnable(address account);
    error NotAccessControl(address account);
    /// `adoptUups`/`adoptBeacon`: the switch is not `owner()` of the UUPS proxy or the beacon.
    error NotUpgradeOwner(address target, address owner);
    /// `adoptUups` (AccessControl): the switch does not hold `role` on the proxy.
    error UpgraderRoleNotGranted(address proxy, bytes32 role);
    /// `adoptUups` (Ownable): a role was given with the Ownable authority, which has none.
    error RoleWithOwnable(address proxy, bytes32 role);
    /// The implementation's `proxiableUUID()` is not the ERC-1967 implementation slot (or it
    /// has none): a UUPS proxy upgraded to it could not be upgraded again.
    error NotUupsImplementation(address implementation);
    /// `adoptBeacon`: the account does not answer `implementation()` with one address.
    error NotABeacon(address account);
    /// After an upgrade or rollback, or before a promote, the beacon's `implementation()`
    /// is not what the switch recorded (zero where it gave no answer).
    error BeaconNotAsRecorded(address beacon, address expected, address actual);
    /// `promote` of a beacon with `initData`: a beacon upgrade cannot call an initializer.
    error BeaconTakesNoInitData(address beacon);
    /// `release` of a UUPS AccessControl proxy with a new owner: the switch only renounces
    /// its role, it grants it to no one; pass address(0).
    error RenounceTakesNoNewOwner(address proxy, address newOwner);
    /// `promoteCanary`: a UUPS proxy's upgrade function would run behind the router, by
    /// the upgrader's cohort, and OpenZeppelin's `onlyProxy` refuses it there: no way back.
    error CanaryNotSupported(address proxy, ProxyKind kind);
    /// `promoteCanary`: bps must be above the current step (above 0 at the first step, and
    /// the first step below 10000), at most 10000.
    error CanaryStepOutOfOrder(address proxy, uint16 currentBps, uint16 bps);
    /// `promoteCanary`: a later step changed green, its code hash, the salt or the cohort mode.
    error CanaryStepMismatch(address proxy);
    /// `promoteCanary`: the step's router does not have the pinned code hash.
    error RouterCodehashMismatch(address router, bytes32 expected, bytes32 actual);
    /// `finalize` during a canary step: a canary ends on green (bps 10000) or on blue.
    error CanaryStepOpen(address proxy, uint16 bps);
    /// Revert data of `adoptionProbe`: the ERC-1967 slots as the proxy itself sees them.
    error AdoptionProbe(address proxy, bytes32 adminSlot, bytes32 implementationSlot);

    // ------------------------------------------------------------- functions

    function adopt(address proxy, address proxyAdmin, address currentImplementation) external;

    function adoptUups(address proxy, address currentImplementation, UupsAuthority authority, bytes32 role) external;

    function adoptBeacon(address beacon, address currentImplementation) external;

    function promote(
        address proxy,
        address green,
        bytes32 greenCodehash,
        address expectedBlue,
        bytes calldata initData,
        bytes32 evidenceHash
    ) external;

    function promoteBatch(Promotion[] calldata promotions) external;

    function promoteCanary(CanaryStep calldata step) external;

    function scheduleRollback(address proxy) external;

    function cancelRollback(address proxy) external;

    function executeRollback(address proxy) external;

    function rollbackNow(address proxy) external;

    function finalize(address proxy) external;

    function release(address proxyAdmin, address newOwner) external;

    function proposeApprover(address newApprover) external;

    function acceptApprover() external;

    function addGuardian(address guardian) external;

    function removeGuardian(address guardian) external;

    function addCanceller(address canceller) external;

    function removeCanceller(address canceller) external;

    function adoptionProbe() external view;

    // ----------------------------------------------------------------- views

    function approver() external view returns (address);

    function pendingApprover() external view returns (address);

    function rollbackDelay() external view returns (uint64);

    function rollbackWindow() external view returns (uint64);

    function isGuardian(address account) external view returns (bool);

    function guardians() external view returns (address[] memory);

    function isAdopted(address proxy) external view returns (bool);

    function proxyState(address proxy) external view returns (ProxyState memory);

    function currentImplementation(address proxy) external view returns (address);

    function previousImplementation(address proxy) external view returns (address);

    function proxyKind(address proxy) external view returns (ProxyKind);

    function upgraderRole(address proxy) external view returns (bytes32);

    function proxiesOf(address proxyAdmin) external view returns (address[] memory);

    function canExecuteRollback(address proxy) external view returns (bool);

    function canaryState(address proxy) external view returns (CanaryState memory);

    function canaryRouterFor(address blue, address green, uint16 bps, bytes32 salt, bool cohortByOrigin)
        external
        view
        returns (address);

    function isCanceller(address account) external view returns (bool);

    function cancellers() external view returns (address[] memory);

    function releaseCount() external view returns (uint64);

    function releaseProxies(address proxy) external view returns (address[] memory);

    function hasScheduled(uint64 releaseId, address guardian) external view returns (bool);
}
