/**
 * The replay report: what the JSON file in the release folder holds, and how
 * it is built from the comparisons. Data first; the Markdown and terminal
 * views render this object.
 */
import type { CanaryReplaySummary } from "./canary-replay.js";
import { keccak256, toUtf8Bytes } from "ethers";

import { jsonSafe } from "../common/format.js";
import { allExpected, primaryKind } from "./compare.js";
import type { ReplayMode } from "./config.js";
import { type FleetReport, fleetReport, type ResolvedFleet } from "./beacon-fleet.js";
import type { AbiDecoder } from "./decode.js";
import type { DiscoverySummary } from "./discover-traffic.js";
import type { PrefetchSummary } from "./prefetch.js";
import type { Fidelity } from "./twin-executor.js";
import type { Difference, DifferenceKind, DiscoveryMethod, Observation, TxComparison } from "./types.js";

export const REPORT_SCHEMA = "hardhat-bluegreen/replay-report@2";

/**
 * - clean: blue reproduced the chain, and green did nothing blue did not;
 * - divergent: blue reproduced the chain, and green diverged;
 * - inconclusive: blue did not reproduce the chain (fidelity below the
 *   threshold), so no difference or absence of one can be trusted.
 */
export type ReplayVerdict = "clean" | "divergent" | "inconclusive";

/** The exit code of `bg:replay` for a verdict. */
export const VERDICT_EXIT_CODES: Readonly<Record<ReplayVerdict, number>> = { clean: 0, divergent: 1, inconclusive: 2 };

/** One side (blue or green) of a transaction, for people and machines. */
export interface SideSummary {
  status: "success" | "revert";
  revert?: string;
  returnData?: string;
  gasUsed: string;
  events: string[];
  /** Post values of the proxy slots that differ between blue and green. */
  storage?: Record<string, string>;
}

export interface ReportEntry {
  txHash: string;
  /** The most significant unexpected difference (or the first expected one). */
  kind: DifferenceKind;
  kinds: DifferenceKind[];
  blockNumber?: number;
  line?: number;
  from?: string;
  to?: string;
  /** The transaction's calldata, decoded. */
  call: string;
  /** The calls that reached the proxy, decoded (differs from `call` for internal calls). */
  proxyCalls: string[];
  foundBy: DiscoveryMethod[];
  method: "exact";
  /** Green wrote the proxy's own slots (implementation, admin, beacon). */
  critical: boolean;
  blue: SideSummary;
  green: SideSummary;
  differences: Array<{ kind: DifferenceKind; blue: unknown; green: unknown; expectedBy?: string; critical?: true }>;
}

export interface ReplayReport {
  schema: typeof REPORT_SCHEMA;
  release: string;
  chainId: number;
  /** The address the switch upgrades: the proxy, or a beacon. */
  proxy: string;
  /** The proxy kind (absent in reports from before kinds were recorded: transparent). */
  kind?: "transparent" | "uups" | "beacon";
  /** A beacon release: every proxy of the beacon replayed, with counts per proxy. */
  fleet?: FleetReport;
  blue: { address: string; codehash: string };
  green: { address: string; codehash: string };
  greenCodehash: string;
  mode: ReplayMode;
  cascade: boolean;
  traffic: { source: "chain" } | { source: "capture"; file: string; lines: number };
  fromBlock: number;
  toBlock: number;
  /** Where each parallel fork was pinned. */
  forkBlocks: number[];
  /** The verdict, and why in words. */
  verdict: ReplayVerdict;
  verdictReason: string;
  /** Blocks built on the fork, one per original block with traffic. */
  blocks: number;
  discovery: DiscoverySummary;
  /** Target transactions (and calls) compared blue against green. */
  txs: number;
  /** All transactions sent on the fork, targets and the rest of their blocks. */
  replayed: number;
  /** Root divergences not covered by a declared expected difference: one entry per transaction. */
  divergences: ReportEntry[];
  /** Transactions whose every difference is declared expected. */
  expected: ReportEntry[];
  /** Differences seen only when green's own state carries forward (`--cascade`), beyond the root divergences. */
  propagated: ReportEntry[];
  /** Checks of blue against the chain; `threshold` is the share the verdict needed (none in fast mode unless configured). */
  fidelity: Fidelity & { threshold?: number };
  skipped: Array<{ hash: string; reason: string }>;
  adjustments: string[];
  warnings: string[];
  /** Requests that reached the source, and those the cache answered; `prefetch`: how the forks' state was fetched in bulk. */
  sourceRequests: { discovery: number; fork: number; cached: number; prefetch?: PrefetchSummary };
  /** Wall time of the whole run, of the replay loop alone, and targets compared per second of the loop. */
  timing: { seconds: number; replaySeconds: number; txPerSecond: number };
  startedAt: string;
  finishedAt: string;
  /** `--canary`: the split the live canary would make, and the router's gas overhead. */
  canary?: CanaryReplaySummary;
}

