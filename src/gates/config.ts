/**
 * The resolved `blueGreen.gates`: what each gate demands and whether it
 * blocks the release (required) or only informs (advisory), with defaults
 * filled in and paths made absolute. A gate that is left out is not
 * evaluated and shows as "not configured". What a user writes, and its
 * schema, is in `user-config.ts`.
 */
import path from "node:path";

import type { CustomGateUserConfig, GatesUserConfig } from "./user-config.js";

export const DEFAULT_AUDITS_DIR = "audits";
export const DEFAULT_LCOV = "coverage/lcov.info";
/** How many testnet blocks the minTxs count may scan before it gives up as inconclusive. */
export const DEFAULT_MAX_SCAN_BLOCKS = 5_000;

export interface AuditsGateConfig {
  min: number;
  /** Addresses as configured (case kept, so their checksum can be checked), deduplicated. */
  auditors: string[];
  /** Absolute folder of attestation files. */
  dir: string;
  required: boolean;
}

export interface TestnetGateConfig {
  network: string;
  minDays: number;
  minTxs: number;
  switch?: string;
  proxy?: string;
  fromBlock: number;
  maxScanBlocks: number;
  required: boolean;
}

export interface ReplayGateConfig {
  max: number;
  minTxs: number;
  minFidelity: number;
  maxAgeBlocks?: number;
  required: boolean;
}

export interface CoverageGateConfig {
  /** Absolute path of the lcov file. */
  lcov: string;
  min: number;
  required: boolean;
}

export interface SafetyGateConfig {
  required: boolean;
}

export interface SourceGateConfig {
  allowMetadataMismatch: boolean;
  required: boolean;
}

export interface ObservabilityGateConfig {
  guardian?: string;
  noAutoRollback?: { reason: string };
  required: boolean;
}

/** Where one account of a network's config comes from; never the key itself. */
export type AccountSource = "configVariable" | "literal";

/** How a network of the config gets its accounts, read from the user's config before resolution. */
export type NetworkAccounts =
  | { kind: "remote" }
  | { kind: "default" }
  | { kind: "list"; accounts: AccountSource[] }
  | { kind: "mnemonic"; source: AccountSource };

export interface SecretsGateConfig {
  required: boolean;
  /** Every network of the config, by name. */
  networks: Record<string, NetworkAccounts>;
}

export interface CustomGateConfig {
  name: string;
  check: CustomGateUserConfig["check"];
  required: boolean;
}

export interface GatesConfig {
  audits?: AuditsGateConfig;
  testnet?: TestnetGateConfig;
  replay?: ReplayGateConfig;
  coverage?: CoverageGateConfig;
  upgradeSafety?: SafetyGateConfig;
  rollbackSafety?: SafetyGateConfig;
  rollbackPath?: SafetyGateConfig;
  source?: SourceGateConfig;
  observability?: ObservabilityGateConfig;
  secrets?: SecretsGateConfig;
  custom: CustomGateConfig[];
  /** Where `bg:attest` writes, even when the audits gate is not configured. */
  auditsDir: string;
  /** The explicit waiver that lets a release with no gate be proposed. */
  waive?: { reason: string };
}

/**
 * Fills in defaults and makes paths absolute. Expects a config that passed
 * `gatesUserConfigSchema` (Hardhat validates before it resolves).
 */
