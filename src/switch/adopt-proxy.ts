/**
 * Moves a TransparentUpgradeableProxy under the switch, in two steps:
 *
 * 1. the ProxyAdmin's owner transfers ownership of the ProxyAdmin to the switch;
 * 2. the switch's approver calls `adopt(proxy, proxyAdmin, implementation)`.
 *
 * (UUPS proxies and beacons alike, see `adoptOtherKind`.) Before step 1, the
 * switch's approver must be one the plugin can drive (./approver-check.ts):
 * otherwise nothing is sent, and the proxy keeps its owner.
 *
 * Each step is sent from a local account when the acting address is one;
 * otherwise it is returned as a call that address must make (to, data,
 * description), and the result is not ok. Re-running after the missing call
 * was made picks up where it stopped.
 */
import { rm } from "node:fs/promises";
import path from "node:path";

import { Contract, type Provider, type Signer, ZeroHash, getAddress, id as keccakText, isHexString } from "ethers";
import { z } from "zod";

import { type SendJournal, type SendOnceOptions, sendJournalSchema, sendOnce, withSenderLock } from "../chain/send-once.js";
import { addressSchema } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";
import type { Eip1193Provider } from "../chain/eip1193.js";
import type { ReleaseStore } from "../release/store.js";
import { readReleaseTarget, readTransparentProxy, type ReleaseTarget } from "../stage/read-proxy.js";
import { checkAdoptApprover } from "./approver-check.js";
import { decodeSwitchRevert, isSwitchAt, readProxyRelease, switchContract } from "./read-switch.js";
import { explainSwitchRevert } from "./switch-errors.js";

/** The part of OpenZeppelin's ProxyAdmin (v4 and v5) adoption needs. */
export const PROXY_ADMIN_ABI = [
  "function owner() view returns (address)",
  "function transferOwnership(address newOwner)",
  "function UPGRADE_INTERFACE_VERSION() view returns (string)",
] as const;

/** A call someone else has to make, ready to sign (e.g. in a Safe's transaction builder). */
export interface PendingCall {
  role: "proxy-admin-owner" | "approver" | "upgrade-owner" | "role-admin";
  /** Who must send it. */
  from: string;
  to: string;
  value: "0";
  data: string;
  description: string;
}

export interface AdoptProxyOptions {
  /** EIP-1193 provider, for the proxy's ERC-1967 slots. */
  provider: Eip1193Provider;
  /** The same connection through ethers, for calls. */
  ethersProvider: Provider;
  /** The network's local accounts; whichever of them holds a role acts. */
  signers: Signer[];
  switchAddress: string;
  proxy: string;
  networkName: string;
  log?: (line: string) => void;
  /**
   * Where to journal the sends (the chain's records): with it, each step is
   * journaled before it is broadcast and a re-run resumes it at its nonce,
   * and sends from one account are serialized with other runs.
   */
  journal?: { store: ReleaseStore; chainId: number };
  /** Called right after a step is broadcast (tests use it to simulate a crash). */
  afterBroadcast?: (hash: string) => void | Promise<void>;
  sending?: Pick<SendOnceOptions, "speedUpAfterMs" | "giveUpAfterMs" | "pollMs" | "maxSpeedUps">;
  /** UUPS AccessControl: the upgrader role, as bytes32 or a name hashed with keccak256 (default UPGRADER_ROLE). */
  role?: string;
}

/** `.bluegreen/<chainId>/pending-adopt-<proxy>.json`: the adoption step in flight, written before it is broadcast. */
export function adoptJournalName(proxy: string): string {
  return `pending-adopt-${proxy.toLowerCase()}.json`;
}

export const adoptJournalSchema = z
  .object({
    proxy: addressSchema,
    step: z.enum(["transfer-ownership", "adopt"]),
    send: sendJournalSchema,
  })
  .strict();

