/**
 * The rollback-path proof (issue 17): on a fork, acting as the switch, switch
 * green in the way the release will, then roll back to blue, then switch green
 * in again. Each upgrade must succeed and leave exactly its target running.
 *
 * Why: a UUPS proxy is upgraded by its implementation's own `upgradeToAndCall`
 * and `_authorizeUpgrade`. A green whose authorization no longer accepts the
 * switch can be promoted (blue's code authorizes that), but then it can never
 * be rolled back or upgraded again. Only running the way back proves it is
 * there. Beacons and transparent proxies run the same three steps through the
 * beacon and the ProxyAdmin, so their verdict rests on the same evidence and
 * no kind passes without being tried.
 *
 * The proof takes any EIP-1193 provider whose chain it may change: a fork, or
 * a throwaway in-process network. It snapshots first and reverts at the end
 * when the node supports it, so a caller's own state is left as it was.
 */
import { rm } from "node:fs/promises";
import path from "node:path";

import { AbiCoder, Interface, getAddress, type InterfaceAbi } from "ethers";

import type { NetworkConnection, NetworkManager } from "hardhat/types/network";

import type { Eip1193Provider } from "../chain/eip1193.js";
import { BlueGreenError } from "../errors.js";
import { IMPLEMENTATION_SLOT, readSlotAddress } from "../stage/read-proxy.js";
import { findRevertData } from "./read-switch.js";

/** How the switch upgrades the proxy: the switch's `ProxyKind`, as the proof needs it. */
export const ROLLBACK_PATH_KINDS = ["transparent-v4", "transparent-v5", "uups", "beacon"] as const;
export type RollbackPathKind = (typeof ROLLBACK_PATH_KINDS)[number];

/** The three upgrades of the proof, in order. */
export type RollbackPathStep = "switch-in" | "rollback" | "re-promote";

export interface RollbackPathInput {
  /** A fork of the release's chain (or a disposable network): the proof sends transactions on it. */
  provider: Eip1193Provider;
  /** The proxy; for a beacon, the beacon (as in the switch's API). */
  proxy: string;
  /**
   * How the switch upgrades the proxy. Read from the switch on the fork when left
   * out (with the ProxyAdmin); a proxy the switch has not adopted then throws
   * BG_ROLLBACK_PATH_NOT_ADOPTED.
   */
  kind?: RollbackPathKind;
  switchAddress: string;
  /** Transparent proxies: the ProxyAdmin the switch owns. Read from the switch when left out. */
  proxyAdmin?: string;
  blue: string;
  green: string;
  /** More ABI to decode reverts with, typically green's and blue's ABI (their custom errors). */
  errors?: InterfaceAbi;
}

export interface RollbackPathRevert {
  /** e.g. `OwnableUnauthorizedAccount`, `Error` for a reason string, `unknown` when undecodable. */
  name: string;
  /** e.g. `OwnableUnauthorizedAccount(0x…)`, `Error("…")`, or the raw data. */
  signature: string;
  /** The raw revert data ("0x" for a revert without data). */
  data: string;
}

export interface RollbackPathStepOutcome {
  step: RollbackPathStep;
  from: string;
  to: string;
  /** "skipped" only for switch-in, when green already runs. */
  outcome: "done" | "skipped";
}

export type RollbackPathFailure =
  /** The upgrade reverted (as the switch, on the fork). */
  | "reverted"
  /** The upgrade succeeded but the proxy (the beacon) does not run the target afterwards. */
  | "wrong-implementation";

export type RollbackPathResult =
  | { ok: true; kind: RollbackPathKind; steps: RollbackPathStepOutcome[]; blockNumber: number }
  | {
      ok: false;
      kind: RollbackPathKind;
      /** The step that failed. */
      step: RollbackPathStep;
      failure: RollbackPathFailure;
      /** The cause, in words, e.g. "green's _authorizeUpgrade refuses the switch: …". */
      cause: string;
      revert?: RollbackPathRevert;
      /** The implementation found after a "wrong-implementation" step. */
      actual?: string;
      expected: string;
      /** The steps that succeeded before it. */
      steps: RollbackPathStepOutcome[];
      blockNumber: number;
    };

