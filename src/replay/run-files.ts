/**
 * The files of a replay run: a part file per segment and a checkpoint, so
 * that an interrupted run resumes from its last completed block and ends
 * with the same comparisons file as an uninterrupted one.
 */
import { mkdir, rm, rmdir } from "node:fs/promises";
import path from "node:path";

import { CheckpointWriter, IN_PROGRESS_DIR, readCheckpoint, runDir, runKey, type SegmentProgress } from "./checkpoint.js";
import { type ComparisonLine, ComparisonPart, type ComparisonsFile, emptyTally, joinComparisonFiles } from "./report-stream.js";
import type { SegmentPlan } from "./twin-executor.js";

/**
 * The files of a run: a part file per segment and a checkpoint, under
 * `<output>/replay-in-progress/<run key>/`, picked up again by a run of the
 * same plan. Without `output` (the library used on its own) nothing is
 * written: lines are dropped, only the tally remains.
 */
export interface RunFiles {
  /** Per segment: what is done, with its tally. */
  progress: SegmentProgress[];
  /** The segments (or the rests of segments) still to run. */
  pending: SegmentPlan[];
  parts: Array<ComparisonPart | undefined>;
  checkpoint?: CheckpointWriter;
  resumedFrom?: Date;
  blocksDone: number;
  itemsDone: number;
  /** Joins the parts into the comparisons file beside the report; removes the run's folder. */
  finish(extra: ComparisonLine[]): Promise<ComparisonsFile | undefined>;
  close(): Promise<void>;
}

export interface RunOptions {
  /** Where the run's files go; without it nothing is written. */
  output?: RunOutput;
  /** Entries of each list kept in full in the tally. */
  keep: number;
  /** What makes two runs the same run (the release, green, the traffic, the settings, the segments). */
  planKey: object;
  startedAt: Date;
  /**
   * Whether the run keeps a checkpoint at all: the cascade world runs the
   * range in one piece and --canary builds its split from every comparison
   * in memory, so their runs start afresh.
   */
  checkpointed: boolean;
  /**
   * Whether an unfinished segment restarts where it stopped: only a faithful
   * replay of the chain's own blocks, on a fork of the chain pinned just
   * before the next block. Fast mode carries the replayed state forward, and
   * a capture's blocks are not the chain's: their unfinished segments start again.
   */
  midSegment: boolean;
}

/** Where a run streams its comparisons and keeps its checkpoint; `stem` names the files from the run's start time. */
export interface RunOutput {
  dir: string;
  stem: (startedAt: string) => string;
}

export async function openRun(segments: SegmentPlan[], options: RunOptions): Promise<RunFiles> {
  const { keep, startedAt } = options;
  const fresh = (s: SegmentPlan): SegmentProgress => ({ index: s.index, blocksDone: 0, done: s.blocks.length === 0, bytes: 0, lines: 0, tally: emptyTally(keep) });
  const output = options.output;
  if (output === undefined) {
    return {
      progress: segments.map(fresh),
      pending: segments,
      parts: segments.map(() => undefined),
      blocksDone: 0,
      itemsDone: 0,
      finish: async () => undefined,
      close: async () => undefined,
    };
  }
  const key = runKey({ ...options.planKey, keep });
  const dir = runDir(output.dir, key);
  const saved = options.checkpointed ? await readCheckpoint(dir, key) : undefined;
  const progress = segments.map((s) => {
    const p = saved?.segments.find((x) => x.index === s.index);
    if (p === undefined || p.blocksDone > s.blocks.length) return fresh(s);
    if (!p.done && !options.midSegment) return fresh(s);
    return p;
  });
  const pending: SegmentPlan[] = [];
  let blocksDone = 0;
  let itemsDone = 0;
  for (const s of segments) {
    const p = progress[s.index]!;
    blocksDone += p.blocksDone;
    itemsDone += s.blocks.slice(0, p.blocksDone).reduce((n, b) => n + b.items.length, 0);
    if (p.done) continue;
    const rest = s.blocks.slice(p.blocksDone);
    // In faithful mode blue's state at the start of a block is the chain's: a fork pinned just before it resumes exactly.
    pending.push(p.blocksDone === 0 ? s : { index: s.index, forkBlock: rest[0]!.context.number - 1, blocks: rest });
  }
  const parts = await Promise.all(
    segments.map(async (s) => {
      await mkdir(dir, { recursive: true });
      const p = progress[s.index]!;
      return ComparisonPart.open(path.join(dir, `part-${s.index}.jsonl`), { bytes: p.bytes, lines: p.lines });
    }),
  );
  const resumedFrom = saved !== undefined && blocksDone > 0 ? new Date(saved.startedAt) : undefined;
  const checkpoint = !options.checkpointed
    ? undefined
    : await CheckpointWriter.create(dir, key, (resumedFrom ?? startedAt).toISOString(), async () => {
        await Promise.all(parts.map((p) => p.sync()));
      });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await checkpoint?.settle().catch(() => undefined);
    await Promise.all(parts.map((p) => p.close()));
  };
  return {
    progress,
    pending,
    parts,
    ...(checkpoint !== undefined ? { checkpoint } : {}),
    ...(resumedFrom !== undefined ? { resumedFrom } : {}),
    blocksDone,
    itemsDone,
    async finish(extra) {
      await close();
      const stem = output.stem((resumedFrom ?? startedAt).toISOString());
      const file = `${stem}.comparisons.jsonl`;
      const joined = await joinComparisonFiles(
        segments.map((s) => path.join(dir, `part-${s.index}.jsonl`)),
        path.join(output.dir, file),
        extra,
      );
      await rm(dir, { recursive: true, force: true });
      // The parent goes too once no other run is in progress there.
      await rmdir(path.join(output.dir, IN_PROGRESS_DIR)).catch(() => undefined);
      return { file, ...joined };
    },
    close,
  };
}