export interface AdoptResult {
  ok: boolean;
  proxy: string;
  proxyAdmin: string;
  switch: string;
  implementation: string;
  /** OpenZeppelin major version of the ProxyAdmin: 5, or 4 for a legacy one. */
  adminVersion: 4 | 5;
  /** True when the switch already managed the proxy and nothing was sent. */
  alreadyAdopted: boolean;
  ownershipTransferTx?: string;
  adoptTx?: string;
  /** Calls still to be made, in order, when a role is not a local account. */
  pending: PendingCall[];
  /** Why the result is not ok (absent when ok). */
  error?: string;
  /** Once adopted: what changes for OpenZeppelin's and Ignition's upgrade commands, and how to hand the admin back. */
  afterAdoption?: string;
  /** The proxy kind; absent means transparent (results from before kinds). For a beacon, `proxy` is the beacon. */
  kind?: "transparent" | "uups-ownable" | "uups-access-control" | "beacon";
  /** UUPS AccessControl: the role the switch holds. */
  role?: string;
  /** The beacon proxy --proxy named, when it led to its beacon. */
  viaBeaconProxy?: string;
  /** The switch call the approver makes, for the approval path (a Safe approver). */
  adoptCall?: { function: "adopt" | "adoptUups" | "adoptBeacon"; args: unknown[] };
  /** Who can still change the proxy's upgrades besides the switch, once adopted. */
  remainsElsewhere?: string;
}

/** The custom error a v5 ProxyAdmin reverts with when anyone but its owner (now the switch) upgrades: `OwnableUnauthorizedAccount(address)`. */
export const OWNABLE_UNAUTHORIZED_SELECTOR = "0x118cdaa7";

/**
 * Teams keep `upgrades.upgradeProxy` and Ignition's `upgradeAndCall` in their
 * scripts; once the switch owns the ProxyAdmin those revert with a bare
 * `OwnableUnauthorizedAccount(<your account>)`, which names no cause. This is
 * said once, at adoption, where the cause is made.
 */
export function explainSwitchOwnedAdmin(result: Pick<AdoptResult, "proxy" | "proxyAdmin" | "switch">, networkName: string): string {
  return (
    `From now on the switch ${result.switch} owns the ProxyAdmin ${result.proxyAdmin}: upgrades of ${result.proxy} go through bg:* ` +
    "(bg:stage, bg:propose, bg:approve, bg:switch). OpenZeppelin's upgrades.upgradeProxy and Ignition's upgradeAndCall will revert with " +
    `OwnableUnauthorizedAccount(<your account>) (selector ${OWNABLE_UNAUTHORIZED_SELECTOR}), because your account no longer owns the ProxyAdmin. ` +
    "OpenZeppelin's validateUpgrade and prepareUpgrade keep working: bg:stage records green in OpenZeppelin's manifest. " +
    `To upgrade with those tools again, hand the ProxyAdmin back: the approver calls release(proxyAdmin, newOwner), e.g. ` +
    `\`npx hardhat bg:call propose --network ${networkName} --function release --args '["${result.proxyAdmin}","<new owner>"]'\`.`
  );
}

