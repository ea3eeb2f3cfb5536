// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IBlueGreenSwitch} from "./interfaces/IBlueGreenSwitch.sol";
import {IUpgradeProxyAdmin} from "./interfaces/IUpgradeProxyAdmin.sol";

/// @title BlueGreenSwitch: atomic promote of green, timelocked rollback to exactly blue
/// @notice Owns the ProxyAdmins of OpenZeppelin TransparentUpgradeableProxy contracts
/// and is then their only upgrader.
///
/// - Forward is deliberate: the approver (a Safe, a timelock or a governor)
///   promotes a green whose code hash is pinned, over a blue it states, in one
///   transaction.
/// - Back is fast but narrow: during the rollback window, a guardian schedules a
///   rollback that anyone can execute after the delay. The approver can veto it
///   during the delay, or roll back at once. The target is always the recorded
///   blue, never anything else.
/// - After the window, `finalize` closes the rollback path.
/// - `release` hands a ProxyAdmin back, so no one is locked in.
///
/// @dev Proxy admins: OpenZeppelin v5 (`UPGRADE_INTERFACE_VERSION` "5.0.0", one
/// ProxyAdmin per proxy, only `upgradeAndCall`) and v4 (no version getter,
/// `upgrade` and `upgradeAndCall`, one ProxyAdmin possibly shared by several
/// proxies, implementation readable through `getProxyImplementation`). Any other
/// version string is refused. A v4 `upgradeAndCall` with empty data would call the
/// implementation's `receive`/`fallback`, so empty-data upgrades on v4 use `upgrade`.
///
/// Security: no delegatecall, not upgradeable, checks-effects-interactions in every
/// function, and every state-changing function is `nonReentrant` (transient storage,
/// EIP-1153) because `initData` runs arbitrary code in the proxy. Promote is not
/// payable: initializers that need ETH are not supported.
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

    /// @notice Seconds between scheduling a rollback and when anyone may execute it.
    uint64 public immutable rollbackDelay;
    /// @notice Seconds after a promote during which a rollback can be started.
    uint64 public immutable rollbackWindow;

    /// @notice The one account that adopts, promotes, vetoes and releases.
    address public approver;
    /// @notice The proposed next approver, until it accepts (zero: none).
    address public pendingApprover;

    EnumerableSet.AddressSet private _guardians;
    mapping(address proxy => ProxyState) private _proxies;
    /// Proxies adopted per ProxyAdmin (a v4 ProxyAdmin may serve several), forgotten on `release`.
    mapping(address proxyAdmin => address[]) private _proxiesOf;

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
    /// @dev A v5 proxy has no implementation getter, and storage of other contracts
    /// cannot be read on chain, so the stated implementation is not trusted: for a v5
    /// ProxyAdmin the switch upgrades the proxy to `currentImplementation` with empty
    /// data, which makes the tracked implementation true by construction, and shows
    /// that `proxyAdmin` can upgrade `proxy` (a non-admin's upgrade call falls through
    /// to the implementation, which normally has no `upgradeToAndCall`). When the
    /// statement was right this changes nothing; when it was wrong, the stated
    /// implementation is what the proxy runs afterwards, so the approver signs exactly
    /// that (`bg:adopt` reads it, and the admin, from the ERC-1967 slots). For a v4
    /// ProxyAdmin the proxy answers its admin and implementation to the ProxyAdmin, so
    /// both are checked instead and nothing is upgraded.
    function adopt(address proxy, address proxyAdmin, address currentImplementation_)
        external
        nonReentrant
        onlyApprover
    {
        if (proxy.code.length == 0) revert NotAContract(proxy);
        if (currentImplementation_.code.length == 0) revert NotAContract(currentImplementation_);
        ProxyState storage s = _proxies[proxy];
        if (s.proxyAdmin != address(0)) revert AlreadyAdopted(proxy, s.proxyAdmin);
        _checkOwnedProxyAdmin(proxyAdmin);
        uint8 version = _adminVersion(proxyAdmin);
        if (version == 4) _checkLegacyProxy(proxy, proxyAdmin, currentImplementation_);

        s.proxyAdmin = proxyAdmin;
        s.adminVersion = version;
        s.implementation = currentImplementation_;
        _proxiesOf[proxyAdmin].push(proxy);
        emit Adopted(proxy, proxyAdmin, currentImplementation_);

        if (version == 5) _upgrade(proxyAdmin, 5, proxy, currentImplementation_, "");
    }

    // -------------------------------------------------------------- promote

    /// @notice Switches `proxy` from blue to green in one transaction and opens the rollback window.
    /// @param proxy An adopted proxy whose previous release is closed (none, rolled back or finalized).
    /// @param green The new implementation.
    /// @param greenCodehash Green's EXTCODEHASH: exactly the staged and audited bytecode.
    /// @param expectedBlue The implementation the approver saw; must be the tracked one, so no other upgrade can race.
    /// @param initData Called on green through the proxy (upgradeAndCall); empty for none.
    /// @param evidenceHash Canonical hash of the evidence promoted on; not zero.
    function promote(
        address proxy,
        address green,
        bytes32 greenCodehash,
        address expectedBlue,
        bytes calldata initData,
        bytes32 evidenceHash
    ) external nonReentrant onlyApprover {
        ProxyState storage s = _proxies[proxy];
        _checkAndRecordPromotion(s, proxy, green, greenCodehash, expectedBlue, evidenceHash);
        _upgrade(s.proxyAdmin, s.adminVersion, proxy, green, initData);
    }

    /// @notice Promotes several proxies together: all switch, or none does.
    /// @dev All checks and records come first, then the upgrades in the given order, so
    /// one green's `initData` may rely on the greens before it already being live. A
    /// proxy listed twice fails its second check (its release is then open).
    function promoteBatch(Promotion[] calldata promotions) external nonReentrant onlyApprover {
        uint256 n = promotions.length;
        if (n == 0) revert EmptyBatch();
        for (uint256 i = 0; i < n; ++i) {
            Promotion calldata p = promotions[i];
            _checkAndRecordPromotion(_proxies[p.proxy], p.proxy, p.green, p.greenCodehash, p.expectedBlue, p.evidenceHash);
        }
        for (uint256 i = 0; i < n; ++i) {
            Promotion calldata p = promotions[i];
            ProxyState storage s = _proxies[p.proxy];
            _upgrade(s.proxyAdmin, s.adminVersion, p.proxy, p.green, p.initData);
        }
    }

    // ------------------------------------------------------------- rollback

    /// @notice Starts a rollback to blue, executable by anyone after the delay. Guardian or approver, inside the window.
    function scheduleRollback(address proxy) external nonReentrant {
        if (msg.sender != approver && !_guardians.contains(msg.sender)) revert NotGuardianOrApprover(msg.sender);
        ProxyState storage s = _adopted(proxy);
        if (s.status != Status.Live) revert ReleaseNotLive(proxy, s.status);
        if (block.timestamp >= s.windowEnd) revert RollbackWindowClosed(proxy, s.windowEnd);

        uint64 readyAt = uint64(block.timestamp) + rollbackDelay;
        s.rollbackReadyAt = readyAt;
        s.status = Status.RollbackScheduled;
        emit RollbackScheduled(proxy, msg.sender, readyAt);
    }

    /// @notice Vetoes a scheduled rollback while its delay runs. Approver only.
    function cancelRollback(address proxy) external nonReentrant onlyApprover {
        ProxyState storage s = _adopted(proxy);
        if (s.status != Status.RollbackScheduled) revert NoRollbackScheduled(proxy, s.status);
        if (block.timestamp >= s.rollbackReadyAt) revert RollbackAlreadyReady(proxy, s.rollbackReadyAt);

        s.rollbackReadyAt = 0;
        s.status = Status.Live;
        emit RollbackCancelled(proxy, msg.sender);
    }

    /// @notice Executes a scheduled rollback once ready: back to exactly the recorded blue. Anyone.
    /// @dev The status implies the proxy still runs that green: only the switch upgrades it,
    /// and any other upgrade through the switch needs the release closed first.
    function executeRollback(address proxy) external nonReentrant {
        ProxyState storage s = _adopted(proxy);
        if (s.status != Status.RollbackScheduled) revert NoRollbackScheduled(proxy, s.status);
        if (block.timestamp < s.rollbackReadyAt) revert RollbackNotReady(proxy, s.rollbackReadyAt);
        _rollBack(s, proxy, false);
    }

    /// @notice Rolls back to blue at once, skipping the delay. Approver only, inside the window.
    function rollbackNow(address proxy) external nonReentrant onlyApprover {
        ProxyState storage s = _adopted(proxy);
        if (s.status != Status.Live && s.status != Status.RollbackScheduled) revert ReleaseNotLive(proxy, s.status);
        if (block.timestamp >= s.windowEnd) revert RollbackWindowClosed(proxy, s.windowEnd);
        _rollBack(s, proxy, true);
    }

    /// @notice Closes the rollback path: green stays. Anyone after the window, the approver at any time.
    /// @dev Refused while a rollback is scheduled: it must be executed or vetoed first.
    function finalize(address proxy) external nonReentrant {
        ProxyState storage s = _adopted(proxy);
        if (s.status != Status.Live) revert ReleaseNotLive(proxy, s.status);
        if (msg.sender != approver && block.timestamp < s.windowEnd) revert WindowStillOpen(proxy, s.windowEnd);

        s.status = Status.Finalized;
        emit Finalized(proxy, s.green, msg.sender);
    }

    // -------------------------------------------------------------- release

    /// @notice Hands ownership of `proxyAdmin` to `newOwner` and forgets its proxies. Approver only.
    /// @dev Works for any ProxyAdmin the switch owns, adopted or not, at any time: the
    /// approver can always leave. Releasing during an open window drops its rollback path.
    function release(address proxyAdmin, address newOwner) external nonReentrant onlyApprover {
        if (newOwner == address(0) || newOwner == address(this)) revert InvalidNewOwner(newOwner);
        _checkOwnedProxyAdmin(proxyAdmin);

        address[] storage proxies = _proxiesOf[proxyAdmin];
        for (uint256 i = 0; i < proxies.length; ++i) {
            delete _proxies[proxies[i]];
        }
        delete _proxiesOf[proxyAdmin];
        emit Released(proxyAdmin, newOwner);

        IUpgradeProxyAdmin(proxyAdmin).transferOwnership(newOwner);
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

    /// @notice Removes a guardian. Approver only.
    function removeGuardian(address guardian) external nonReentrant onlyApprover {
        if (!_guardians.remove(guardian)) revert NotAGuardian(guardian);
        emit GuardianRemoved(guardian);
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

    /// @notice The adopted proxies upgraded through `proxyAdmin` (one for v5; possibly several for v4).
    function proxiesOf(address proxyAdmin) external view returns (address[] memory) {
        return _proxiesOf[proxyAdmin];
    }

    /// @notice True when `executeRollback(proxy)` would succeed now.
    function canExecuteRollback(address proxy) external view returns (bool) {
        ProxyState storage s = _proxies[proxy];
        return s.status == Status.RollbackScheduled && block.timestamp >= s.rollbackReadyAt;
    }

    // ------------------------------------------------------------- internal

    function _addGuardian(address guardian) private {
        if (guardian == address(0)) revert ZeroAddress();
        if (!_guardians.add(guardian)) revert GuardianAlreadyAdded(guardian);
        emit GuardianAdded(guardian);
    }

    function _adopted(address proxy) private view returns (ProxyState storage s) {
        s = _proxies[proxy];
        if (s.proxyAdmin == address(0)) revert NotAdopted(proxy);
    }

    /// Checks and effects of one promotion; the upgrade itself is the caller's interaction.
    function _checkAndRecordPromotion(
        ProxyState storage s,
        address proxy,
        address green,
        bytes32 greenCodehash,
        address expectedBlue,
        bytes32 evidenceHash
    ) private {
        if (s.proxyAdmin == address(0)) revert NotAdopted(proxy);
        if (s.status == Status.Live || s.status == Status.RollbackScheduled) revert ReleaseStillOpen(proxy, s.status);
        address blue = s.implementation;
        if (expectedBlue != blue) revert UnexpectedBlue(proxy, expectedBlue, blue);
        if (green == blue) revert GreenIsBlue(proxy, green);
        bytes32 actualCodehash = green.codehash;
        // A pinned hash of "no account" or "no code" would let a codeless green through.
        if (actualCodehash == bytes32(0) || actualCodehash == EMPTY_CODEHASH) revert NotAContract(green);
        if (actualCodehash != greenCodehash) revert CodehashMismatch(green, greenCodehash, actualCodehash);
        if (evidenceHash == bytes32(0)) revert EmptyEvidenceHash(proxy);

        uint64 now_ = uint64(block.timestamp);
        uint64 windowEnd = now_ + rollbackWindow;
        s.promotedAt = now_;
        s.status = Status.Live;
        s.implementation = green;
        s.windowEnd = windowEnd;
        s.blue = blue;
        s.rollbackReadyAt = 0;
        s.green = green;
        s.greenCodehash = greenCodehash;
        s.evidenceHash = evidenceHash;
        emit Promoted(proxy, blue, green, greenCodehash, evidenceHash, now_, windowEnd);
    }

    function _rollBack(ProxyState storage s, address proxy, bool immediate) private {
        address blue = s.blue;
        address green = s.implementation;
        s.implementation = blue;
        s.status = Status.RolledBack;
        emit RolledBack(proxy, green, blue, msg.sender, immediate);
        _upgrade(s.proxyAdmin, s.adminVersion, proxy, blue, "");
    }

    function _upgrade(address proxyAdmin, uint8 version, address proxy, address implementation, bytes memory data)
        private
    {
        if (version == 4 && data.length == 0) {
            IUpgradeProxyAdmin(proxyAdmin).upgrade(proxy, implementation);
        } else {
            IUpgradeProxyAdmin(proxyAdmin).upgradeAndCall(proxy, implementation, data);
        }
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
        address actualAdmin;
        try IUpgradeProxyAdmin(proxyAdmin).getProxyAdmin(proxy) returns (address a) {
            actualAdmin = a;
        } catch {
            revert ProxyAdminMismatch(proxy, proxyAdmin, address(0));
        }
        if (actualAdmin != proxyAdmin) revert ProxyAdminMismatch(proxy, proxyAdmin, actualAdmin);
        address actual = IUpgradeProxyAdmin(proxyAdmin).getProxyImplementation(proxy);
        if (actual != stated) revert ImplementationMismatch(proxy, stated, actual);
    }
}
