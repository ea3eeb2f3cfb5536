/**
 * Flat memory for long replays: every comparison goes to a JSON Lines file
 * as it is made, and what stays in memory is a bounded tally (counts, and
 * the first `keep` entries of each list in full).
 *
 * The comparisons file has one line per compared transaction, then one per
 * fidelity mismatch and per transaction not replayed, as they happen, in
 * chain order (each fork segment writes a part file of its own, and the
 * parts are joined in order at the end). The summary report holds the
 * tally: its lists are the first entries, its `counts` the totals.
 *
 * A tally is plain data, so it is written into a checkpoint as is and two
 * tallies (two segments, two shards) add up in order.
 */
import { createHash } from "node:crypto";
import { type FileHandle, open, rename, rm } from "node:fs/promises";

import { allExpected } from "./compare.js";
import type { AbiDecoder } from "./decode.js";
import { toEntry, type ReportEntry } from "./report-entry.js";
import type { FidelityMismatch } from "./twin-executor.js";
import type { Observation, TxComparison } from "./types.js";

/** Entries of each list kept in full in memory and in the summary report, unless a run says otherwise. */
export const DEFAULT_KEEP = 100;

/** A list of which the first `kept.length` (at most `keep`) are held in full, out of `count`. */
export interface BoundedList<T> {
  kept: T[];
  count: number;
}

export interface Tally {
  keep: number;
  /** Target transactions (and calls) compared. */
  txs: number;
  /** Transactions mined on the fork. */
  mined: number;
  /** Fork blocks built. */
  blocks: number;
  divergences: BoundedList<ReportEntry>;
  /** Divergences of which green writes the proxy's own slots. */
  critical: number;
  expected: BoundedList<ReportEntry>;
  propagated: BoundedList<ReportEntry>;
  fidelity: {
    matched: number;
    total: number;
    receipts: { matched: number; total: number };
    state: { matched: number; total: number };
    mismatches: BoundedList<FidelityMismatch>;
  };
  skipped: BoundedList<{ hash: string; reason: string }>;
  /** Distinct adjustments, first seen first; `count` counts every one made. */
  adjustments: BoundedList<string>;
  /** A beacon's fleet: comparisons and divergences per proxy reached (absent in checkpoints from before fleets). */
  proxies?: Record<string, { compared: number; divergences: number }>;
}

export function emptyTally(keep = DEFAULT_KEEP): Tally {
  const list = () => ({ kept: [], count: 0 });
  return {
    keep,
    txs: 0,
    mined: 0,
    blocks: 0,
    divergences: list(),
    critical: 0,
    expected: list(),
    propagated: list(),
    fidelity: { matched: 0, total: 0, receipts: { matched: 0, total: 0 }, state: { matched: 0, total: 0 }, mismatches: list() },
    skipped: list(),
    adjustments: list(),
  };
}

function push<T>(list: BoundedList<T>, keep: number, item: T): void {
  list.count++;
  if (list.kept.length < keep) list.kept.push(item);
}

/** One line of the comparisons file. */
export type ComparisonLine =
  | { kind: "tx"; hash: string; blockNumber?: number; line?: number; result: "same" | "divergent" | "expected"; entry?: ReportEntry }
  | ({ kind: "fidelity-mismatch" } & FidelityMismatch)
  | { kind: "skipped"; hash: string; reason: string }
  | { kind: "propagated"; entry: ReportEntry };

/** Adds one comparison to the tally and returns its line. */
export function tallyComparison(tally: Tally, c: TxComparison, decoder: AbiDecoder): ComparisonLine {
  tally.txs++;
  countProxies(tally, c);
  const where = { ...(c.blockNumber !== undefined ? { blockNumber: c.blockNumber } : {}), ...(c.line !== undefined ? { line: c.line } : {}) };
  if (c.differences.length === 0) return { kind: "tx", hash: c.hash, ...where, result: "same" };
  const entry = toEntry(c, c.blue, c.green, c.differences, decoder);
  if (allExpected(c.differences)) {
    push(tally.expected, tally.keep, entry);
    return { kind: "tx", hash: c.hash, ...where, result: "expected", entry };
  }
  push(tally.divergences, tally.keep, entry);
  if (entry.critical) tally.critical++;
  return { kind: "tx", hash: c.hash, ...where, result: "divergent", entry };
}

/** A transaction that reaches several proxies of a beacon counts for each. */
function countProxies(tally: Tally, c: TxComparison): void {
  const reached = new Set([...(c.blue.proxies ?? []), ...(c.green.proxies ?? [])]);
  if (reached.size === 0) return;
  const divergent = c.differences.length > 0 && !allExpected(c.differences);
  tally.proxies ??= {};
  for (const p of reached) {
    const row = (tally.proxies[p] ??= { compared: 0, divergences: 0 });
    row.compared++;
    if (divergent) row.divergences++;
  }
}

export function tallyMismatch(tally: Tally, m: FidelityMismatch): ComparisonLine {
  push(tally.fidelity.mismatches, tally.keep, m);
  return { kind: "fidelity-mismatch", ...m };
}

export function tallySkipped(tally: Tally, s: { hash: string; reason: string }): ComparisonLine {
  push(tally.skipped, tally.keep, s);
  return { kind: "skipped", ...s };
}

export function tallyAdjustment(tally: Tally, a: string): void {
  tally.adjustments.count++;
  if (tally.adjustments.kept.length < tally.keep && !tally.adjustments.kept.includes(a)) tally.adjustments.kept.push(a);
}

/** A difference seen only in the cascade world. */
export function tallyPropagated(tally: Tally, c: TxComparison, green: Observation, drift: TxComparison["differences"], decoder: AbiDecoder): ComparisonLine {
  const entry = toEntry(c, c.blue, green, drift, decoder);
  push(tally.propagated, tally.keep, entry);
  return { kind: "propagated", entry };
}