export async function adoptProxy(options: AdoptProxyOptions): Promise<AdoptResult> {
  const log = options.log ?? (() => {});
  const { ethersProvider, networkName } = options;
  const switchAddress = getAddress(options.switchAddress);
  const proxy = getAddress(options.proxy);

  if (!(await isSwitchAt(ethersProvider, switchAddress))) {
    throw new BlueGreenError(
      "BG_SWITCH_NOT_A_SWITCH",
      `${switchAddress} on network "${networkName}" is not a BlueGreenSwitch. Check .bluegreen/<chainId>/switch.json, or deploy one with bg:init.`,
    );
  }
  // Before anything moves: a proxy handed to a switch whose approver the plugin cannot drive would be locked for good.
  const approverAddress = getAddress((await (await switchContract(switchAddress, ethersProvider)).getFunction("approver")()) as string);
  await checkAdoptApprover(ethersProvider, switchAddress, approverAddress, proxy);
  // A step a run sent before it died is finished first (waited for, or re-broadcast at its nonce); the chain then says what is left.
  const resumedTx = await resumeAdoptJournal(options, proxy);
  const target = await readReleaseTarget(options.provider, proxy, networkName);
  if (target.kind !== "transparent") return adoptOtherKind(options, target, switchAddress, resumedTx);
  const onChain = await readTransparentProxy(options.provider, proxy, networkName);
  const proxyAdmin = getAddress(onChain.admin);
  const implementation = getAddress(onChain.implementation);
  const admin = new Contract(proxyAdmin, PROXY_ADMIN_ABI, ethersProvider);
  const adminVersion = await proxyAdminVersion(admin);
  const base = { proxy, proxyAdmin, switch: switchAddress, implementation, adminVersion, adoptCall: { function: "adopt" as const, args: [proxy, proxyAdmin, implementation] } };

  const sw = await switchContract(switchAddress, ethersProvider);
  const tracked = await readProxyRelease(ethersProvider, switchAddress, proxy);
  if (tracked.adopted) {
    if (getAddress(tracked.proxyAdmin) !== proxyAdmin || getAddress(tracked.implementation) !== implementation) {
      throw new BlueGreenError(
        "BG_SWITCH_PROXY_DRIFT",
        `The switch tracks ${proxy} with ProxyAdmin ${tracked.proxyAdmin} and implementation ${tracked.implementation}, ` +
          `but the proxy's ERC-1967 slots say ${proxyAdmin} and ${implementation}. The proxy was changed outside the switch; ` +
          "have the approver release its ProxyAdmin and adopt it again.",
      );
    }
    log(`${proxy} is already adopted by the switch at ${switchAddress}.`);
    return {
      ok: true,
      ...base,
      alreadyAdopted: resumedTx?.step !== "adopt",
      ...(resumedTx?.step === "adopt" ? { adoptTx: resumedTx.hash } : {}),
      pending: [],
      afterAdoption: explainSwitchOwnedAdmin(base, networkName),
    };
  }

  const locals = new Map<string, Signer>();
  for (const signer of options.signers) locals.set((await signer.getAddress()).toLowerCase(), signer);
  const pending: PendingCall[] = [];
  const result: AdoptResult = {
    ok: false,
    ...base,
    alreadyAdopted: false,
    pending,
    ...(resumedTx?.step === "transfer-ownership" ? { ownershipTransferTx: resumedTx.hash } : {}),
  };

  // Step 1: the switch must own the ProxyAdmin.
  const owner = await readOwner(admin, proxyAdmin, proxy);
  if (owner !== switchAddress) {
    const ownerSigner = locals.get(owner.toLowerCase());
    if (ownerSigner !== undefined) {
      log(`Transferring ownership of ProxyAdmin ${proxyAdmin} from ${owner} to the switch ${switchAddress}...`);
      const data = admin.interface.encodeFunctionData("transferOwnership", [switchAddress]);
      result.ownershipTransferTx = await sendAdoptStep(options, proxy, "transfer-ownership", ownerSigner, proxyAdmin, data);
    } else {
      pending.push(await ownershipCall(ethersProvider, owner, proxyAdmin, switchAddress, admin));
    }
  } else {
    log(`The switch already owns ProxyAdmin ${proxyAdmin}.`);
  }

  // Step 2: the approver adopts.
  const approver = getAddress((await sw.getFunction("approver")()) as string);
  const adoptData = sw.interface.encodeFunctionData("adopt", [proxy, proxyAdmin, implementation]);
  const approverSigner = locals.get(approver.toLowerCase());
  if (pending.length === 0 && approverSigner !== undefined) {
    const connected = sw.connect(approverSigner) as Contract;
    try {
      await connected.getFunction("adopt").staticCall(proxy, proxyAdmin, implementation);
    } catch (error) {
      const revert = await decodeSwitchRevert(error, sw.interface);
      if (revert === undefined) throw error;
      throw new BlueGreenError("BG_SWITCH_REVERT", `adopt(${proxy}) would fail. ${explainSwitchRevert(revert)}`, { cause: error as Error });
    }
    log(`Adopting ${proxy} (implementation ${implementation}) from the approver ${approver}...`);
    result.adoptTx = await sendAdoptStep(options, proxy, "adopt", approverSigner, switchAddress, adoptData);
    await verifyAdopted(options, switchAddress, proxy, implementation);
    result.ok = true;
    result.afterAdoption = explainSwitchOwnedAdmin(base, networkName);
    return result;
  }

  const ownerPending = pending.length > 0;
  if (!ownerPending || approverSigner === undefined) {
    pending.push({
      role: "approver",
      from: approver,
      to: switchAddress,
      value: "0",
      data: adoptData,
      description:
        `BlueGreenSwitch.adopt(${proxy}, ${proxyAdmin}, ${implementation}): the switch starts managing the proxy; ` +
        (adminVersion === 5
          ? "it upgrades the proxy to its current implementation with no call, which changes nothing and makes the tracked implementation true."
          : "it checks the admin and implementation through the v4 ProxyAdmin."),
    });
  }
  const safeNote =
    "If the approver is a Safe, bg:adopt proposes this call through it (bg:approve --call, then bg:call execute).";
  if (ownerPending) {
    const owner_ = pending[0]!.from;
    result.error =
      `ProxyAdmin ${proxyAdmin} belongs to ${owner_}, which is not a local account of network "${networkName}", so the adoption stops here. ` +
      `${owner_} must send call 1 (to, data) first. ` +
      (approverSigner !== undefined
        ? "Then run bg:adopt again: the approver is a local account and will adopt the proxy."
        : `Then the approver ${approver}, not a local account either, sends call 2. ${safeNote} Run bg:adopt again afterwards to check.`);
  } else {
    result.error =
      `The switch's approver ${approver} is not a local account of network "${networkName}", so it must send the adopt call listed (to, data). ` +
      `${safeNote} Run bg:adopt again afterwards to check.`;
  }
  // The switch may own the ProxyAdmin already, before adopt: OpenZeppelin's and Ignition's upgrades fail from here on.
  if (!ownerPending) result.afterAdoption = explainSwitchOwnedAdmin(base, networkName);
  return result;
}

