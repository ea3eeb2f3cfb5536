/**
 * The twin executor: replays a segment of original blocks on one fork, where
 * blue is the world that carries forward.
 *
 * Each original block is one block on the fork, with its own number,
 * timestamp, coinbase, base fee, prevrandao and gas limit, holding the
 * block's transactions in their original order. The fork mines nothing on
 * its own: a block's transactions are queued and then mined together.
 *
 * Each target transaction is observed twice, at its place in the block
 * being built (the fork's pending block: the block's number and context,
 * after the same preceding transactions), with the same tracer:
 * - as blue, with the proxy as the chain has it;
 * - as green, with green switched in for that one observation, the way the
 *   switch does it (see ForkControl.observe): through the proxy, or for a
 *   beacon release through the beacon, so that every proxy of it runs green.
 * Then blue is queued, so the chain moves on as it really did. Nothing of
 * one side is taken from the other, so every difference is caused by green
 * itself: a root divergence.
 *
 * After each block, the replay checks itself (fidelity): every mined
 * receipt against the real one, every blue observation against blue's own
 * mined receipt (the observation reproduces the chain), and the proxy's
 * storage slots written in the block against the source's values at that
 * block.
 *
 * Switching green by writing the implementation slot is what the release
 * does: the switch calls `ProxyAdmin.upgradeAndCall(proxy, green, "")`,
 * whose only lasting effect with empty data is that slot (plus an
 * `Upgraded` event, which no later transaction can observe).
 */
import { getCreateAddress, id } from "ethers";

import { sameReceipt, type CompareOptions, compareObservations } from "./compare.js";
import type { ForkControl } from "./fork-control.js";
import type { BlockContext, Observation, ReceiptFacts, ReplayFleet, TrafficItem, TxComparison, TxRequest } from "./types.js";

/** topic0 of ERC-1967's `Upgraded(address)` (a proxy or a beacon) and `BeaconUpgraded(address)`. */
const UPGRADE_TOPICS = new Set([id("Upgraded(address)"), id("BeaconUpgraded(address)")]);

/** One block of the fork: the context it is mined with, and its traffic in order. */
export interface ReplayBlock {
  context: BlockContext;
  items: TrafficItem[];
}

export interface SegmentPlan {
  index: number;
  /** The fork is pinned here: the state at the end of this block. */
  forkBlock: number;
  blocks: ReplayBlock[];
}

export interface SegmentContext {
  proxy: string;
  green: { address: string; code: string };
  compare: CompareOptions;
  /** The real receipt of a transaction, for fidelity; undefined when there is none. */
  realReceipt(hash: string): ReceiptFacts | undefined;
  /**
   * The source's values of the proxy's slots at the end of an original block,
   * for the state check; undefined for blocks that are not the source's own
   * (captures run in synthetic blocks).
   */
  sourceStorage?(slots: string[], blockNumber: number): Promise<Record<string, string>>;
  /** More code the green world needs on the fork (green itself, when `green` is a canary router). */
  alsoOnFork?: Array<{ address: string; code: string }>;
  /** Called after each item. */
  onItem?(item: TrafficItem): void;
  /** Stops between blocks and items when aborted. */
  signal?: AbortSignal;
  /**
   * Called after each block is mined and checked, with the outcome so far. A
   * caller that streams the results takes them out (see `drainOutcome`), so
   * a long segment holds one block's worth at a time; a checkpoint is taken here.
   */
  onBlockEnd?(block: ReplayBlock, outcome: SegmentOutcome): Promise<void>;
}

export interface FidelityMismatch {
  /** A transaction hash, or `state@<block>` for the proxy's storage. */
  hash: string;
  blockNumber?: number;
  what: string[];
}

/** Checks of blue against the chain, by kind; `matched`/`total` add them up. */
export interface Fidelity {
  matched: number;
  total: number;
  /** Mined receipts (and, for targets, blue's observation) against the real receipts. */
  receipts: { matched: number; total: number };
  /** The proxy's slots written in a block, against the source's values at that block. */
  state: { matched: number; total: number };
  mismatches: FidelityMismatch[];
}

