/**
 * Shards: the i-th of n slices of a block range, for n machines that each
 * replay one slice and a merge that puts the partial reports back together.
 *
 * Slices are whole blocks, contiguous, and balanced by the transactions each
 * block sends on the fork (the replay's work). Every shard discovers the
 * whole range and cuts it the same way, so n processes that see the same
 * traffic agree on the slices without talking to each other. Together the
 * slices cover the range exactly once; a slice may be empty when there are
 * more shards than blocks with traffic.
 */
import { BlueGreenError } from "../errors.js";

/** Which shard this run is: 1-based, as on the command line (`--shard 2/4`). */
export interface Shard {
  index: number;
  count: number;
}

/** A slice of the range: the blocks `fromBlock`..`toBlock`; empty when `toBlock` < `fromBlock`. */
export interface ShardSlice extends Shard {
  fromBlock: number;
  toBlock: number;
}

/** The most shards a range is cut into; far beyond any CI matrix. */
export const MAX_SHARDS = 256;

/** Parses `i/n`. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m === null ? NaN : Number(m[1]);
  const count = m === null ? NaN : Number(m[2]);
  if (m === null || count < 1 || count > MAX_SHARDS || index < 1 || index > count) {
    throw new BlueGreenError(
      "BG_REPLAY_OPTION",
      `--shard "${text}" is not a shard. Pass i/n with 1 <= i <= n <= ${MAX_SHARDS}, e.g. --shard 2/4 for the second of four slices of the range.`,
    );
  }
  return { index, count };
}

/**
 * Cuts `[fromBlock, toBlock]` into `count` contiguous slices of whole blocks.
 * `weights` are the blocks with work (block number and transactions to send),
 * in ascending order; blocks not listed weigh nothing.
 *
 * Slice k ends at the first block where the running total reaches k/count of
 * the whole (rounded up), so the cut depends only on the weights; the last
 * slice always ends at `toBlock`.
 */
export function sliceRange(weights: Array<{ number: number; weight: number }>, fromBlock: number, toBlock: number, count: number): ShardSlice[] {
  const total = weights.reduce((n, b) => n + b.weight, 0);
  const ends: number[] = [];
  let running = 0;
  let k = 1;
  for (const block of weights) {
    running += block.weight;
    // A heavy block can reach several boundaries: the slices after it stay empty.
    while (k < count && running * count >= k * total && total > 0) {
      ends.push(block.number);
      k++;
    }
  }
  while (ends.length < count - 1) ends.push(ends.length === 0 ? fromBlock - 1 : ends[ends.length - 1]!);
  ends.push(toBlock);
  return ends.map((end, i) => ({ index: i + 1, count, fromBlock: i === 0 ? fromBlock : ends[i - 1]! + 1, toBlock: end }));
}

/** The slice of `shard`. */
export function sliceOf(weights: Array<{ number: number; weight: number }>, fromBlock: number, toBlock: number, shard: Shard): ShardSlice {
  return sliceRange(weights, fromBlock, toBlock, shard.count)[shard.index - 1]!;
}

export function describeShard(s: Shard): string {
  return `${s.index}/${s.count}`;
}