// OpenZeppelin's errors an upgrade commonly reverts with (v5 names), so a
// revert is named even when the caller gives no ABI.
const KNOWN_ERRORS = [
  "error OwnableUnauthorizedAccount(address account)",
  "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
  "error UUPSUnauthorizedCallContext()",
  "error UUPSUnsupportedProxiableUUID(bytes32 slot)",
  "error ERC1967InvalidImplementation(address implementation)",
  "error ERC1967NonPayable()",
  "error BeaconInvalidImplementation(address implementation)",
  "error AddressEmptyCode(address target)",
  "error FailedInnerCall()",
  "error FailedCall()",
];

const CALLS = new Interface([
  "function upgradeToAndCall(address newImplementation, bytes data)",
  "function upgradeTo(address newImplementation)",
  "function upgrade(address proxy, address implementation)",
  "function upgradeAndCall(address proxy, address implementation, bytes data)",
  "function implementation() view returns (address)",
  "function proxyKind(address proxy) view returns (uint8)",
  "function proxyState(address proxy) view returns ((address proxyAdmin, uint64 promotedAt, uint8 adminVersion, uint8 status, uint8 kind, address implementation, uint64 windowEnd, address blue, uint64 rollbackReadyAt, address green, uint64 releaseId, bytes32 greenCodehash, bytes32 evidenceHash, address rollbackScheduledBy))",
]);

/** The switch's `ProxyKind` enum value → the proof's kind; undefined for `None` (not adopted) or unknown values. */
export function rollbackPathKindOf(switchKind: number | bigint): RollbackPathKind | undefined {
  switch (Number(switchKind)) {
    case 1:
      return "transparent-v4";
    case 2:
      return "transparent-v5";
    case 3:
    case 4:
      return "uups";
    case 5:
      return "beacon";
    default:
      return undefined;
  }
}

/**
 * How the switch upgrades `proxy`, read from the switch: its kind and (for a
 * transparent proxy) the ProxyAdmin. Undefined when the switch has not adopted it.
 */
export async function readRollbackPathTarget(
  provider: Eip1193Provider,
  switchAddress: string,
  proxy: string,
): Promise<{ kind: RollbackPathKind; proxyAdmin: string } | undefined> {
  const data = CALLS.encodeFunctionData("proxyState", [getAddress(proxy)]);
  const raw = (await provider.request({ method: "eth_call", params: [{ to: getAddress(switchAddress), data }, "latest"] })) as string;
  const [state] = CALLS.decodeFunctionResult("proxyState", raw);
  const kind = rollbackPathKindOf(state.kind as bigint);
  if (kind === undefined || state.proxyAdmin === "0x0000000000000000000000000000000000000000") return undefined;
  return { kind, proxyAdmin: getAddress(state.proxyAdmin as string) };
}

/**
 * Runs the proof. Never throws for the proof's own failure (that is a
 * result); throws when the node fails (RPC errors, no impersonation).
 */
