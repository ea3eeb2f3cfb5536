/**
 * `bg:replay merge`: the partial reports of n shards become the one report
 * of the range, as if one run had replayed it.
 *
 * The merge trusts nothing it can check: every partial must be of the same
 * release, green, range, mode and settings, and of the same n; together
 * they must cover the range exactly once (shards 1..n, each slice starting
 * right after the one before); each partial's comparisons file must still
 * have the sha256 its report gives. Then the tallies add up in shard order,
 * which is chain order, and the comparisons files are joined the same way.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { BlueGreenError } from "../errors.js";
import { assembleReport, PARTIAL_REPORT_SCHEMA, REPORT_SCHEMA, reportCounts, type ReplayReport } from "./report.js";
import { addTallies, type ComparisonsFile, emptyTally, joinComparisonFiles, sha256File, type Tally } from "./report-stream.js";
import type { PrefetchSummary } from "./prefetch.js";
import type { ShardSlice } from "./shard.js";

export interface PartialInput {
  /** As given (for messages). */
  file: string;
  report: ReplayReport & { shard: ShardSlice };
}

/** Reads the partial reports; each must be a shard's. */
export async function readPartialReports(files: string[]): Promise<PartialInput[]> {
  if (files.length === 0) {
    throw new BlueGreenError("BG_REPLAY_MERGE_INPUT", "Which partial reports? Pass every shard's report: `npx hardhat bg:replay merge <dir>/replay-shard-*.json`.");
  }
  const inputs: PartialInput[] = [];
  for (const file of files) {
    let doc: ReplayReport;
    try {
      doc = JSON.parse(await readFile(file, "utf8")) as ReplayReport;
    } catch (e) {
      throw new BlueGreenError("BG_REPLAY_MERGE_INPUT", `Cannot read the partial report ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}. Check the path (each shard writes replay-shard-<i>-of-<n>-<time>.json in the release folder).`);
    }
    if (doc?.schema !== PARTIAL_REPORT_SCHEMA || doc.shard === undefined) {
      throw new BlueGreenError(
        "BG_REPLAY_MERGE_INPUT",
        doc?.schema === REPORT_SCHEMA
          ? `${file} is a whole replay report, not a shard's partial report: it needs no merge.`
          : `${file} is not a shard's partial report (schema ${String(doc?.schema)}, expected ${PARTIAL_REPORT_SCHEMA}). Pass the files that \`bg:replay --shard i/n\` wrote.`,
      );
    }
    inputs.push({ file, report: doc as PartialInput["report"] });
  }
  return inputs;
}

/** The fields every partial of one replay shares, with how to say so when they do not. */
const SAME: Array<[string, (r: ReplayReport) => unknown, string]> = [
  ["release", (r) => `${r.chainId}/${r.release}`, "the shards replayed different releases"],
  ["green code hash", (r) => r.greenCodehash, "the shards replayed different greens: stage once, and run every shard against that release"],
  ["blue and proxy", (r) => `${r.proxy} ${r.blue.address} ${r.blue.codehash}`, "the shards replayed different proxies or blues"],
  ["range", (r) => `${r.fromBlock}-${r.toBlock}`, "the shards cut different ranges: give every shard the same --from-block and --to-block"],
  ["mode", (r) => `${r.mode}${r.cascade ? "+cascade" : ""}`, "the shards ran in different modes: give every shard the same --mode"],
  ["settings", (r) => r.settings?.hash ?? "(none)", "the shards compared with different settings (gas tolerance, expected differences, tracing or fidelity threshold): run them with the same config"],
  ["shard count", (r) => r.shard!.count, "the partial reports come from different --shard i/n splits: merge the n reports of one split"],
  ["discovered traffic", (r) => JSON.stringify(r.discovery), "the shards discovered different traffic (their sources differ), so their slices do not fit together: run every shard against the same source"],
];

