/**
 * Resume: a replay in progress keeps, beside its part files, a checkpoint of
 * how far each fork segment got (blocks done, bytes of its part file, its
 * tally). Like a deployment journal, it is rewritten atomically after each
 * block, so a run killed at any moment leaves the last completed block's
 * state; running the same command again continues from there.
 *
 * A checkpoint belongs to one run plan (the release, green, range, shard,
 * mode, settings and segments: its `runKey`); another plan starts afresh.
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";

import { keccak256, toUtf8Bytes } from "ethers";

import { writeJsonAtomic } from "../release/store.js";
import { snapshotTally, type Tally } from "./report-stream.js";

export const CHECKPOINT_SCHEMA = "hardhat-bluegreen/replay-checkpoint@1";

/** The folder of runs in progress, inside the release folder. */
export const IN_PROGRESS_DIR = "replay-in-progress";

export interface SegmentProgress {
  index: number;
  /** Blocks of the segment completed (mined, checked, their lines written). */
  blocksDone: number;
  done: boolean;
  /** The part file's length and lines at that point. */
  bytes: number;
  lines: number;
  tally: Tally;
}

export interface Checkpoint {
  schema: typeof CHECKPOINT_SCHEMA;
  runKey: string;
  /** The interrupted run's start: the resumed run's report keeps it. */
  startedAt: string;
  segments: SegmentProgress[];
}

/** The key of a run plan: whatever changes the result changes the key. */
export function runKey(plan: unknown): string {
  return keccak256(toUtf8Bytes(JSON.stringify(plan))).slice(2, 18);
}

export function runDir(outputDir: string, key: string): string {
  return path.join(outputDir, IN_PROGRESS_DIR, key);
}

/** The checkpoint of this run key, or undefined (none, another plan, or unreadable: then the run starts afresh). */
export async function readCheckpoint(dir: string, key: string): Promise<Checkpoint | undefined> {
  let doc: Checkpoint;
  try {
    doc = JSON.parse(await readFile(path.join(dir, "checkpoint.json"), "utf8")) as Checkpoint;
  } catch {
    return undefined;
  }
  if (doc?.schema !== CHECKPOINT_SCHEMA || doc.runKey !== key || !Array.isArray(doc.segments)) return undefined;
  return doc;
}

/**
 * Writes checkpoints one at a time, the latest state of every segment each
 * time; a save asked for while one is being written is folded into the next.
 */
export class CheckpointWriter {
  private readonly progress = new Map<number, SegmentProgress>();
  private writing: Promise<void> = Promise.resolve();
  private queued = false;

  constructor(
    readonly dir: string,
    private readonly key: string,
    private readonly startedAt: string,
    /** Flushes the part files to disk before a checkpoint claims their bytes. */
    private readonly syncParts: () => Promise<void>,
  ) {}

  static async create(dir: string, key: string, startedAt: string, syncParts: () => Promise<void>): Promise<CheckpointWriter> {
    await mkdir(dir, { recursive: true });
    return new CheckpointWriter(dir, key, startedAt, syncParts);
  }

  /** Records a segment's progress (copied now) and schedules a write. */
  update(p: SegmentProgress): Promise<void> {
    this.progress.set(p.index, { ...p, tally: snapshotTally(p.tally) });
    if (this.queued) return this.writing;
    this.queued = true;
    this.writing = this.writing.then(async () => {
      this.queued = false;
      await this.syncParts();
      const doc: Checkpoint = {
        schema: CHECKPOINT_SCHEMA,
        runKey: this.key,
        startedAt: this.startedAt,
        segments: [...this.progress.values()].sort((a, b) => a.index - b.index),
      };
      await writeJsonAtomic(path.join(this.dir, "checkpoint.json"), doc);
    });
    return this.writing;
  }

  async settle(): Promise<void> {
    await this.writing;
  }

  /** The run finished: its checkpoint and parts go. */
  async remove(): Promise<void> {
    await this.writing.catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