export async function proveRollbackPath(input: RollbackPathInput): Promise<RollbackPathResult> {
  const { provider } = input;
  const rpc = <T>(method: string, params: unknown[] = []) => provider.request({ method, params }) as Promise<T>;
  const switchAddress = getAddress(input.switchAddress);
  const proxy = getAddress(input.proxy);
  const blue = getAddress(input.blue);
  const green = getAddress(input.green);
  const transparent = (k: RollbackPathKind | undefined) => k === "transparent-v4" || k === "transparent-v5";
  const read =
    input.kind === undefined || (transparent(input.kind) && input.proxyAdmin === undefined) ? await readRollbackPathTarget(provider, switchAddress, proxy) : undefined;
  const kind = input.kind ?? read?.kind;
  if (kind === undefined || (transparent(kind) && input.proxyAdmin === undefined && read === undefined)) {
    throw new BlueGreenError(
      "BG_ROLLBACK_PATH_NOT_ADOPTED",
      `the switch ${switchAddress} has not adopted ${proxy}: the rollback-path proof needs the switch to hold its upgrade authority.`,
      { hint: "Adopt the proxy first (`npx hardhat bg:adopt`)." },
    );
  }
  const proxyAdmin = transparent(kind) ? getAddress(input.proxyAdmin ?? read!.proxyAdmin) : undefined;
  const errors = new Interface([...KNOWN_ERRORS, ...abiErrors(input.errors)]);

  const snapshot = await rpc<string>("evm_snapshot").catch(() => undefined);
  try {
    const blockNumber = Number(BigInt(await rpc<string>("eth_blockNumber")));
    await rpc("hardhat_impersonateAccount", [switchAddress]);
    // Enough for any upgrade at any fork's gas price; the switch may hold nothing.
    await rpc("hardhat_setBalance", [switchAddress, "0x3635c9adc5dea00000"]);

    const implementation = async (): Promise<string> => {
      if (kind === "beacon") {
        const raw = await rpc<string>("eth_call", [{ to: proxy, data: CALLS.encodeFunctionData("implementation") }, "latest"]);
        return getAddress(CALLS.decodeFunctionResult("implementation", raw)[0] as string);
      }
      return getAddress(await readSlotAddress(provider, proxy, IMPLEMENTATION_SLOT));
    };

    // The call the switch makes (BlueGreenSwitch._upgrade), per kind.
    const upgradeCall = (to: string): { to: string; data: string } => {
      switch (kind) {
        case "uups":
          return { to: proxy, data: CALLS.encodeFunctionData("upgradeToAndCall", [to, "0x"]) };
        case "beacon":
          return { to: proxy, data: CALLS.encodeFunctionData("upgradeTo", [to]) };
        case "transparent-v4":
          return { to: proxyAdmin!, data: CALLS.encodeFunctionData("upgrade", [proxy, to]) };
        case "transparent-v5":
          return { to: proxyAdmin!, data: CALLS.encodeFunctionData("upgradeAndCall", [proxy, to, "0x"]) };
      }
    };

    const steps: RollbackPathStepOutcome[] = [];
    const plan: Array<[RollbackPathStep, string]> = [
      ["switch-in", green],
      ["rollback", blue],
      ["re-promote", green],
    ];
    for (const [step, to] of plan) {
      const from = await implementation();
      if (step === "switch-in" && from === green) {
        // The chain already runs green (bg:gates after the switch): the way back is what remains to prove.
        steps.push({ step, from, to, outcome: "skipped" });
        continue;
      }
      const call = { from: switchAddress, ...upgradeCall(to) };
      const reverted = await tryUpgrade(rpc, call);
      if (reverted !== undefined) {
        const revert = decodeRevert(reverted, errors);
        return {
          ok: false,
          kind,
          step,
          failure: "reverted",
          cause: causeOf(kind, step, revert),
          revert,
          expected: to,
          steps,
          blockNumber,
        };
      }
      const actual = await implementation();
      if (actual !== to) {
        return {
          ok: false,
          kind,
          step,
          failure: "wrong-implementation",
          cause: `the ${stepWords(step)} succeeded, yet ${kind === "beacon" ? "the beacon's implementation()" : "the proxy's ERC-1967 implementation slot"} holds ${actual}, not ${to}: the upgrade does not do what the switch expects`,
          actual,
          expected: to,
          steps,
          blockNumber,
        };
      }
      steps.push({ step, from, to, outcome: "done" });
    }
    return { ok: true, kind, steps, blockNumber };
  } finally {
    await rpc("hardhat_stopImpersonatingAccount", [switchAddress]).catch(() => {});
    if (snapshot !== undefined) await rpc("evm_revert", [snapshot]).catch(() => {});
  }
}

