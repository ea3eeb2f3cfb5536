/**
 * What kind of account an approver is, recognized by how it behaves on
 * chain: a plain account (no code), a Safe (1.3.0 or 1.4.1: it answers
 * `VERSION()`, `nonce()`, `getThreshold()` and `getOwners()`), a
 * TimelockController (it answers `getMinDelay()` and `PROPOSER_ROLE()`), or
 * another contract. `bg:init` and `bg:adopt` (switch/) check it before they
 * deploy or hand anything over; the approval path (approval/) drives the
 * approver by it. One recognition for both, here, below both layers.
 */
import { Contract, type ContractRunner, type Provider, getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import { isNodeFault, surfaceNodeError } from "./node-error.js";
import { transportFaultOf } from "./transport-fault.js";

/** What recognizing a Safe and reading its state calls (1.3.0 and 1.4.1 alike). */
export const SAFE_STATE_ABI = [
  "function VERSION() view returns (string)",
  "function nonce() view returns (uint256)",
  "function getThreshold() view returns (uint256)",
  "function getOwners() view returns (address[])",
] as const;

/** What recognizing a TimelockController (OpenZeppelin 4.x/5.x) calls. */
export const TIMELOCK_RECOGNITION_ABI = ["function getMinDelay() view returns (uint256)", "function PROPOSER_ROLE() view returns (bytes32)"] as const;

/** The Safe versions the approval path signs for and recognizes executions of. */
export const SAFE_VERSIONS = ["1.3.0", "1.4.1"] as const;
export type SafeVersion = (typeof SAFE_VERSIONS)[number];

/**
 * The version a Safe reports (`VERSION()`, e.g. "1.3.0", "1.4.1", or with a
 * "+L2" suffix on some builds) as one the approval path knows, or a coded
 * error that says what to do.
 */
export function safeVersionOf(reported: string, safe?: string): SafeVersion {
  const core = /^(\d+\.\d+\.\d+)/.exec(reported)?.[1];
  if (core !== undefined && (SAFE_VERSIONS as readonly string[]).includes(core)) return core as SafeVersion;
  throw new BlueGreenError(
    "BG_APPROVAL_SAFE_VERSION",
    `The Safe${safe !== undefined ? ` at ${safe}` : ""} reports version ${reported}; hardhat-bluegreen signs for and recognizes executions of Safe ${SAFE_VERSIONS.join(" and ")}. ` +
      "Migrate the Safe to 1.4.1 (Safe{Wallet} offers the update), or use a Safe of a supported version as the approver.",
  );
}

/** What a Safe looks like on chain right now. */
export interface SafeState {
  address: string;
  /** What the Safe reports (VERSION()). */
  version: string;
  /** The known Safe release it is: which events and ABI apply. */
  release: SafeVersion;
  nonce: bigint;
  threshold: number;
  owners: string[];
}

/**
 * Reads a Safe's version, nonce, threshold and owners. Refuses accounts that
 * are not Safes (1.3.0 or later), saying what it found instead.
 */
export async function readSafeState(runner: ContractRunner, safe: string): Promise<SafeState> {
  const contract = new Contract(getAddress(safe), SAFE_STATE_ABI, runner);
  let version: string;
  try {
    version = (await contract.getFunction("VERSION")()) as string;
  } catch (error) {
    rethrowTransportFault(error);
    throw new BlueGreenError(
      "BG_APPROVAL_NOT_A_SAFE",
      `${safe} does not answer Safe's VERSION(); it is not a Safe. Check the approver address (it must be a Safe 1.3.0 or later).`,
      { cause: error as Error },
    );
  }
  // Before 1.3.0 the EIP-712 domain had no chain id; after 1.4.1 the events are not checked yet: both are refused with a code.
  const release = safeVersionOf(version, safe);
  const [nonce, threshold, owners] = await Promise.all([
    contract.getFunction("nonce")() as Promise<bigint>,
    contract.getFunction("getThreshold")() as Promise<bigint>,
    contract.getFunction("getOwners")() as Promise<string[]>,
  ]);
  return { address: getAddress(safe), version, release, nonce, threshold: Number(threshold), owners: owners.map((o) => getAddress(o)) };
}

/** Reads a TimelockController's minimum delay, or undefined when the contract is not one. */
export async function readTimelockDelay(provider: Provider, timelock: string): Promise<bigint | undefined> {
  const contract = new Contract(timelock, TIMELOCK_RECOGNITION_ABI, provider);
  try {
    const [delay] = await Promise.all([contract.getFunction("getMinDelay")() as Promise<bigint>, contract.getFunction("PROPOSER_ROLE")()]);
    return delay;
  } catch (error) {
    rethrowTransportFault(error);
    return undefined;
  }
}

/** An approver as the chain shows it. */
export type ApproverKind =
  | { kind: "account"; address: string }
  | { kind: "safe"; address: string; safe: SafeState }
  | { kind: "timelock"; address: string; minDelay: bigint }
  /** A contract that is none of those: nothing the plugin can make act. */
  | { kind: "other"; address: string };

/**
 * Recognizes the approver. A Safe of a version the plugin does not sign for
 * is refused with BG_APPROVAL_SAFE_VERSION (it is a Safe, and migrating it is
 * the fix); a node that fails is its own error, never taken for an answer.
 */
export async function approverKindOf(provider: Provider, account: string): Promise<ApproverKind> {
  const address = getAddress(account);
  if ((await provider.getCode(address)) === "0x") return { kind: "account", address };
  const minDelay = await readTimelockDelay(provider, address);
  if (minDelay !== undefined) return { kind: "timelock", address, minDelay };
  try {
    return { kind: "safe", address, safe: await readSafeState(provider, address) };
  } catch (error) {
    if (BlueGreenError.is(error, "BG_APPROVAL_NOT_A_SAFE")) return { kind: "other", address };
    // A Safe of an unsupported version says so; a contract that answers VERSION() but not the rest is no Safe either.
    if (BlueGreenError.is(error)) throw error;
    rethrowTransportFault(error);
    return { kind: "other", address };
  }
}

/** A node that is down, silent or failing is an error of its own, not a "no" from the contract. */
function rethrowTransportFault(error: unknown): void {
  const surfaced = surfaceNodeError(error);
  if (isNodeFault(surfaced)) throw surfaced;
  if (transportFaultOf(error) !== undefined) throw error;
}