export interface ReportInput {
  release: { id: string; chainId: number; proxy: string; blue: { address: string; codehash: string }; green: { address: string; codehash: string } };
  mode: ReplayMode;
  cascade: boolean;
  traffic: ReplayReport["traffic"];
  fromBlock: number;
  toBlock: number;
  forkBlocks: number[];
  discovery: DiscoverySummary;
  comparisons: TxComparison[];
  /** What was replayed: one proxy, or a beacon's proxies. */
  fleet?: ResolvedFleet;
  /** Green's observations in the cascade world, by hash. */
  cascadeGreen?: Map<string, Observation>;
  replayed: number;
  blocks: number;
  fidelity: Fidelity;
  fidelityThreshold: number | undefined;
  skipped: ReplayReport["skipped"];
  adjustments: string[];
  warnings: string[];
  sourceRequests: ReplayReport["sourceRequests"];
  startedAt: Date;
  finishedAt: Date;
  replaySeconds: number;
  decoder: AbiDecoder;
  compareCascade?: (blue: Observation, green: Observation) => Difference[];
}

export function buildReport(input: ReportInput): ReplayReport {
  const divergences: ReportEntry[] = [];
  const expected: ReportEntry[] = [];
  const propagated: ReportEntry[] = [];
  for (const c of input.comparisons) {
    if (c.differences.length > 0) {
      const entry = toEntry(c, c.blue, c.green, c.differences, input.decoder);
      (allExpected(c.differences) ? expected : divergences).push(entry);
    }
    const cascadeGreen = input.cascadeGreen?.get(c.hash);
    if (cascadeGreen !== undefined && input.compareCascade !== undefined && c.differences.length === 0) {
      const drift = input.compareCascade(c.blue, cascadeGreen).filter((d) => d.expectedBy === undefined);
      if (drift.length > 0) propagated.push(toEntry(c, c.blue, cascadeGreen, drift, input.decoder));
    }
  }
  const seconds = (input.finishedAt.getTime() - input.startedAt.getTime()) / 1000;
  const { verdict, reason } = decideVerdict(divergences.length, input.fidelity, input.fidelityThreshold);
  return {
    schema: REPORT_SCHEMA,
    release: input.release.id,
    chainId: input.release.chainId,
    proxy: input.release.proxy.toLowerCase(),
    ...(input.fleet !== undefined ? { kind: input.fleet.kind } : {}),
    ...(input.fleet?.kind === "beacon"
      ? { fleet: fleetReport(input.fleet, input.discovery, input.comparisons, new Set(divergences.map((d) => d.txHash))) }
      : {}),
    blue: { address: input.release.blue.address.toLowerCase(), codehash: input.release.blue.codehash.toLowerCase() },
    green: { address: input.release.green.address.toLowerCase(), codehash: input.release.green.codehash.toLowerCase() },
    greenCodehash: input.release.green.codehash.toLowerCase(),
    mode: input.mode,
    cascade: input.cascade,
    traffic: input.traffic,
    fromBlock: input.fromBlock,
    toBlock: input.toBlock,
    forkBlocks: input.forkBlocks,
    verdict,
    verdictReason: reason,
    blocks: input.blocks,
    discovery: input.discovery,
    txs: input.comparisons.length,
    replayed: input.replayed,
    divergences,
    expected,
    propagated,
    fidelity: { ...input.fidelity, ...(input.fidelityThreshold !== undefined ? { threshold: input.fidelityThreshold } : {}) },
    skipped: input.skipped,
    adjustments: input.adjustments,
    warnings: input.warnings,
    sourceRequests: input.sourceRequests,
    timing: {
      seconds: round(seconds, 3),
      replaySeconds: round(input.replaySeconds, 3),
      txPerSecond: input.replaySeconds > 0 ? round(input.comparisons.length / input.replaySeconds, 1) : 0,
    },
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
  };
}

/**
 * Fidelity decides first: a replay whose blue did not reproduce the chain
 * proves nothing either way, so its divergences are reported but it is not
 * "divergent", and its silence is not "clean".
 */
