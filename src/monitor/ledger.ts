/**
 * The checkpoint's block ledger: the digests of the last processed blocks,
 * kept for as long as a reorg or an open measurement window may need them,
 * and the recent gas samples per function. Blocks no longer needed move
 * their traffic to the archived totals, so /metrics counts every block once.
 */
import { oldestNeededBlock } from "./analysis-run.js";
import type { BlockDigest } from "./block-digest.js";
import type { MonitorCheckpoint } from "./checkpoint.js";
import { addToTotals } from "./traffic-metrics.js";

/** Gas samples kept per `${proxy}|${selector}`. */
const GAS_SAMPLES = 256;

/** Appends a batch of digests (the next blocks after the tip) and their gas samples. */
export function appendBlocks(cp: MonitorCheckpoint, digests: BlockDigest[]): void {
  cp.ledger.push(...digests);
  const last = digests[digests.length - 1]!;
  cp.tip = { n: last.n, hash: last.hash, t: last.t };
  for (const block of digests) {
    for (const call of block.calls ?? []) {
      if (!call.direct || !call.ok) continue;
      const key = `${call.proxy}|${call.selector}`;
      const list = (cp.recentGas[key] ??= []);
      list.push([block.n, call.gas]);
      if (list.length > GAS_SAMPLES) list.shift();
    }
  }
}

/** Drops digests no window and no reorg can need; their traffic moves to the archived totals. */
export function pruneLedger(cp: MonitorCheckpoint, reorgDepth: number): void {
  const tip = cp.tip!.n;
  const reorgFloor = tip - reorgDepth;
  const needed = Math.min(...Object.values(cp.runs).map((r) => oldestNeededBlock(r, reorgFloor)));
  const keep: BlockDigest[] = [];
  for (const block of cp.ledger) {
    const busy = block.calls !== undefined || block.events !== undefined;
    if (block.n > reorgFloor || block.n === tip || (busy && block.n >= needed)) keep.push(block);
    else addToTotals(cp.archivedTotals, block);
  }
  cp.ledger = keep;
}

/** Forgets the blocks after `fork` (which the ledger keeps) and their gas samples; returns the forgotten ones. */
export function rewindLedger(cp: MonitorCheckpoint, fork: BlockDigest): BlockDigest[] {
  const dropped = cp.ledger.filter((b) => b.n > fork.n);
  cp.ledger = cp.ledger.filter((b) => b.n <= fork.n);
  cp.tip = { n: fork.n, hash: fork.hash, t: fork.t };
  for (const [key, values] of Object.entries(cp.recentGas)) cp.recentGas[key] = values.filter(([n]) => n <= fork.n);
  return dropped;
}