/** Checks the partials fit together: same replay, shards 1..n each once, the range covered exactly once. */
export function checkPartials(inputs: PartialInput[]): PartialInput[] {
  const first = inputs[0]!;
  for (const [what, key, why] of SAME) {
    const expected = JSON.stringify(key(first.report));
    const other = inputs.find((i) => JSON.stringify(key(i.report)) !== expected);
    if (other !== undefined) {
      throw new BlueGreenError(
        "BG_REPLAY_MERGE_MISMATCH", `${first.file} and ${other.file} differ in ${what} (${String(key(first.report)).slice(0, 80)} vs ${String(key(other.report)).slice(0, 80)}): ${why}.`,
      );
    }
  }
  const count = first.report.shard.count;
  const byIndex = new Map<number, PartialInput>();
  for (const input of inputs) {
    const twin = byIndex.get(input.report.shard.index);
    if (twin !== undefined) {
      throw new BlueGreenError(
        "BG_REPLAY_MERGE_OVERLAP",
        `Shard ${input.report.shard.index}/${count} is given twice (${twin.file} and ${input.file}): its blocks ${input.report.shard.fromBlock}-${input.report.shard.toBlock} would count twice. Pass each shard's report once.`,
      );
    }
    byIndex.set(input.report.shard.index, input);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new BlueGreenError(
      "BG_REPLAY_MERGE_GAP",
      `Shard${missing.length === 1 ? "" : "s"} ${missing.map((i) => `${i}/${count}`).join(", ")} ${missing.length === 1 ? "is" : "are"} missing: part of blocks ${first.report.fromBlock}-${first.report.toBlock} was not replayed. ` +
        "Run the missing shards (same arguments, --shard i/n) and pass every partial report.",
    );
  }
  const ordered = [...byIndex.values()].sort((a, b) => a.report.shard.index - b.report.shard.index);
  let next = first.report.fromBlock;
  for (const input of ordered) {
    const s = input.report.shard;
    if (s.fromBlock > next) {
      throw new BlueGreenError(
        "BG_REPLAY_MERGE_GAP", `Blocks ${next}-${s.fromBlock - 1} are in no shard: shard ${s.index}/${count} (${input.file}) starts at ${s.fromBlock}. Replay the shards again with the same arguments and source.`,
      );
    }
    if (s.fromBlock < next) {
      throw new BlueGreenError(
        "BG_REPLAY_MERGE_OVERLAP", `Blocks ${s.fromBlock}-${Math.min(next - 1, s.toBlock)} are in two shards: shard ${s.index}/${count} (${input.file}) starts at ${s.fromBlock}, before the end of the shard before it. Replay the shards again with the same arguments and source.`,
      );
    }
    next = Math.max(next, s.toBlock + 1);
  }
  if (next !== first.report.toBlock + 1) {
    throw new BlueGreenError("BG_REPLAY_MERGE_GAP", `Blocks ${next}-${first.report.toBlock} are in no shard. Replay the shards again with the same arguments and source.`);
  }
  return ordered;
}

/** A partial report's tally, as it was when the shard finished. */
function tallyOf(r: ReplayReport): Tally {
  const counts = reportCounts(r);
  return {
    ...emptyTally(r.kept ?? Number.MAX_SAFE_INTEGER),
    txs: r.txs,
    mined: r.replayed,
    blocks: r.blocks,
    divergences: { kept: r.divergences, count: counts.divergences },
    critical: counts.critical,
    expected: { kept: r.expected, count: counts.expected },
    propagated: { kept: r.propagated, count: counts.propagated },
    fidelity: {
      matched: r.fidelity.matched,
      total: r.fidelity.total,
      receipts: r.fidelity.receipts,
      state: r.fidelity.state,
      mismatches: { kept: r.fidelity.mismatches, count: counts.mismatches },
    },
    skipped: { kept: r.skipped, count: counts.skipped },
    adjustments: { kept: r.adjustments, count: counts.adjustments },
    ...(r.fleet !== undefined ? { proxies: Object.fromEntries(r.fleet.proxies.map((p) => [p.address, { compared: p.compared, divergences: p.divergences }])) } : {}),
  };
}

/**
 * Merges checked partials into one report and joins their comparisons files
 * into `outputDir/<stem>.comparisons.jsonl`.
 */