export function decideVerdict(divergences: number, fidelity: Fidelity, threshold: number | undefined): { verdict: ReplayVerdict; reason: string } {
  if (threshold !== undefined && fidelity.total > 0 && fidelity.matched < threshold * fidelity.total) {
    const needed = threshold === 1 ? "all of them" : `at least ${(threshold * 100).toFixed(1)}%`;
    return {
      verdict: "inconclusive",
      reason:
        `inconclusive: blue did not reproduce the chain (fidelity ${fidelity.matched}/${fidelity.total}: receipts ${fidelity.receipts.matched}/${fidelity.receipts.total}, ` +
        `state ${fidelity.state.matched}/${fidelity.state.total}; ${needed} must match). See fidelity.mismatches.`,
    };
  }
  if (divergences > 0) return { verdict: "divergent", reason: `divergent: green diverged from blue on ${divergences} transaction(s)` };
  return { verdict: "clean", reason: "clean: blue reproduced the chain and green did nothing blue did not" };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function toEntry(c: TxComparison, blue: Observation, green: Observation, differences: Difference[], decoder: AbiDecoder): ReportEntry {
  const storageSlots = new Set<string>();
  for (const d of differences) if (d.kind === "storage") for (const slot of Object.keys(d.blue as object)) storageSlots.add(slot);
  const side = (o: Observation): SideSummary => ({
    status: o.status,
    ...(o.status === "revert" ? { revert: decoder.revert(o.revertData, o.error) } : {}),
    ...(o.returnData !== undefined && o.returnData !== "0x" ? { returnData: o.returnData } : {}),
    gasUsed: o.gasUsed.toString(),
    events: o.logs.map((l) => decoder.log(l)),
    ...(storageSlots.size > 0
      ? { storage: Object.fromEntries([...storageSlots].map((slot) => [slot, o.storage[slot] ?? "(unchanged)"])) }
      : {}),
  });
  return {
    txHash: c.hash,
    kind: primaryKind(differences)!,
    kinds: differences.map((d) => d.kind),
    ...(c.blockNumber !== undefined ? { blockNumber: c.blockNumber } : {}),
    ...(c.line !== undefined ? { line: c.line } : {}),
    ...(c.from !== undefined ? { from: c.from } : {}),
    ...(c.to !== undefined ? { to: c.to } : {}),
    call: decoder.call(c.input),
    proxyCalls: [...new Set([...blue.proxyInputs, ...green.proxyInputs])].map((input) => decoder.call(input)),
    foundBy: c.foundBy,
    method: c.method,
    critical: differences.some((d) => d.critical === true),
    blue: side(blue),
    green: side(green),
    differences: differences.map((d) => ({
      kind: d.kind,
      blue: jsonSafe(d.blue),
      green: jsonSafe(d.green),
      ...(d.expectedBy !== undefined ? { expectedBy: d.expectedBy } : {}),
      ...(d.critical === true ? { critical: true as const } : {}),
    })),
  };
}

/** The report file's bytes: stable JSON with a trailing newline. Its keccak256 goes into the record. */
export function serializeReport(report: ReplayReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}

export function reportHash(serialized: string): string {
  return keccak256(toUtf8Bytes(serialized));
}

/** The `--json` document of `bg:replay`. */
export function replayJson(report: ReplayReport, extra: { reportFile?: string } = {}) {
  return {
    ok: report.verdict === "clean",
    verdict: report.verdict,
    verdictReason: report.verdictReason,
    release: report.release,
    txs: report.txs,
    blocks: report.blocks,
    divergences: report.divergences.map((d) => ({ txHash: d.txHash, kind: d.kind, critical: d.critical, blue: d.blue, green: d.green })),
    expected: report.expected.length,
    propagated: report.propagated.length,
    fidelity: {
      matched: report.fidelity.matched,
      total: report.fidelity.total,
      receipts: report.fidelity.receipts,
      state: report.fidelity.state,
      ...(report.fidelity.threshold !== undefined ? { threshold: report.fidelity.threshold } : {}),
    },
    mode: report.mode,
    ...(report.kind !== undefined ? { kind: report.kind } : {}),
    ...(report.fleet !== undefined ? { fleet: report.fleet } : {}),
    fromBlock: report.fromBlock,
    toBlock: report.toBlock,
    warnings: report.warnings,
    ...(report.canary !== undefined ? { canary: report.canary } : {}),
    ...(extra.reportFile !== undefined ? { report: extra.reportFile } : {}),
  };
}