/** Adds `b` after `a` (a's entries come first): segments in order, shards in order. */
export function addTallies(a: Tally, b: Tally): Tally {
  const keep = Math.min(a.keep, b.keep);
  const join = <T>(x: BoundedList<T>, y: BoundedList<T>): BoundedList<T> => ({ kept: [...x.kept, ...y.kept].slice(0, keep), count: x.count + y.count });
  const adjustments = [...a.adjustments.kept];
  for (const adj of b.adjustments.kept) if (adjustments.length < keep && !adjustments.includes(adj)) adjustments.push(adj);
  return {
    keep,
    txs: a.txs + b.txs,
    mined: a.mined + b.mined,
    blocks: a.blocks + b.blocks,
    divergences: join(a.divergences, b.divergences),
    critical: a.critical + b.critical,
    expected: join(a.expected, b.expected),
    propagated: join(a.propagated, b.propagated),
    fidelity: {
      matched: a.fidelity.matched + b.fidelity.matched,
      total: a.fidelity.total + b.fidelity.total,
      receipts: { matched: a.fidelity.receipts.matched + b.fidelity.receipts.matched, total: a.fidelity.receipts.total + b.fidelity.receipts.total },
      state: { matched: a.fidelity.state.matched + b.fidelity.state.matched, total: a.fidelity.state.total + b.fidelity.state.total },
      mismatches: join(a.fidelity.mismatches, b.fidelity.mismatches),
    },
    skipped: join(a.skipped, b.skipped),
    adjustments: { kept: adjustments, count: a.adjustments.count + b.adjustments.count },
    ...(a.proxies !== undefined || b.proxies !== undefined ? { proxies: addProxyCounts(a.proxies ?? {}, b.proxies ?? {}) } : {}),
  };
}

function addProxyCounts(a: NonNullable<Tally["proxies"]>, b: NonNullable<Tally["proxies"]>): NonNullable<Tally["proxies"]> {
  const sum: NonNullable<Tally["proxies"]> = {};
  for (const [p, row] of [...Object.entries(a), ...Object.entries(b)]) {
    const to = (sum[p] ??= { compared: 0, divergences: 0 });
    to.compared += row.compared;
    to.divergences += row.divergences;
  }
  return sum;
}

/** A deep copy, for a checkpoint taken while the tally goes on growing. */
export function snapshotTally(t: Tally): Tally {
  return JSON.parse(JSON.stringify(t)) as Tally;
}

/**
 * A part of the comparisons file, appended to block by block. `bytes` and
 * `lines` are what a checkpoint records; resuming cuts the file back to them,
 * dropping what a killed run wrote after its last checkpoint.
 */
export class ComparisonPart {
  private constructor(
    readonly file: string,
    private handle: FileHandle,
    public bytes: number,
    public lines: number,
  ) {}

  /** Opens the part, cut to `from` (bytes and lines of a checkpoint; nothing for a fresh part). */
  static async open(file: string, from: { bytes: number; lines: number } = { bytes: 0, lines: 0 }): Promise<ComparisonPart> {
    // Not "a": positional writes would be ignored in append mode.
    const handle = await open(file, "r+").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return open(file, "w+");
      throw e;
    });
    await handle.truncate(from.bytes);
    return new ComparisonPart(file, handle, from.bytes, from.lines);
  }

  async append(lines: ComparisonLine[]): Promise<void> {
    if (lines.length === 0) return;
    const buffer = Buffer.from(lines.map((l) => JSON.stringify(l) + "\n").join(""), "utf8");
    await this.handle.write(buffer, 0, buffer.length, this.bytes);
    this.bytes += buffer.length;
    this.lines += lines.length;
  }

  /** Flushes what was appended to disk: called before a checkpoint claims it. */
  async sync(): Promise<void> {
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** What a comparisons file holds, for the report: its name, sha256 and number of lines. */
export interface ComparisonsFile {
  file: string;
  sha256: string;
  lines: number;
}

/**
 * Joins files into `out` in order, then appends `extra` lines, in fixed-size
 * chunks (memory does not grow with the files), and hashes what it wrote.
 */
export async function joinComparisonFiles(parts: string[], out: string, extra: ComparisonLine[] = []): Promise<{ sha256: string; lines: number }> {
  const hash = createHash("sha256");
  const tmp = `${out}.${process.pid}.tmp`;
  const target = await open(tmp, "w");
  let lines = 0;
  const chunk = Buffer.alloc(1 << 20);
  const write = async (buffer: Buffer) => {
    hash.update(buffer);
    for (let i = 0; i < buffer.length; i++) if (buffer[i] === 0x0a) lines++;
    await target.write(buffer);
  };
  try {
    for (const part of parts) {
      const source = await open(part, "r");
      try {
        for (;;) {
          const { bytesRead } = await source.read(chunk, 0, chunk.length, null);
          if (bytesRead === 0) break;
          await write(chunk.subarray(0, bytesRead));
        }
      } finally {
        await source.close();
      }
    }
    if (extra.length > 0) await write(Buffer.from(extra.map((l) => JSON.stringify(l) + "\n").join(""), "utf8"));
    await target.sync();
  } finally {
    await target.close();
  }
  await rename(tmp, out).catch(async (e: unknown) => {
    await rm(tmp, { force: true });
    throw e;
  });
  return { sha256: "0x" + hash.digest("hex"), lines };
}

/** The sha256 of a file, read in chunks. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  const source = await open(file, "r");
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (;;) {
      const { bytesRead } = await source.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      hash.update(chunk.subarray(0, bytesRead));
    }
  } finally {
    await source.close();
  }
  return "0x" + hash.digest("hex");
}