async function proxyAdminVersion(admin: Contract): Promise<4 | 5> {
  try {
    const version = (await admin.getFunction("UPGRADE_INTERFACE_VERSION")()) as string;
    if (version === "5.0.0") return 5;
    throw new BlueGreenError(
      "BG_SWITCH_PROXY_ADMIN",
      `ProxyAdmin ${await admin.getAddress()} reports upgrade interface version "${version}"; the switch supports OpenZeppelin v4 and v5 ProxyAdmins only.`,
    );
  } catch (error) {
    if (error instanceof BlueGreenError) throw error;
    return 4;
  }
}

async function readOwner(admin: Contract, proxyAdmin: string, proxy: string): Promise<string> {
  try {
    return getAddress((await admin.getFunction("owner")()) as string);
  } catch (error) {
    throw new BlueGreenError(
      "BG_SWITCH_PROXY_ADMIN",
      `The admin of ${proxy} (${proxyAdmin}, from its ERC-1967 admin slot) does not answer owner(): it is not an OpenZeppelin ProxyAdmin. ` +
        "hardhat-bluegreen adopts proxies administered by a ProxyAdmin.",
        { cause: error as Error },
    );
  }
}

/**
 * The call that hands the ProxyAdmin to the switch. When the owner is an
 * older BlueGreenSwitch, that is its `release`, made by its approver.
 */
