/**
 * The replay report: what the JSON file in the release folder holds, and how
 * it is built from the comparisons. Data first; the Markdown and terminal
 * views render this object.
 */
import type { CanaryReplaySummary } from "./canary-replay.js";
import { keccak256, toUtf8Bytes } from "ethers";

import type { ReplayMode } from "./config.js";
import { type FleetReport, withProxyCounts } from "./beacon-fleet.js";
import type { AbiDecoder } from "./decode.js";
import type { DiscoverySummary } from "./discover-traffic.js";
import type { PrefetchSummary } from "./prefetch.js";
import type { ReportEntry } from "./report-entry.js";
import { type ComparisonsFile, emptyTally, type Tally, tallyAdjustment, tallyComparison, tallyMismatch, tallyPropagated, tallySkipped } from "./report-stream.js";
import type { ShardSlice } from "./shard.js";
import type { Fidelity } from "./twin-executor.js";
import type { Difference, Observation, TxComparison } from "./types.js";

export type { ReportEntry, SideSummary } from "./report-entry.js";

export const REPORT_SCHEMA = "hardhat-bluegreen/replay-report@2";

/**
 * - clean: blue reproduced the chain, and green did nothing blue did not;
 * - divergent: blue reproduced the chain, and green diverged;
 * - inconclusive: blue did not reproduce the chain (fidelity below the
 *   threshold), so no difference or absence of one can be trusted; or
 *   nothing was compared at all, which proves nothing either.
 */
export type ReplayVerdict = "clean" | "divergent" | "inconclusive";

/** The exit code of `bg:replay` for a verdict. */
export const VERDICT_EXIT_CODES: Readonly<Record<ReplayVerdict, number>> = { clean: 0, divergent: 1, inconclusive: 2 };

/** The schema of a shard's partial report: not a report the replay gate or the record takes. */
export const PARTIAL_REPORT_SCHEMA = "hardhat-bluegreen/replay-partial@1";

/** What a replay compared with: two runs (two shards) agree only if these agree. */
export interface ReplaySettings {
  gasTolerance: number;
  /** How many expected differences were declared; `hash` covers the rules themselves. */
  expected: number;
  tracing: "auto" | "off";
  /** keccak256 of the canonical JSON of the tolerance, the rules, the tracing and the fidelity threshold. */
  hash: string;
}