export interface SegmentOutcome {
  comparisons: TxComparison[];
  /** Transactions mined on the fork, in their original blocks. */
  mined: number;
  fidelity: Fidelity;
  skipped: Array<{ hash: string; reason: string }>;
  adjustments: string[];
}

export function emptyFidelity(): Fidelity {
  return { matched: 0, total: 0, receipts: { matched: 0, total: 0 }, state: { matched: 0, total: 0 }, mismatches: [] };
}

interface Sent {
  item: Extract<TrafficItem, { kind: "tx" }>;
  hash: string;
  blue?: Observation;
  green?: Observation;
}

/** Runs one segment on a fork pinned at `plan.forkBlock`. */
export async function runTwinSegment(fork: ForkControl, plan: SegmentPlan, ctx: SegmentContext): Promise<SegmentOutcome> {
  const outcome: SegmentOutcome = { comparisons: [], mined: 0, fidelity: emptyFidelity(), skipped: [], adjustments: fork.adjustments };
  await fork.init();
  await fork.setCode(ctx.green.address, ctx.green.code);
  for (const extra of ctx.alsoOnFork ?? []) await fork.setCode(extra.address, extra.code);
  // A transaction the chain ran but the fork could not is blue not reproducing the chain.
  const notReplayed = (item: Extract<TrafficItem, { kind: "tx" }>, reason: string) => {
    outcome.skipped.push({ hash: item.hash, reason });
    if (ctx.realReceipt(item.hash) !== undefined) {
      tally(outcome.fidelity, "receipts", false, { hash: item.hash, ...(item.block !== undefined ? { blockNumber: item.block.number } : {}), what: [`not replayed: ${reason}`] });
    }
  };
  for (const block of plan.blocks) {
    ctx.signal?.throwIfAborted();
    await fork.openBlock(block.context);
    const admitted = await admitAll(fork, block.items, ctx.green.address);
    const sent: Sent[] = [];
    for (const item of block.items) {
      ctx.signal?.throwIfAborted();
      if (item.kind === "call") {
        const blue = await fork.observe(item.call);
        const green = await fork.observe(item.call, ctx.green.address);
        const skip = switchProblem(blue, green, ctx.green.address, fork.fleet);
        if (skip !== undefined) outcome.skipped.push({ hash: item.hash, reason: skip });
        else outcome.comparisons.push(comparison(item, blue, green, ctx.compare));
        ctx.onItem?.(item);
        continue;
      }
      const admission = admitted.get(item)!;
      if ("refused" in admission) {
        notReplayed(item, admission.refused);
        ctx.onItem?.(item);
        continue;
      }
      let blue: Observation | undefined;
      let green: Observation | undefined;
      if (item.target) {
        blue = await fork.observe(admission.tx);
        green = await fork.observe(admission.tx, ctx.green.address);
      }
      try {
        sent.push({ item, hash: await fork.queue(admission.tx), ...(blue !== undefined ? { blue } : {}), ...(green !== undefined ? { green } : {}) });
      } catch (e) {
        notReplayed(item, `the fork refused it: ${firstLine(e)}`);
      }
      ctx.onItem?.(item);
    }
    const receipts = await fork.mineBlock(block.context, sent.map((s) => s.hash));
    const blueSlots = new Set<string>();
    outcome.mined += receipts.filter((r) => r !== undefined).length;
    sent.forEach((s, i) => {
      const mined = receipts[i];
      const real = ctx.realReceipt(s.item.hash);
      if (s.blue !== undefined && s.green !== undefined) {
        for (const slot of Object.keys(s.blue.storage)) blueSlots.add(slot);
        const skip = switchProblem(s.blue, s.green, ctx.green.address, fork.fleet);
        if (skip !== undefined) outcome.skipped.push({ hash: s.item.hash, reason: skip });
        else outcome.comparisons.push(comparison(s.item, s.blue, s.green, ctx.compare));
      }
      if (real === undefined) return;
      // Blue's observation must reproduce the chain too: it is what green is compared with.
      const what = mined === undefined ? [`not mined in block ${block.context.number}`] : [...sameReceipt(mined, real).what];
      if (s.blue !== undefined) what.push(...sameReceipt(asReceipt(s.blue), real).what.map((w) => `observed ${w}`));
      tally(outcome.fidelity, "receipts", what.length === 0, { hash: s.item.hash, ...(s.item.block !== undefined ? { blockNumber: s.item.block.number } : {}), what });
    });
    if (ctx.sourceStorage !== undefined && blueSlots.size > 0) {
      await checkState(fork, [...blueSlots].sort(), block.context.number, ctx.sourceStorage, outcome.fidelity);
    }
    await ctx.onBlockEnd?.(block, outcome);
  }
  return outcome;
}