export async function mergePartials(
  inputs: PartialInput[],
  output: { dir: string; stem: (startedAt: string) => string },
): Promise<ReplayReport> {
  const ordered = checkPartials(inputs);
  const parts: string[] = [];
  for (const { file, report } of ordered) {
    const c = report.comparisons;
    if (c === undefined) {
      throw new BlueGreenError("BG_REPLAY_MERGE_INPUT", `${file} names no comparisons file: it was not written by bg:replay --shard. Replay that shard again.`);
    }
    const part = path.join(path.dirname(file), c.file);
    const sha256 = await sha256File(part).catch((e: NodeJS.ErrnoException) => {
      throw new BlueGreenError("BG_REPLAY_MERGE_INPUT", `The comparisons file ${part} of ${file} cannot be read (${e.code ?? e.message}): keep it beside its partial report (upload both), or replay that shard again.`);
    });
    if (sha256 !== c.sha256) {
      throw new BlueGreenError("BG_REPLAY_MERGE_INPUT", `The comparisons file ${part} changed since shard ${report.shard.index}/${report.shard.count} wrote it (sha256 ${sha256}, its report says ${c.sha256}). Replay that shard again.`);
    }
    parts.push(part);
  }
  const reports = ordered.map((i) => i.report);
  const tally = reports.map(tallyOf).reduce(addTallies);
  const first = reports[0]!;
  const startedAt = new Date(Math.min(...reports.map((r) => Date.parse(r.startedAt))));
  const finishedAt = new Date(Math.max(...reports.map((r) => Date.parse(r.finishedAt))));
  const warnings = [...new Set(reports.flatMap((r) => r.warnings))];
  const stem = output.stem(startedAt.toISOString());
  const file = `${stem}.comparisons.jsonl`;
  const joined = await joinComparisonFiles(parts, path.join(output.dir, file));
  const comparisonsFile: ComparisonsFile = { file, ...joined };
  // The shards ran side by side: the slowest one is the replay's wall time.
  const replaySeconds = Math.max(...reports.map((r) => r.timing.replaySeconds));
  return assembleReport(
    {
      release: { id: first.release, chainId: first.chainId, proxy: first.proxy, blue: first.blue, green: first.green },
      ...(first.kind !== undefined ? { kind: first.kind } : {}),
      ...(first.fleet !== undefined ? { fleet: first.fleet } : {}),
      mode: first.mode,
      cascade: first.cascade,
      traffic: first.traffic,
      fromBlock: first.fromBlock,
      toBlock: first.toBlock,
      mergedShards: reports.length,
      ...(first.settings !== undefined ? { settings: first.settings } : {}),
      forkBlocks: reports.flatMap((r) => r.forkBlocks),
      discovery: first.discovery,
      fidelityThreshold: first.fidelity.threshold,
      warnings,
      sourceRequests: {
        discovery: reports.reduce((n, r) => n + r.sourceRequests.discovery, 0),
        fork: reports.reduce((n, r) => n + r.sourceRequests.fork, 0),
        cached: reports.reduce((n, r) => n + r.sourceRequests.cached, 0),
        ...mergedPrefetch(reports),
      },
      comparisonsFile,
      startedAt,
      finishedAt,
      seconds: Math.max(...reports.map((r) => r.timing.seconds)),
      replaySeconds,
    },
    tally,
  );
}

/**
 * The shards' prefetch figures added up. The path is the one they share;
 * when they differ (a source that answered one shard's traces and not
 * another's), the first shard's, and the reason names them all.
 */
function mergedPrefetch(reports: ReplayReport[]): { prefetch?: PrefetchSummary } {
  const all = reports.map((r) => r.sourceRequests.prefetch).filter((p): p is PrefetchSummary => p !== undefined);
  if (all.length === 0) return {};
  const paths = [...new Set(all.map((p) => p.path))];
  const reasons = [...new Set(all.flatMap((p) => (p.reason !== undefined ? [p.reason] : [])))];
  if (paths.length > 1) reasons.unshift(`the shards prefetched by ${paths.join(", ")}`);
  const sum = (key: "requests" | "cachedBlocks" | "accounts" | "slots" | "served") => all.reduce((n, p) => n + p[key], 0);
  return {
    prefetch: {
      path: all[0]!.path,
      ...(reasons.length > 0 ? { reason: reasons.join("; ") } : {}),
      requests: sum("requests"),
      cachedBlocks: sum("cachedBlocks"),
      accounts: sum("accounts"),
      slots: sum("slots"),
      served: sum("served"),
    },
  };
}