async function ownershipCall(
  provider: Provider,
  owner: string,
  proxyAdmin: string,
  switchAddress: string,
  admin: Contract,
): Promise<PendingCall> {
  if ((await provider.getCode(owner)) !== "0x" && (await isSwitchAt(provider, owner))) {
    const previous = await switchContract(owner, provider);
    const previousApprover = getAddress((await previous.getFunction("approver")()) as string);
    return {
      role: "proxy-admin-owner",
      from: previousApprover,
      to: owner,
      value: "0",
      data: previous.interface.encodeFunctionData("release", [proxyAdmin, switchAddress]),
      description: `BlueGreenSwitch(${owner}).release(${proxyAdmin}, ${switchAddress}): the previous switch hands the ProxyAdmin to this one (its approver sends it).`,
    };
  }
  return {
    role: "proxy-admin-owner",
    from: owner,
    to: proxyAdmin,
    value: "0",
    data: admin.interface.encodeFunctionData("transferOwnership", [switchAddress]),
    description: `ProxyAdmin(${proxyAdmin}).transferOwnership(${switchAddress}): the switch becomes the only upgrader of the proxy.`,
  };
}

/** The chain must now agree with what was asked: the switch tracks the proxy, and the slot did not move. */
async function verifyAdopted(options: AdoptProxyOptions, switchAddress: string, proxy: string, implementation: string): Promise<void> {
  const tracked = await readProxyRelease(options.ethersProvider, switchAddress, proxy);
  const onChain = await readTransparentProxy(options.provider, proxy, options.networkName);
  if (!tracked.adopted || getAddress(tracked.implementation) !== implementation || getAddress(onChain.implementation) !== implementation) {
    throw new BlueGreenError(
      "BG_SWITCH_PROXY_DRIFT",
      `After adopt, the switch tracks ${tracked.implementation} and the proxy's slot holds ${onChain.implementation}, but ${implementation} was expected. ` +
        "Something upgraded the proxy concurrently; check its history before releasing.",
    );
  }
}

/**
 * One step of the adoption, sent exactly once (../chain/send-once.ts): with a
 * journal, written before the broadcast and removed once mined.
 */
async function sendAdoptStep(
  options: AdoptProxyOptions,
  proxy: string,
  step: "transfer-ownership" | "adopt",
  signer: Signer,
  to: string,
  data: string,
): Promise<string> {
  const from = await signer.getAddress();
  const send = () =>
    sendOnce({
      provider: options.provider,
      signer,
      request: { to, data },
      save: async (journal) => {
        if (options.journal !== undefined) {
          await options.journal.store.writeChainFile(options.journal.chainId, adoptJournalName(proxy), { proxy, step, send: journal });
        }
      },
      discard: () => removeAdoptJournal(options, proxy),
      ...(options.afterBroadcast !== undefined ? { afterBroadcast: options.afterBroadcast } : {}),
      ...(options.log !== undefined ? { log: options.log } : {}),
      ...options.sending,
    });
  const outcome = options.journal === undefined ? await send() : await withSenderLock(options.journal.store.chainDir(options.journal.chainId), from, send);
  return settleAdoptStep(options, proxy, step, outcome);
}

async function settleAdoptStep(
  options: AdoptProxyOptions,
  proxy: string,
  step: "transfer-ownership" | "adopt",
  outcome: Awaited<ReturnType<typeof sendOnce>>,
): Promise<string> {
  const what = step === "adopt" ? `adopt(${proxy})` : `the ProxyAdmin's transferOwnership for ${proxy}`;
  await removeAdoptJournal(options, proxy);
  if (outcome.kind === "taken") {
    throw new BlueGreenError(
      "BG_SWITCH_ADOPT_NONCE_TAKEN",
      `The transaction of ${what} was journaled at nonce ${outcome.nonce}, but another transaction${outcome.by !== undefined ? ` (${outcome.by})` : ""} used that nonce, so it was never mined. ` +
        "Run bg:adopt again: it reads the chain and sends what is still missing.",
    );
  }
  if (outcome.receipt.status !== 1) {
    throw new BlueGreenError("BG_SWITCH_ADOPT_FAILED", `The transaction of ${what} (${outcome.receipt.hash}) reverted. Run bg:adopt again to see what the chain says is missing.`);
  }
  return outcome.receipt.hash;
}