/**
 * Takes everything out of an outcome (lists and counts), leaving it empty:
 * what was taken is one block's worth when called from `onBlockEnd`.
 */
export function drainOutcome(outcome: SegmentOutcome): SegmentOutcome {
  const taken: SegmentOutcome = {
    comparisons: outcome.comparisons.splice(0),
    mined: outcome.mined,
    fidelity: {
      ...outcome.fidelity,
      receipts: { ...outcome.fidelity.receipts },
      state: { ...outcome.fidelity.state },
      mismatches: outcome.fidelity.mismatches.splice(0),
    },
    skipped: outcome.skipped.splice(0),
    // The fork's own list (shared with ForkControl): emptied in place.
    adjustments: outcome.adjustments.splice(0),
  };
  outcome.mined = 0;
  const f = outcome.fidelity;
  f.matched = f.total = f.receipts.matched = f.receipts.total = f.state.matched = f.state.total = 0;
  return taken;
}

/**
 * The proxy's slots written in a block must hold, at its end, what the
 * source holds at that block. This catches drift that receipts do not
 * show (a write of another value with the same gas and logs).
 */
async function checkState(
  fork: ForkControl,
  slots: string[],
  blockNumber: number,
  sourceStorage: NonNullable<SegmentContext["sourceStorage"]>,
  fidelity: Fidelity,
): Promise<void> {
  const [replayed, real] = await Promise.all([fork.readProxyStorage(slots), sourceStorage(slots, blockNumber)]);
  for (const slot of slots) {
    const same = replayed[slot] === real[slot];
    tally(fidelity, "state", same, { hash: `state@${blockNumber}`, blockNumber, what: [`slot ${slot}: replayed ${replayed[slot]}, chain ${real[slot]}`] });
  }
}

function tally(fidelity: Fidelity, kind: "receipts" | "state", matched: boolean, mismatch: FidelityMismatch): void {
  fidelity[kind].total++;
  fidelity.total++;
  if (matched) {
    fidelity[kind].matched++;
    fidelity.matched++;
  } else {
    fidelity.mismatches.push(mismatch);
  }
}

/**
 * Makes the block's senders ready before anything is queued (a fork refuses
 * to set a nonce under a pending block): for each transaction, the request
 * to send (with the nonce to send it with), or why it cannot be sent.
 */
async function admitAll(fork: ForkControl, items: TrafficItem[], green: string): Promise<Map<TrafficItem, { tx: TxRequest } | { refused: string }>> {
  const admitted = new Map<TrafficItem, { tx: TxRequest } | { refused: string }>();
  const senders = new Set<string>();
  for (const item of items) {
    if (item.kind !== "tx") continue;
    if (item.tx.to === undefined && getCreateAddress({ from: item.tx.from, nonce: item.tx.nonce }).toLowerCase() === green) {
      // The range holds green's own deployment: the replay put green's code there early, and CREATE must find the address empty.
      await fork.setCode(green, "0x");
    }
    if (item.tx.type === 3) {
      admitted.set(item, { refused: "blob transaction (type 3): cannot be sent again on a fork" });
      continue;
    }
    const nonce = await fork.prepareSender(item.tx, !senders.has(item.tx.from));
    senders.add(item.tx.from);
    admitted.set(
      item,
      nonce === undefined
        ? { refused: `nonce ${item.tx.nonce} of ${item.tx.from} cannot be used on the fork (already used, or a creation behind a gap in its sender's nonces)` }
        : { tx: nonce === item.tx.nonce ? item.tx : { ...item.tx, nonce } },
    );
  }
  return admitted;
}