/**
 * One upgrade as the switch. Dry-run first (`eth_call`), which gives the
 * revert data the same way on every node; then sent and mined, because the
 * next step must see its effect. Returns the revert data, or undefined.
 */
async function tryUpgrade(rpc: <T>(method: string, params?: unknown[]) => Promise<T>, call: { from: string; to: string; data: string }): Promise<string | undefined> {
  try {
    await rpc("eth_call", [call, "latest"]);
  } catch (e) {
    return findRevertData(e) ?? revertDataIn(e) ?? "0x";
  }
  let hash: string;
  try {
    hash = await rpc<string>("eth_sendTransaction", [call]);
  } catch (e) {
    return findRevertData(e) ?? revertDataIn(e) ?? "0x";
  }
  let receipt = await rpc<{ status: string } | null>("eth_getTransactionReceipt", [hash]);
  if (receipt === null) {
    // A fork without automine (like the replay's): mine the one transaction.
    await rpc("evm_mine");
    receipt = await rpc<{ status: string } | null>("eth_getTransactionReceipt", [hash]);
  }
  if (receipt === null) throw new Error(`the fork did not mine the proof's transaction ${hash}`);
  return BigInt(receipt.status) === 1n ? undefined : "0x";
}

/** Revert data as a bare hex string nested in an error (what findRevertData leaves out: an empty or short revert). */
function revertDataIn(e: unknown): string | undefined {
  const data = (e as { data?: unknown } | undefined)?.data;
  return typeof data === "string" && /^0x[0-9a-fA-F]*$/.test(data) ? data : undefined;
}

function abiErrors(abi: InterfaceAbi | undefined): string[] {
  if (abi === undefined) return [];
  const known = new Set(new Interface(KNOWN_ERRORS).fragments.map((f) => f.format("sighash")));
  return new Interface(abi).fragments
    .filter((f) => f.type === "error" && !known.has(f.format("sighash")))
    .map((f) => f.format("full"));
}

const ERROR_STRING = "0x08c379a0";
const PANIC = "0x4e487b71";

function decodeRevert(data: string, errors: Interface): RollbackPathRevert {
  if (data === "0x") return { name: "revert", signature: "a revert without data", data };
  const coder = AbiCoder.defaultAbiCoder();
  try {
    if (data.startsWith(ERROR_STRING)) {
      const [reason] = coder.decode(["string"], "0x" + data.slice(10));
      return { name: "Error", signature: `Error(${JSON.stringify(reason)})`, data };
    }
    if (data.startsWith(PANIC)) {
      const [code] = coder.decode(["uint256"], "0x" + data.slice(10));
      return { name: "Panic", signature: `Panic(0x${(code as bigint).toString(16)})`, data };
    }
    const parsed = errors.parseError(data);
    if (parsed !== null) {
      const args = [...parsed.args].map((a) => (typeof a === "bigint" ? a.toString() : String(a)));
      return { name: parsed.name, signature: `${parsed.name}(${args.join(", ")})`, data };
    }
  } catch {
    // Undecodable: named by its raw data below.
  }
  return { name: "unknown", signature: `unknown error ${data.slice(0, 10)}`, data };
}

function stepWords(step: RollbackPathStep): string {
  return step === "switch-in" ? "switch to green" : step === "rollback" ? "rollback to blue" : "second switch to green";
}

/** The cause in words: whose code refused, and what that means for the proxy. */
function causeOf(kind: RollbackPathKind, step: RollbackPathStep, revert: RollbackPathRevert): string {
  const why = `(${revert.signature})`;
  if (kind === "uups") {
    // UUPS runs the *current* implementation's upgradeToAndCall: during the rollback that is green's.
    if (step === "rollback") {
      return `green's _authorizeUpgrade refuses the switch ${why}: the proxy could never be rolled back or upgraded again`;
    }
    if (step === "re-promote") {
      return `after the rollback, blue's _authorizeUpgrade refuses the switch ${why}: green could not be switched in again, the proxy would be stuck on blue`;
    }
    return `the switch cannot upgrade the proxy to green ${why}: blue's upgradeToAndCall refuses it, or green is not a UUPS implementation (no proxiableUUID)`;
  }
  const holder = kind === "beacon" ? "the beacon" : "the ProxyAdmin";
  return `${holder} refuses the switch's ${stepWords(step)} ${why}: the switch does not hold the upgrade authority it needs, or the target is not a contract`;
}