export function resolveGatesConfig(
  user: GatesUserConfig | undefined,
  projectRoot: string,
  networks: Record<string, NetworkAccounts> = {},
): GatesConfig {
  const auditsDir = path.resolve(projectRoot, user?.audits?.dir ?? DEFAULT_AUDITS_DIR);
  const gates: GatesConfig = {
    custom: (user?.custom ?? []).map((g) => ({ name: g.name, check: g.check, required: g.required ?? true })),
    auditsDir,
  };
  if (user?.audits !== undefined) {
    gates.audits = {
      min: user.audits.min ?? 2,
      auditors: user.audits.auditors.filter(
        (a, i, all) => all.findIndex((b) => b.toLowerCase() === a.toLowerCase()) === i,
      ),
      dir: auditsDir,
      required: user.audits.required ?? true,
    };
  }
  if (user?.testnet !== undefined) {
    const t = user.testnet;
    gates.testnet = {
      network: t.network,
      minDays: t.minDays ?? 14,
      minTxs: t.minTxs ?? 0,
      ...(t.switch !== undefined ? { switch: t.switch.toLowerCase() } : {}),
      ...(t.proxy !== undefined ? { proxy: t.proxy.toLowerCase() } : {}),
      fromBlock: t.fromBlock ?? 0,
      maxScanBlocks: t.maxScanBlocks ?? DEFAULT_MAX_SCAN_BLOCKS,
      required: t.required ?? true,
    };
  }
  if (user?.replay !== undefined) {
    gates.replay = {
      max: user.replay.max ?? 0,
      minTxs: user.replay.minTxs ?? 1,
      minFidelity: user.replay.minFidelity ?? 1,
      ...(user.replay.maxAgeBlocks !== undefined ? { maxAgeBlocks: user.replay.maxAgeBlocks } : {}),
      required: user.replay.required ?? true,
    };
  }
  if (user?.coverage !== undefined) {
    gates.coverage = {
      lcov: path.resolve(projectRoot, user.coverage.lcov ?? DEFAULT_LCOV),
      min: user.coverage.min ?? 80,
      required: user.coverage.required ?? true,
    };
  }
  if (user?.upgradeSafety !== undefined) gates.upgradeSafety = { required: user.upgradeSafety.required ?? true };
  if (user?.rollbackSafety !== undefined) gates.rollbackSafety = { required: user.rollbackSafety.required ?? false };
  if (user?.rollbackPath !== undefined) gates.rollbackPath = { required: user.rollbackPath.required ?? true };
  if (user?.source !== undefined) {
    gates.source = { allowMetadataMismatch: user.source.allowMetadataMismatch ?? false, required: user.source.required ?? true };
  }
  if (user?.observability !== undefined) {
    const o = user.observability;
    gates.observability = {
      ...(o.guardian !== undefined ? { guardian: o.guardian } : {}),
      ...(o.noAutoRollback !== undefined ? { noAutoRollback: { reason: o.noAutoRollback.reason.trim() } } : {}),
      required: o.required ?? true,
    };
  }
  if (user?.secrets !== undefined) gates.secrets = { required: user.secrets.required ?? true, networks };
  if (user?.waive !== undefined) gates.waive = { reason: user.waive.reason.trim() };
  return gates;
}

/** True for a value `configVariable(...)` returned (resolved or not). */
function isConfigVariable(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { _type?: unknown })._type === "ConfigurationVariable";
}

/**
 * How each network of a user config gets its accounts. Read before Hardhat
 * resolves the config, because resolution wraps literal keys and
 * configuration variables alike; only the kind is kept, never a key.
 */
export function networkAccountSources(networks: Record<string, unknown> | undefined): Record<string, NetworkAccounts> {
  const out: Record<string, NetworkAccounts> = {};
  for (const [name, network] of Object.entries(networks ?? {})) {
    const accounts = (network as { accounts?: unknown } | undefined)?.accounts;
    if (accounts === undefined) out[name] = { kind: "default" };
    else if (accounts === "remote") out[name] = { kind: "remote" };
    else if (Array.isArray(accounts)) {
      out[name] = {
        kind: "list",
        accounts: accounts.map((a) => {
          // In-process networks take { privateKey, balance }; http networks take the key itself.
          const key = typeof a === "object" && a !== null && !isConfigVariable(a) ? (a as { privateKey?: unknown }).privateKey : a;
          return isConfigVariable(key) ? "configVariable" : "literal";
        }),
      };
    } else if (typeof accounts === "object" && accounts !== null) {
      out[name] = { kind: "mnemonic", source: isConfigVariable((accounts as { mnemonic?: unknown }).mnemonic) ? "configVariable" : "literal" };
    } else out[name] = { kind: "list", accounts: ["literal"] };
  }
  return out;
}
