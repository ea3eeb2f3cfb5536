/**
 * Reads the switch's on-chain state: its roles and timings, and each
 * proxy's release (blue, green, window, rollback). Also decodes the switch's
 * custom errors out of failed calls, so every caller can say what went wrong.
 */
import { Contract, type ContractRunner, type Interface, getAddress } from "ethers";

import { loadSwitchArtifact, switchInterface } from "./artifact.js";

/** The contract's `Status` enum, in its order, in the release records' words. */
export const SWITCH_STATUSES = ["none", "live", "rollback-scheduled", "rolled-back", "finalized"] as const;
export type SwitchStatus = (typeof SWITCH_STATUSES)[number];
/** The switch's `ProxyKind`, in its enum's order. */
export const SWITCH_PROXY_KINDS = ["none", "transparent-v4", "transparent-v5", "uups-ownable", "uups-access-control", "beacon"] as const;
export type SwitchProxyKind = (typeof SWITCH_PROXY_KINDS)[number];

export interface SwitchSettings {
  address: string;
  approver: string;
  /** Zero address when no rotation is pending. */
  pendingApprover: string;
  guardians: string[];
  /** Seconds. */
  rollbackDelay: number;
  /** Seconds. */
  rollbackWindow: number;
}

/** One proxy as the switch tracks it. Times are unix seconds (0: not set). */
export interface ProxyRelease {
  proxy: string;
  adopted: boolean;
  proxyAdmin: string;
  /** 4 or 5 (OpenZeppelin ProxyAdmin major version); 0 when not adopted. */
  adminVersion: number;
  /** How the switch upgrades it (the switch's ProxyKind); "none" when not adopted. */
  kind: SwitchProxyKind;
  status: SwitchStatus;
  implementation: string;
  blue: string;
  green: string;
  greenCodehash: string;
  evidenceHash: string;
  promotedAt: number;
  windowEnd: number;
  rollbackReadyAt: number;
  /** True when `executeRollback` would succeed now. */
  canExecuteRollback: boolean;
}

/** An ethers Contract for the switch at `address`, connected to `runner` (a provider or a signer). */
export async function switchContract(address: string, runner: ContractRunner): Promise<Contract> {
  return new Contract(address, (await loadSwitchArtifact()).abi, runner);
}

export async function readSwitchSettings(runner: ContractRunner, address: string): Promise<SwitchSettings> {
  const sw = await switchContract(address, runner);
  const [approver, pendingApprover, guardians, rollbackDelay, rollbackWindow] = await Promise.all([
    sw.getFunction("approver")() as Promise<string>,
    sw.getFunction("pendingApprover")() as Promise<string>,
    sw.getFunction("guardians")() as Promise<string[]>,
    sw.getFunction("rollbackDelay")() as Promise<bigint>,
    sw.getFunction("rollbackWindow")() as Promise<bigint>,
  ]);
  return {
    address: getAddress(address),
    approver,
    pendingApprover,
    guardians: [...guardians],
    rollbackDelay: Number(rollbackDelay),
    rollbackWindow: Number(rollbackWindow),
  };
}

/**
 * True when `address` answers like a BlueGreenSwitch (its role and timing
 * views). Guards against handing a ProxyAdmin to the wrong contract.
 */
export async function isSwitchAt(runner: ContractRunner, address: string): Promise<boolean> {
  try {
    const settings = await readSwitchSettings(runner, address);
    return settings.rollbackWindow > 0;
  } catch {
    return false;
  }
}

export async function readProxyRelease(runner: ContractRunner, switchAddress: string, proxy: string): Promise<ProxyRelease> {
  const sw = await switchContract(switchAddress, runner);
  const [state, canExecuteRollback] = await Promise.all([
    sw.getFunction("proxyState")(proxy),
    sw.getFunction("canExecuteRollback")(proxy) as Promise<boolean>,
  ]);
  const proxyAdmin = state.proxyAdmin as string;
  return {
    proxy: getAddress(proxy),
    adopted: BigInt(proxyAdmin) !== 0n,
    proxyAdmin,
    adminVersion: Number(state.adminVersion),
    kind: SWITCH_PROXY_KINDS[Number(state.kind ?? 0)] ?? "none",
    status: SWITCH_STATUSES[Number(state.status)] ?? "none",
    implementation: state.implementation,
    blue: state.blue,
    green: state.green,
    greenCodehash: state.greenCodehash,
    evidenceHash: state.evidenceHash,
    promotedAt: Number(state.promotedAt),
    windowEnd: Number(state.windowEnd),
    rollbackReadyAt: Number(state.rollbackReadyAt),
    canExecuteRollback,
  };
}

/** A decoded custom error of the switch (or of OpenZeppelin code it inherits). */
export interface SwitchRevert {
  name: string;
  args: unknown[];
  /** e.g. `UnexpectedBlue(0xProxy, 0xExpected, 0xActual)` */
  signature: string;
}

/**
 * Finds revert data in an ethers or Hardhat error and decodes it with the
 * switch's ABI. Undefined when there is none or it is not a switch error.
 */
export async function decodeSwitchRevert(error: unknown, iface?: Interface): Promise<SwitchRevert | undefined> {
  const data = findRevertData(error);
  if (data === undefined) return undefined;
  const abi = iface ?? (await switchInterface());
  try {
    const parsed = abi.parseError(data);
    if (parsed === null) return undefined;
    const args = [...parsed.args].map((a) => (typeof a === "bigint" ? a.toString() : a));
    return { name: parsed.name, args, signature: `${parsed.name}(${args.join(", ")})` };
  } catch {
    return undefined;
  }
}

/** Revert data nested somewhere in an error object (ethers and Hardhat wrap it differently). */
export function findRevertData(error: unknown, depth = 0): string | undefined {
  if (depth > 6 || error === null || typeof error !== "object") return undefined;
  const e = error as Record<string, unknown>;
  if (typeof e.data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(e.data)) return e.data;
  for (const key of ["data", "error", "info", "cause", "revert"]) {
    const found = findRevertData(e[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
