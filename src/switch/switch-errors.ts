/**
 * What each of the switch's custom errors means for a person, and what to do
 * about it. Used wherever a switch call fails (adopt, promote, rollback).
 */
import type { SwitchRevert } from "./read-switch.js";

const HINTS: Record<string, string> = {
  NotApprover: "Only the switch's approver may do this. Send it from the approver (through its Safe if it is one).",
  NotPendingApprover: "Only the proposed approver can accept. Send acceptApprover() from the address the approver proposed.",
  NotGuardianOrApprover: "Only a guardian or the approver may schedule a rollback. Ask the approver to add the account with addGuardian.",
  ZeroAddress: "An address argument is zero. Pass a real address.",
  InvalidRollbackDelay: "The rollback delay is out of bounds (args: delay, min, max in seconds).",
  InvalidRollbackWindow: "The rollback window is out of bounds (args: window, min, max in seconds).",
  DelayNotShorterThanWindow: "The rollback delay must be shorter than the rollback window.",
  GuardianAlreadyAdded: "That account is already a guardian.",
  NotAGuardian: "That account is not a guardian.",
  NotAContract:
    "The address has no code. Check it, and that you are on the right network. If it is the proxy's blue, which lost its code, release the ProxyAdmin and adopt the proxy again with an implementation that has code.",
  NotAProxyAdmin: "That address does not answer owner(): it is not an OpenZeppelin ProxyAdmin.",
  UnsupportedProxyAdmin: "The ProxyAdmin reports an upgrade interface version the switch does not know (it supports OpenZeppelin v4 and v5).",
  NotProxyAdminOwner: "The switch does not own this ProxyAdmin yet. Its current owner must call transferOwnership(switch) first.",
  ProxyAdminMismatch:
    "That ProxyAdmin is not proven to be the admin of the proxy (args: proxy, stated, admin found; zero when the proxy did not run the switch's probe upgrade). Read the proxy's ERC-1967 admin slot and pass that address.",
  ImplementationMismatch:
    "The stated implementation is not what the proxy runs. Read the ERC-1967 implementation slot (for a beacon, its implementation()) and pass that address.",
  AlreadyAdopted: "The switch already manages this proxy.",
  NotAdopted: "The switch does not manage this proxy. Adopt it first: npx hardhat bg:adopt --proxy <address>.",
  ReleaseStillOpen: "The proxy's latest release still has an open rollback window. Finalize it (or roll it back) before promoting another.",
  UnexpectedBlue: "The proxy no longer runs the blue this promote expected (someone else upgraded it). Re-stage the release from the current implementation.",
  CodehashMismatch: "Green's on-chain code is not the staged bytecode. Check the green address and re-stage if green was redeployed.",
  GreenIsBlue: "Green is the implementation the proxy already runs.",
  EmptyEvidenceHash: "The evidence hash is zero. Run the gates, which compute it.",
  EmptyBatch: "The batch promote lists no proxies.",
  ReleaseNotLive: "The release is not live (no open window, or a rollback is already scheduled).",
  NoRollbackScheduled: "No rollback is scheduled for this proxy.",
  RollbackWindowClosed: "The rollback window of this release has ended: it can only be finalized now.",
  RollbackNotReady: "The rollback's delay has not passed yet (arg: time it becomes executable).",
  RollbackAlreadyReady: "The rollback's delay is over: a canceller can no longer veto it. It can be executed, or the approver can still cancel it.",
  WindowStillOpen: "The rollback window is still open; only the approver can finalize before it ends.",
  InvalidNewOwner: "Pass a real new owner for the ProxyAdmin, the UUPS proxy or the beacon (not zero, not the switch).",
  NotCancellerOrApprover: "Only a canceller or the approver may cancel a scheduled rollback. Ask the approver to add the account with addCanceller.",
  CancellerAlreadyAdded: "That account is already a canceller.",
  NotACanceller: "That account is not a canceller.",
  DelegatedCode:
    "The address is an EIP-7702 delegated account (code 0xef0100 + address): its key holder can change what it runs, so it can be neither green nor blue. Deploy the implementation as a contract and use that address.",
  ProxyNotAsRecorded:
    "The v4 proxy does not run what the switch recorded under its ProxyAdmin (args: proxy, expected, actual implementation, actual admin): code other than the switch wrote its ERC-1967 slots. Nothing was changed. Inspect the proxy with bg:status; if it is hijacked, release the ProxyAdmin and repair it by hand.",
  AlreadyScheduledInRelease:
    "This guardian already scheduled a rollback of this release once (a guardian gets one per release). Ask another guardian, or the approver, to schedule it.",
  NotOwnable: "The contract does not answer owner(): it cannot be adopted with the Ownable authority (for a UUPS proxy with AccessControl, adopt it with the AccessControl authority and its upgrader role).",
  NotAccessControl: "The proxy does not answer hasRole(role, account): it is not AccessControl. Adopt it with the Ownable authority if its upgrades are authorized by owner().",
  NotUpgradeOwner:
    "The switch is not the owner of this UUPS proxy or beacon yet (args: contract, current owner). Its current owner must call transferOwnership(switch) first (an Ownable2Step owner cannot be handed to the switch).",
  UpgraderRoleNotGranted:
    "The switch does not hold this role on the proxy (args: proxy, role). An admin of the role (typically DEFAULT_ADMIN_ROLE) must call grantRole(role, switch) first; use the role the proxy's _authorizeUpgrade checks.",
  RoleWithOwnable: "A role was given with the Ownable authority, which takes none. Pass a zero role, or adopt with the AccessControl authority.",
  NotUupsImplementation:
    "The implementation does not answer proxiableUUID() with the ERC-1967 implementation slot: it is not a UUPS implementation, and a UUPS proxy upgraded to it could never be upgraded (nor rolled back) again. Deploy a UUPSUpgradeable implementation.",
  NotABeacon: "The contract does not answer implementation() like an OpenZeppelin UpgradeableBeacon. Pass the beacon's address (not a BeaconProxy's).",
  BeaconNotAsRecorded:
    "The beacon's implementation() is not what the switch recorded (args: beacon, expected, actual), before a promote or after an upgrade or rollback. Nothing was changed. Inspect the beacon with bg:status.",
  BeaconTakesNoInitData:
    "A beacon upgrade cannot call an initializer (it would have to run in every BeaconProxy). Promote with empty init data, and migrate each proxy's state separately.",
  RenounceTakesNoNewOwner:
    "The switch holds an AccessControl role on this UUPS proxy: release only renounces it and hands it to no one. Pass the zero address as new owner; the role's admin (typically DEFAULT_ADMIN_ROLE) grants it anew.",
  CanaryNotSupported:
    "A canary needs a transparent proxy or a beacon (args: proxy, kind). A UUPS proxy's upgrade function lives in its implementation: behind the router it would run by the upgrader's cohort, and OpenZeppelin's onlyProxy check refuses it there, so the proxy could never leave the router. Promote the UUPS proxy without a canary.",
  CanaryStepOutOfOrder:
    "Canary steps only go forward (args: proxy, current share, asked share, in basis points): the first step must be between 1 and 9999, each next one larger than the current step, 10000 ending on green. Check blueGreen.canary.steps and bg:status.",
  CanaryStepMismatch:
    "A later canary step must keep the canary's green, its code hash, the salt and the cohort mode. Propose the step again from the same release and config (npx hardhat bg:propose --step <name>).",
  RouterCodehashMismatch:
    "The step's router does not have the pinned code hash (args: router, expected, actual): the proposal was made for another router build or other immutables. Propose the step again with this version of hardhat-bluegreen.",
  CanaryStepOpen:
    "The proxy is in a canary step (args: proxy, share in basis points), which cannot be finalized: a proxy must not stay on a router. Promote the last step (--step to green) or roll back to blue.",
  AdoptionProbe: "This is the adoption probe's report; it is only ever expected inside adopt.",
  ReentrancyGuardReentrantCall: "A call reentered the switch (for example green's initializer); the switch refuses that.",
};

/** True for the switch's own errors, the ones explained here (not a reason string, nor another contract's error). */
export function isExplainedSwitchRevert(revert: SwitchRevert): boolean {
  return Object.hasOwn(HINTS, revert.name);
}

/** One sentence for a person: the decoded error and what to do about it. */
export function explainSwitchRevert(revert: SwitchRevert): string {
  const hint = HINTS[revert.name];
  return hint === undefined ? `The switch reverted with ${revert.signature}.` : `The switch reverted with ${revert.signature}. ${hint}`;
}