/** Finishes a step journaled by a run that died after sending it; its hash when it was mined. */
async function resumeAdoptJournal(options: AdoptProxyOptions, proxy: string): Promise<{ step: "transfer-ownership" | "adopt"; hash: string } | undefined> {
  if (options.journal === undefined) return undefined;
  const { store, chainId } = options.journal;
  const journal = await store.readChainFile(chainId, adoptJournalName(proxy), adoptJournalSchema);
  if (journal === undefined) return undefined;
  const signer = await signerFor(options.signers, journal.send);
  const sameAccount = getAddress(await signer.getAddress()) === getAddress(journal.send.from);
  options.log?.(`Resuming the journaled ${journal.step} step of ${proxy} at nonce ${journal.send.nonce} of ${journal.send.from}...`);
  const outcome = await withSenderLock(store.chainDir(chainId), journal.send.from, () =>
    sendOnce({
      provider: options.provider,
      signer,
      request: { ...(journal.send.to !== undefined ? { to: journal.send.to } : {}), data: journal.send.data },
      previous: journal.send,
      save: (send) => store.writeChainFile(chainId, adoptJournalName(proxy), { ...journal, send }).then(() => undefined),
      ...(sameAccount ? {} : { maxSpeedUps: 0 }),
      ...(options.log !== undefined ? { log: options.log } : {}),
      ...options.sending,
    }),
  );
  await removeAdoptJournal(options, proxy);
  // Reverted, or its nonce went elsewhere: nothing of it is on chain, and the chain decides what to send now.
  if (outcome.kind === "taken" || outcome.receipt.status !== 1) return undefined;
  return { step: journal.step, hash: outcome.receipt.hash };
}

async function signerFor(signers: Signer[], send: SendJournal): Promise<Signer> {
  for (const signer of signers) if (getAddress(await signer.getAddress()) === getAddress(send.from)) return signer;
  // Not a local account any more: its journaled transaction can still be waited for and re-broadcast, not re-signed.
  return signers[0]!;
}

async function removeAdoptJournal(options: AdoptProxyOptions, proxy: string): Promise<void> {
  if (options.journal === undefined) return;
  const { store, chainId } = options.journal;
  await store.withLock(chainId, () => rm(path.join(store.chainDir(chainId), adoptJournalName(proxy)), { force: true }));
}

const UPGRADE_AUTHORITY_ABI = [
  "function owner() view returns (address)",
  "function transferOwnership(address newOwner)",
  "function hasRole(bytes32 role, address account) view returns (bool)",
  "function getRoleAdmin(bytes32 role) view returns (bytes32)",
  "function grantRole(bytes32 role, address account)",
] as const;

/** The role OpenZeppelin's UUPS examples guard `_authorizeUpgrade` with. */
export const DEFAULT_UPGRADER_ROLE = keccakText("UPGRADER_ROLE");

/** `--role`: a bytes32, or a role name hashed as Solidity's `keccak256("NAME")` does. */
export function parseRole(role: string | undefined): string {
  if (role === undefined || role === "") return DEFAULT_UPGRADER_ROLE;
  if (isHexString(role, 32)) return role.toLowerCase();
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(role)) return keccakText(role);
  throw new BlueGreenError("BG_SWITCH_ROLE_INVALID", `--role ${role} is neither a bytes32 (0x + 64 hex digits) nor a role name such as UPGRADER_ROLE.`);
}

/**
 * UUPS proxies and beacons. The switch must first hold the upgrade authority
 * (be `owner()` of the proxy or beacon, or hold the upgrader role); that step
 * is someone else's transaction, sent here when a local account can send it
 * and otherwise named exactly. Then the approver calls `adoptUups` or
 * `adoptBeacon`, which check the authority on chain.
 */