export interface ReplayReport {
  schema: typeof REPORT_SCHEMA | typeof PARTIAL_REPORT_SCHEMA;
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
  /** The whole range (for a shard too: its own slice is `shard`). */
  fromBlock: number;
  toBlock: number;
  /** A shard's partial report only: which slice of the range it replayed. */
  shard?: ShardSlice;
  /** Merged reports only: how many shards were merged. */
  mergedShards?: number;
  /** Absent in reports written before settings were recorded. */
  settings?: ReplaySettings;
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
  /**
   * The totals of the lists below, which hold the first `kept` entries in
   * full (the comparisons file has every one). Absent in older reports,
   * whose lists are complete.
   */
  counts?: { divergences: number; critical: number; expected: number; propagated: number; mismatches: number; skipped: number; adjustments: number };
  /** Entries kept in full per list. */
  kept?: number;
  /** The per-transaction comparisons, as JSON Lines beside the report. */
  comparisons?: ComparisonsFile;
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

/** Totals, whether or not the report's lists are complete. */
export function reportCounts(report: ReplayReport): NonNullable<ReplayReport["counts"]> {
  return (
    report.counts ?? {
      divergences: report.divergences.length,
      critical: report.divergences.filter((d) => d.critical).length,
      expected: report.expected.length,
      propagated: report.propagated.length,
      mismatches: report.fidelity.mismatches.length,
      skipped: report.skipped.length,
      adjustments: report.adjustments.length,
    }
  );
}

/** What a report says besides the tally: the release, the traffic, the run. */
export interface ReportHead {
  release: { id: string; chainId: number; proxy: string; blue: { address: string; codehash: string }; green: { address: string; codehash: string } };
  mode: ReplayMode;
  cascade: boolean;
  traffic: ReplayReport["traffic"];
  fromBlock: number;
  toBlock: number;
  /** The proxy kind, and for a beacon its fleet (rows from discovery; the tally adds the counts). */
  kind?: ReplayReport["kind"];
  fleet?: FleetReport;
  shard?: ShardSlice;
  mergedShards?: number;
  settings?: ReplaySettings;
  forkBlocks: number[];
  discovery: DiscoverySummary;
  fidelityThreshold: number | undefined;
  warnings: string[];
  sourceRequests: ReplayReport["sourceRequests"];
  comparisonsFile?: ComparisonsFile;
  startedAt: Date;
  finishedAt: Date;
  /** Wall time of the run (defaults to finishedAt - startedAt). */
  seconds?: number;
  replaySeconds: number;
}

export interface ReportInput extends ReportHead {
  comparisons: TxComparison[];
  /** Green's observations in the cascade world, by hash. */
  cascadeGreen?: Map<string, Observation>;
  replayed: number;
  blocks: number;
  fidelity: Fidelity;
  skipped: ReplayReport["skipped"];
  adjustments: string[];
  decoder: AbiDecoder;
  compareCascade?: (blue: Observation, green: Observation) => Difference[];
  /** Entries kept in full per list (all of them when not given). */
  keep?: number;
}

/** A report from comparisons held in memory (small replays, tests); long replays stream into a tally instead. */
export function buildReport(input: ReportInput): ReplayReport {
  const tally = emptyTally(input.keep ?? Number.MAX_SAFE_INTEGER);
  for (const c of input.comparisons) {
    tallyComparison(tally, c, input.decoder);
    const cascadeGreen = input.cascadeGreen?.get(c.hash);
    if (cascadeGreen !== undefined && input.compareCascade !== undefined && c.differences.length === 0) {
      const drift = input.compareCascade(c.blue, cascadeGreen).filter((d) => d.expectedBy === undefined);
      if (drift.length > 0) tallyPropagated(tally, c, cascadeGreen, drift, input.decoder);
    }
  }
  tally.mined = input.replayed;
  tally.blocks = input.blocks;
  const { mismatches, ...counters } = input.fidelity;
  tally.fidelity = { ...counters, mismatches: { kept: [], count: 0 } };
  for (const m of mismatches) tallyMismatch(tally, m);
  for (const s of input.skipped) tallySkipped(tally, s);
  for (const a of input.adjustments) tallyAdjustment(tally, a);
  const { comparisons: _c, cascadeGreen: _g, replayed: _r, blocks: _b, fidelity: _f, skipped: _s, adjustments: _a, decoder: _d, compareCascade: _x, keep: _k, ...head } = input;
  return assembleReport(head, tally, { complete: input.keep === undefined });
}

/**
 * The report from its head and tally. `complete` says the lists hold every
 * entry (no `counts` needed, the report reads as before streaming).
 */
export function assembleReport(head: ReportHead, tally: Tally, options: { complete?: boolean } = {}): ReplayReport {
  const seconds = head.seconds ?? (head.finishedAt.getTime() - head.startedAt.getTime()) / 1000;
  const fidelity: Fidelity = { ...tally.fidelity, mismatches: tally.fidelity.mismatches.kept };
  const partial = head.shard !== undefined;
  // A shard may hold none of the proxy's traffic; only the merged whole must have compared something.
  const { verdict, reason } = decideVerdict(tally.divergences.count, fidelity, head.fidelityThreshold, partial ? undefined : tally.txs);
  return {
    schema: partial ? PARTIAL_REPORT_SCHEMA : REPORT_SCHEMA,
    release: head.release.id,
    chainId: head.release.chainId,
    proxy: head.release.proxy.toLowerCase(),
    ...(head.kind !== undefined ? { kind: head.kind } : {}),
    ...(head.fleet !== undefined ? { fleet: withProxyCounts(head.fleet, tally.proxies ?? {}) } : {}),
    blue: { address: head.release.blue.address.toLowerCase(), codehash: head.release.blue.codehash.toLowerCase() },
    green: { address: head.release.green.address.toLowerCase(), codehash: head.release.green.codehash.toLowerCase() },
    greenCodehash: head.release.green.codehash.toLowerCase(),
    mode: head.mode,
    cascade: head.cascade,
    traffic: head.traffic,
    fromBlock: head.fromBlock,
    toBlock: head.toBlock,
    ...(head.shard !== undefined ? { shard: head.shard } : {}),
    ...(head.mergedShards !== undefined ? { mergedShards: head.mergedShards } : {}),
    ...(head.settings !== undefined ? { settings: head.settings } : {}),
    forkBlocks: head.forkBlocks,
    verdict,
    verdictReason: reason,
    blocks: tally.blocks,
    discovery: head.discovery,
    txs: tally.txs,
    replayed: tally.mined,
    ...(options.complete === true
      ? {}
      : {
          counts: {
            divergences: tally.divergences.count,
            critical: tally.critical,
            expected: tally.expected.count,
            propagated: tally.propagated.count,
            mismatches: tally.fidelity.mismatches.count,
            skipped: tally.skipped.count,
            adjustments: tally.adjustments.count,
          },
          kept: tally.keep,
        }),
    ...(head.comparisonsFile !== undefined ? { comparisons: head.comparisonsFile } : {}),
    divergences: tally.divergences.kept,
    expected: tally.expected.kept,
    propagated: tally.propagated.kept,
    fidelity: { ...fidelity, ...(head.fidelityThreshold !== undefined ? { threshold: head.fidelityThreshold } : {}) },
    skipped: tally.skipped.kept,
    adjustments: tally.adjustments.kept,
    warnings: head.warnings,
    sourceRequests: head.sourceRequests,
    timing: {
      seconds: round(seconds, 3),
      replaySeconds: round(head.replaySeconds, 3),
      txPerSecond: head.replaySeconds > 0 ? round(tally.txs / head.replaySeconds, 1) : 0,
    },
    startedAt: head.startedAt.toISOString(),
    finishedAt: head.finishedAt.toISOString(),
  };
}

/**
 * Fidelity decides first: a replay whose blue did not reproduce the chain
 * proves nothing either way, so its divergences are reported but it is not
 * "divergent", and its silence is not "clean".
 */
export function decideVerdict(
  divergences: number,
  fidelity: Fidelity,
  threshold: number | undefined,
  compared?: number,
): { verdict: ReplayVerdict; reason: string } {
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
  if (compared === 0) {
    return {
      verdict: "inconclusive",
      reason: "inconclusive: nothing was compared (no transaction of the traffic reached the proxy, or none could be compared): replay a range that holds the proxy's traffic",
    };
  }
  return { verdict: "clean", reason: "clean: blue reproduced the chain and green did nothing blue did not" };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
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
    // The list above holds the first `kept` divergences; when there are more, this says how many.
    ...(reportCounts(report).divergences > report.divergences.length ? { divergenceCount: reportCounts(report).divergences } : {}),
    expected: reportCounts(report).expected,
    propagated: reportCounts(report).propagated,
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
    ...(report.shard !== undefined ? { partial: true, shard: report.shard } : {}),
    ...(report.mergedShards !== undefined ? { mergedShards: report.mergedShards } : {}),
    warnings: report.warnings,
    ...(report.canary !== undefined ? { canary: report.canary } : {}),
    ...(extra.reportFile !== undefined ? { report: extra.reportFile } : {}),
    ...(report.comparisons !== undefined ? { comparisons: report.comparisons.file } : {}),
  };
}