/**
 * Why a pair is not compared, if it is not:
 * - the transaction upgrades the target itself on the chain (blue's world
 *   emits ERC-1967's `Upgraded` or `BeaconUpgraded` from it: a release of
 *   its own, e.g. an adoption re-pointing the proxy at blue). In green's
 *   world it moves the proxy away from green, so the implementation slot,
 *   the gas and the events differ for a reason that is not green's code.
 *   Only blue's observation decides, so a green cannot hide behind it.
 * - green is not in place: the proxy did not delegate to it. That happens
 *   when an earlier transaction of the same block upgraded the proxy: the
 *   pending block then writes the slot over the switch.
 */
function switchProblem(blue: Observation, green: Observation, greenAddress: string, fleet: ReplayFleet): string | undefined {
  const upgrade = blue.logs.find((log) => UPGRADE_TOPICS.has(log.topics[0] ?? "") && (log.address === fleet.target || fleet.proxies.includes(log.address)));
  if (upgrade !== undefined) {
    const to = upgrade.topics[1] !== undefined ? "0x" + upgrade.topics[1].slice(-40) : "?";
    return `the transaction upgrades ${upgrade.address} itself on the chain (to ${to}): it is a release of its own, not green's behaviour, so blue and green are not compared on it`;
  }
  if (green.delegates.length === 0 && blue.delegates.length === 0) return undefined;
  if (green.delegates.includes(greenAddress) && !blue.delegates.includes(greenAddress)) return undefined;
  return `green could not be switched in for this transaction (the proxy delegated to ${green.delegates.join(", ") || "nothing"}): an earlier transaction of its block upgraded the proxy`;
}

function comparison(
  item: TrafficItem,
  blue: Observation,
  green: Observation,
  compare: CompareOptions,
): TxComparison {
  const tx: TxRequest | undefined = item.kind === "tx" ? item.tx : undefined;
  const from = tx?.from ?? (item.kind === "call" ? item.call.from : undefined);
  const to = tx !== undefined ? tx.to : item.kind === "call" ? item.call.to : undefined;
  return {
    hash: item.hash,
    ...(item.kind === "tx" && item.block !== undefined ? { blockNumber: item.block.number } : {}),
    ...(item.line !== undefined ? { line: item.line } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    input: tx?.data ?? (item.kind === "call" ? item.call.data : "0x"),
    foundBy: item.foundBy,
    blue,
    green,
    differences: compareObservations(blue, green, compare),
    method: "exact",
  };
}

/** What a traced execution would have put in a receipt. */
export function asReceipt(o: Observation): ReceiptFacts {
  return { status: o.status, gasUsed: o.gasUsed, logs: o.logs };
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
}

/**
 * The cascade world: green switched in once, at the start, and carrying its
 * own state forward through the same blocks. Returns green's observation of
 * every target, to be compared with blue's (differences that are not root
 * divergences are the propagated ones).
 */
export async function runCascade(
  fork: ForkControl,
  blocks: ReplayBlock[],
  ctx: Pick<SegmentContext, "proxy" | "green" | "alsoOnFork" | "signal">,
): Promise<Map<string, Observation>> {
  const observations = new Map<string, Observation>();
  await fork.init();
  await fork.setCode(ctx.green.address, ctx.green.code);
  for (const extra of ctx.alsoOnFork ?? []) await fork.setCode(extra.address, extra.code);
  await fork.installGreen(ctx.green.address);
  for (const block of blocks) {
    ctx.signal?.throwIfAborted();
    await fork.openBlock(block.context);
    const admitted = await admitAll(fork, block.items, ctx.green.address);
    const hashes: string[] = [];
    for (const item of block.items) {
      if (item.kind === "call") {
        observations.set(item.hash, await fork.observe(item.call));
        continue;
      }
      const admission = admitted.get(item)!;
      if ("refused" in admission) continue;
      if (item.target) observations.set(item.hash, await fork.observe(admission.tx));
      try {
        hashes.push(await fork.queue(admission.tx));
      } catch {
        // A transaction green's world cannot even accept; its observation (if a target) says why.
      }
    }
    await fork.mineBlock(block.context, hashes);
  }
  return observations;
}