async function adoptOtherKind(
  options: AdoptProxyOptions,
  target: ReleaseTarget,
  switchAddress: string,
  resumedTx: { step: "transfer-ownership" | "adopt"; hash: string } | undefined,
): Promise<AdoptResult> {
  const log = options.log ?? (() => {});
  const { ethersProvider, networkName } = options;
  const address = target.target;
  const implementation = target.implementation;
  const authorityContract = new Contract(address, UPGRADE_AUTHORITY_ABI, ethersProvider);
  const sw = await switchContract(switchAddress, ethersProvider);
  const kind: NonNullable<AdoptResult["kind"]> =
    target.kind === "beacon" ? "beacon" : target.authority?.kind === "ownable" ? "uups-ownable" : "uups-access-control";
  const role = kind === "uups-access-control" ? parseRole(options.role) : undefined;
  const adoptCall: NonNullable<AdoptResult["adoptCall"]> =
    kind === "beacon"
      ? { function: "adoptBeacon", args: [address, implementation] }
      : { function: "adoptUups", args: [address, implementation, kind === "uups-ownable" ? 0 : 1, role ?? ZeroHash] };
  const remainsElsewhere =
    kind === "uups-access-control"
      ? `Holders of the role's admin role (DEFAULT_ADMIN_ROLE unless set otherwise) can still grant ${role} to others, who could then upgrade ${address} outside the switch; ` +
        "revoke the upgrader role from every other account, and keep the admin role in hands you trust (a Safe)."
      : kind === "uups-ownable"
        ? `The previous owner keeps nothing: only the switch can upgrade ${address}. Note that owner() also guards any other onlyOwner function of the implementation, which now only the switch could call.`
        : `The beacon's previous owner keeps nothing: only the switch can upgrade beacon ${address}, and with it every proxy of the beacon.`;
  const base = {
    proxy: address,
    proxyAdmin: address,
    switch: switchAddress,
    implementation,
    adminVersion: 5 as const,
    kind,
    ...(role !== undefined ? { role } : {}),
    ...(target.viaBeaconProxy !== undefined ? { viaBeaconProxy: target.viaBeaconProxy } : {}),
    adoptCall,
    remainsElsewhere,
  };
  if (target.viaBeaconProxy !== undefined) log(`${target.viaBeaconProxy} is a beacon proxy: adopting its beacon ${address}, which upgrades all its proxies.`);

  const tracked = await readProxyRelease(ethersProvider, switchAddress, address);
  if (tracked.adopted) {
    if (getAddress(tracked.implementation) !== implementation) {
      throw new BlueGreenError(
        "BG_SWITCH_PROXY_DRIFT",
        `The switch tracks ${address} at implementation ${tracked.implementation}, but it runs ${implementation}: it was upgraded outside the switch. ` +
          "Have the approver release it and adopt it again.",
      );
    }
    log(`${address} is already adopted by the switch at ${switchAddress}.`);
    return { ok: true, ...base, alreadyAdopted: resumedTx?.step !== "adopt", ...(resumedTx?.step === "adopt" ? { adoptTx: resumedTx.hash } : {}), pending: [] };
  }

  const locals = new Map<string, Signer>();
  for (const signer of options.signers) locals.set((await signer.getAddress()).toLowerCase(), signer);
  const pending: PendingCall[] = [];
  const result: AdoptResult = { ok: false, ...base, alreadyAdopted: false, pending, ...(resumedTx?.step === "transfer-ownership" ? { ownershipTransferTx: resumedTx.hash } : {}) };

  // Step 1: the switch must hold the upgrade authority.
  const what = kind === "beacon" ? `beacon ${address}` : `UUPS proxy ${address}`;
  if (kind === "uups-access-control") {
    if (!((await authorityContract.getFunction("hasRole")(role, switchAddress)) as boolean)) {
      const roleAdmin = (await authorityContract.getFunction("getRoleAdmin")(role)) as string;
      const data = authorityContract.interface.encodeFunctionData("grantRole", [role, switchAddress]);
      let granter: Signer | undefined;
      for (const [account, signer] of locals) {
        if ((await authorityContract.getFunction("hasRole")(roleAdmin, account)) as boolean) granter = signer;
      }
      if (granter !== undefined) {
        log(`Granting role ${role} on ${address} to the switch ${switchAddress}...`);
        result.ownershipTransferTx = await sendAdoptStep(options, address, "transfer-ownership", granter, address, data);
      } else {
        pending.push({
          role: "role-admin",
          from: `a holder of role ${roleAdmin}`,
          to: address,
          value: "0",
          data,
          description: `grantRole(${role}, ${switchAddress}) on ${address}: the switch becomes an upgrader of the proxy (sent by a holder of the role's admin role ${roleAdmin}).`,
        });
      }
    } else {
      log(`The switch already holds role ${role} on ${address}.`);
    }
  } else {
    const owner = getAddress((await authorityContract.getFunction("owner")()) as string);
    if (owner !== switchAddress) {
      const data = authorityContract.interface.encodeFunctionData("transferOwnership", [switchAddress]);
      const ownerSigner = locals.get(owner.toLowerCase());
      if (ownerSigner !== undefined) {
        log(`Transferring ownership of ${what} from ${owner} to the switch ${switchAddress}...`);
        result.ownershipTransferTx = await sendAdoptStep(options, address, "transfer-ownership", ownerSigner, address, data);
      } else {
        pending.push({
          role: "upgrade-owner",
          from: owner,
          to: address,
          value: "0",
          data,
          description: `transferOwnership(${switchAddress}) on ${what}: the switch becomes its only upgrader (sent by its owner ${owner}).`,
        });
      }
    } else {
      log(`The switch already owns ${what}.`);
    }
  }

  // Step 2: the approver adopts.
  const approver = getAddress((await sw.getFunction("approver")()) as string);
  const adoptData = sw.interface.encodeFunctionData(adoptCall.function, adoptCall.args);
  const approverSigner = locals.get(approver.toLowerCase());
  if (pending.length === 0 && approverSigner !== undefined) {
    const connected = sw.connect(approverSigner) as Contract;
    try {
      await connected.getFunction(adoptCall.function).staticCall(...adoptCall.args);
    } catch (error) {
      const revert = await decodeSwitchRevert(error, sw.interface);
      if (revert === undefined) throw error;
      throw new BlueGreenError("BG_SWITCH_REVERT", `${adoptCall.function}(${address}) would fail. ${explainSwitchRevert(revert)}`, { cause: error as Error });
    }
    log(`Adopting ${what} (implementation ${implementation}) from the approver ${approver}...`);
    result.adoptTx = await sendAdoptStep(options, address, "adopt", approverSigner, switchAddress, adoptData);
    const after = await readProxyRelease(ethersProvider, switchAddress, address);
    if (!after.adopted || getAddress(after.implementation) !== implementation) {
      throw new BlueGreenError("BG_SWITCH_PROXY_DRIFT", `After ${adoptCall.function}, the switch tracks ${after.implementation}, but ${implementation} was expected. Check ${address}'s history before releasing.`);
    }
    result.ok = true;
    return result;
  }
  const authorityPending = pending.length > 0;
  pending.push({
    role: "approver",
    from: approver,
    to: switchAddress,
    value: "0",
    data: adoptData,
    description: `BlueGreenSwitch.${adoptCall.function}(${adoptCall.args.join(", ")}): the switch checks that it holds the upgrade authority and starts managing ${what}.`,
  });
  result.error = authorityPending
    ? `The switch does not hold the upgrade authority of ${what} yet, and no local account of network "${networkName}" can give it: ` +
      `${pending[0]!.from} must send call 1 (${pending[0]!.description.split(":")[0]}) first; then the approver ${approver} sends call 2, and bg:adopt is run again to check.`
    : `The switch's approver ${approver} is not a local account of network "${networkName}", so it must send the ${adoptCall.function} call listed (to, data). Run bg:adopt again afterwards to check.`;
  return result;
}