/** A fork of a chain to run the proof on, and how to dispose of it. */
export interface RollbackPathFork {
  provider: Eip1193Provider;
  close: () => Promise<void>;
}

/**
 * Opens an in-process EDR fork of `url` at `blockNumber` (latest when left
 * out), the way the replay opens its forks (`src/replay/open-edr-fork.ts`),
 * but mining each transaction at once: the proof waits for nothing.
 */
export async function openRollbackPathFork(
  network: NetworkManager,
  options: {
    url: string;
    blockNumber?: number;
    chainId?: number;
    httpHeaders?: Record<string, string>;
    /**
     * Hardhat's fork cache folder (`<paths.cache>/edr-fork-cache`). EDR keys its
     * cache by the URL's host and port; a local node reset or restarted on the
     * same port would be read from another chain's answers, so the folder of
     * this URL is removed before and after, as the replay does.
     */
    edrForkCache?: string;
    networkName?: string;
    hardfork?: string;
  },
): Promise<RollbackPathFork> {
  const { hostname, port } = new URL(options.url);
  const edrCache = options.edrForkCache !== undefined ? path.join(options.edrForkCache, "rpc_cache", "v2", `${hostname}_${port}`) : undefined;
  if (edrCache !== undefined) await rm(edrCache, { recursive: true, force: true });
  const connection = await network.create({
    network: options.networkName ?? "default",
    override: {
      ...(options.chainId !== undefined ? { chainId: options.chainId } : {}),
      // Funded dev accounts would overwrite real balances on the fork.
      accounts: [],
      loggingEnabled: false,
      ...(options.hardfork !== undefined ? { hardfork: options.hardfork } : {}),
      forking: {
        url: options.url,
        ...(options.blockNumber !== undefined ? { blockNumber: BigInt(options.blockNumber) } : {}),
        ...(options.httpHeaders !== undefined ? { httpHeaders: options.httpHeaders } : {}),
        enabled: true,
      },
    },
  });
  const close = async () => {
    await connection.close();
    if (edrCache !== undefined) await rm(edrCache, { recursive: true, force: true });
  };
  try {
    // EDR executes on a forked block with that chain's hardfork history, which
    // it only knows for public chains: on a local node's fork (chain 31337),
    // every call at the fork block fails. One empty block of the fork's own
    // hardfork makes "latest" executable everywhere, and changes no state.
    await connection.provider.request({ method: "evm_mine", params: [] });
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }
  return { provider: connection.provider, close };
}

/**
 * How a command forks the chain it is connected to for the proof: an http
 * network is forked in process at its head (the proof's transactions never
 * reach it); an in-process network lives only for this command, so the proof
 * runs on it directly, inside a snapshot it reverts.
 */
export function forkOfConnection(
  network: NetworkManager,
  connection: NetworkConnection,
  options: { chainId: number; edrForkCache: string },
): () => Promise<RollbackPathFork> {
  const networkConfig = connection.networkConfig;
  if (networkConfig.type !== "http") return async () => ({ provider: connection.provider, close: async () => {} });
  return async () => {
    const head = Number(BigInt((await connection.provider.request({ method: "eth_blockNumber" })) as string));
    return openRollbackPathFork(network, {
      url: await networkConfig.url.getUrl(),
      blockNumber: head,
      chainId: options.chainId,
      httpHeaders: networkConfig.httpHeaders,
      edrForkCache: options.edrForkCache,
    });
  };
}
