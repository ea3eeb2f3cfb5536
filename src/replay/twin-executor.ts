/**
 * The twin executor: runs a segment of traffic on one fork, where blue is
 * the world that carries forward.
 *
 * For each target transaction, from the state blue really had at that point:
 * - green is executed as a traced call (nothing mined) on a block with the
 *   original block's context, switched in for that call by writing the
 *   proxy's ERC-1967 implementation slot, and switched back;
 * - blue is mined with the original block context, so the chain moves on as
 *   it really did, and its receipt is checked against the real one (fidelity).
 * Every difference is therefore caused by green itself: a root divergence.
 *
 * Cost is what decides the details (see docs/replay.md, "How it works"):
 * - Where green's trace already reproduces the real receipt (the common
 *   case), blue is not traced: the mined blue is compared with green, and
 *   green's storage writes are read back in blue's post-state ("lean").
 * - Otherwise blue is traced the same way as green ("traced"), so the
 *   comparison is like for like.
 * - A traced call is not a mined transaction (it sees a zero base fee and
 *   the previous block number). Where the traced blue does not reproduce the
 *   real receipt either, the pair is done again the exact way: both worlds
 *   mined from a snapshot and traced ("mined").
 *
 * Switching green by writing the implementation slot is what the release
 * does: the switch calls `ProxyAdmin.upgradeAndCall(proxy, green, "")`,
 * whose only lasting effect with empty data is that slot (plus an
 * `Upgraded` event, which no later transaction can observe).
 */
import { compareObservations, type CompareOptions, sameReceipt } from "./compare.js";
import { addressWord, ForkControl, IMPLEMENTATION_SLOT } from "./fork-control.js";
import type { BlockContext, Observation, ReceiptFacts, TrafficItem, TxComparison } from "./types.js";

export interface ReplayStep {
  item: TrafficItem;
  /** The context of the block the item runs in on the fork. */
  block: BlockContext;
}

export interface SegmentPlan {
  index: number;
  /** The fork is pinned here: the state at the end of this block. */
  forkBlock: number;
  steps: ReplayStep[];
}

export interface SegmentContext {
  proxy: string;
  green: { address: string; code: string };
  compare: CompareOptions;
  /** The real receipt of a transaction, for fidelity; undefined when there is none. */
  realReceipt(hash: string): ReceiptFacts | undefined;
  /** Called after each step. */
  onStep?(step: ReplayStep): void;
  /** Stops between steps when aborted. */
  signal?: AbortSignal;
}

export interface FidelityMismatch {
  hash: string;
  blockNumber?: number;
  what: string[];
}

export interface SegmentOutcome {
  comparisons: TxComparison[];
  fidelity: { matched: number; total: number; mismatches: FidelityMismatch[] };
  skipped: Array<{ hash: string; reason: string }>;
  adjustments: string[];
}

/** Runs one segment on a fork pinned at `plan.forkBlock`. */
export async function runTwinSegment(fork: ForkControl, plan: SegmentPlan, ctx: SegmentContext): Promise<SegmentOutcome> {
  const outcome: SegmentOutcome = {
    comparisons: [],
    fidelity: { matched: 0, total: 0, mismatches: [] },
    skipped: [],
    adjustments: fork.adjustments,
  };
  await fork.setCode(ctx.green.address, ctx.green.code);
  // The original block whose context the fork's latest block has.
  let latest: string | undefined;
  const skip = (step: ReplayStep, hash: string, reason: string) => {
    outcome.skipped.push({ hash, reason });
    ctx.onStep?.(step);
  };
  for (const step of plan.steps) {
    ctx.signal?.throwIfAborted();
    const { item } = step;
    const key = contextKey(step.block);
    if (item.target && latest !== key) {
      // Traced calls run on "latest": give it the target's block context.
      await fork.mineContext(step.block);
      latest = key;
    }
    if (item.kind === "call") {
      const blue = await fork.traceCall(item.call);
      const green = await fork.traceCall(item.call, ctx.green.address);
      outcome.comparisons.push({
        hash: item.hash,
        line: item.line,
        ...(item.call.from !== undefined ? { from: item.call.from } : {}),
        to: item.call.to,
        input: item.call.data,
        foundBy: item.foundBy,
        blue,
        green,
        differences: compareObservations(blue, green, ctx.compare),
        method: "traced",
      });
      ctx.onStep?.(step);
      continue;
    }
    if (item.tx.type === 3) {
      skip(step, item.hash, "blob transaction (type 3): cannot be sent again on a fork");
      continue;
    }
    if (!(await fork.prepareSender(item.tx))) {
      skip(step, item.hash, `nonce ${item.tx.nonce} of ${item.tx.from} was already used on the fork`);
      continue;
    }
    const real = ctx.realReceipt(item.hash);
    let green: Observation | undefined;
    let blue: Observation | undefined;
    let snapshot: string | undefined;
    if (item.target) {
      green = await fork.traceCall(item.tx, ctx.green.address);
      // Where green already reproduces the real receipt, blue need not be traced
      // (the lean path below checks it against the mined blue). Otherwise trace
      // blue the same way, so that the comparison is like for like.
      if (real === undefined || !sameReceipt(asReceipt(green), real).same) {
        blue = await fork.traceCall(item.tx);
        // A traced call is not a mined transaction (it sees a zero base fee, the
        // latest block's number). Where the traced blue does not reproduce the real
        // receipt, keep a snapshot to redo the pair the exact way. Snapshots are
        // not taken otherwise: they make later state writes on the fork slower.
        if (real === undefined || !sameReceipt(asReceipt(blue), real).same) snapshot = await fork.snapshot();
      }
    }
    let sent: { hash: string; receipt: ReceiptFacts };
    try {
      await fork.setNextBlock(step.block);
      sent = await sendAndMine(fork, item.tx);
    } catch (e) {
      if (snapshot !== undefined) {
        await fork.revert(snapshot);
        fork.forgetAppliedContext();
      }
      latest = undefined;
      skip(step, item.hash, `the fork refused it: ${firstLine(e)}`);
      continue;
    }
    latest = key;
    const mined = sent.receipt;
    if (green !== undefined) {
      let comparison: { blue: Observation; green: Observation; method: TxComparison["method"] };
      if (blue !== undefined) {
        comparison =
          snapshot !== undefined && !sameReceipt(mined, asReceipt(blue)).same
            ? await exactTwin(fork, item.tx, step.block, snapshot, sent.hash, ctx)
            : { blue, green, method: "traced" };
        if (comparison.method === "mined") latest = key;
      } else if (sameReceipt(mined, asReceipt(green)).same) {
        // Lean path: the mined blue shows green's status, gas and logs; read the
        // slots green wrote in blue's post-state. A slot only blue wrote would
        // have changed the gas (an SSTORE that changes a value costs at least
        // 2,900 gas), and gas is equal to the unit here.
        comparison = { blue: { ...leanBlue(green, mined), storage: await fork.readProxyStorage(Object.keys(green.storage)) }, green, method: "lean" };
      } else {
        comparison = { blue: await fork.traceTransaction(sent.hash), green, method: "mined" };
      }
      fork.noteBlueWrites(comparison.blue);
      outcome.comparisons.push({
        hash: item.hash,
        ...(item.block !== undefined ? { blockNumber: item.block.number } : {}),
        ...(item.line !== undefined ? { line: item.line } : {}),
        from: item.tx.from,
        ...(item.tx.to !== undefined ? { to: item.tx.to } : {}),
        input: item.tx.data,
        foundBy: item.foundBy,
        blue: comparison.blue,
        green: comparison.green,
        differences: compareObservations(comparison.blue, comparison.green, ctx.compare),
        method: comparison.method,
      });
    }
    if (real !== undefined) {
      outcome.fidelity.total++;
      const check = sameReceipt(mined, real);
      if (check.same) outcome.fidelity.matched++;
      else outcome.fidelity.mismatches.push({ hash: item.hash, ...(item.block !== undefined ? { blockNumber: item.block.number } : {}), what: check.what });
    }
    ctx.onStep?.(step);
  }
  return outcome;
}

/** Blue as the mined receipt shows it, with green's view of which calls reached the proxy. */
function leanBlue(green: Observation, mined: ReceiptFacts): Observation {
  return {
    status: mined.status,
    ...(mined.status === "revert" ? { error: green.error ?? "execution reverted", revertData: green.revertData ?? "0x" } : {}),
    gasUsed: mined.gasUsed,
    logs: mined.logs,
    storage: {},
    proxySelectors: green.proxySelectors,
    proxyInputs: green.proxyInputs,
  };
}

/** Transactions of one original block share its context. */
function contextKey(block: BlockContext): string {
  return `${block.number}:${block.timestamp}`;
}

async function sendAndMine(fork: ForkControl, tx: Parameters<ForkControl["send"]>[0]): Promise<{ hash: string; receipt: ReceiptFacts }> {
  const hash = await fork.send(tx);
  return { hash, receipt: await fork.receipt(hash) };
}

/**
 * Both worlds mined from the same snapshot and traced afterwards: slower,
 * but exactly what the chain would do. Leaves the fork with blue mined.
 */
async function exactTwin(
  fork: ForkControl,
  tx: Parameters<ForkControl["send"]>[0],
  block: BlockContext,
  snapshot: string,
  blueHash: string,
  ctx: SegmentContext,
): Promise<{ blue: Observation; green: Observation; method: "mined" }> {
  const blue = await fork.traceTransaction(blueHash);
  await fork.revert(snapshot);
  fork.forgetAppliedContext();
  const again = await fork.snapshot();
  await fork.setNextBlock(block);
  await fork.setStorage(ctx.proxy, IMPLEMENTATION_SLOT, addressWord(ctx.green.address));
  await fork.prepareSender(tx);
  const greenHash = await fork.send(tx);
  const green = await fork.traceTransaction(greenHash);
  await fork.revert(again);
  fork.forgetAppliedContext();
  await fork.setNextBlock(block);
  await fork.prepareSender(tx);
  await fork.send(tx);
  return { blue, green, method: "mined" };
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
 * own state forward. Returns green's observation of every target, to be
 * compared with blue's (differences that are not root divergences are the
 * propagated ones).
 */
export async function runCascade(
  fork: ForkControl,
  steps: ReplayStep[],
  ctx: Pick<SegmentContext, "proxy" | "green" | "signal" | "onStep">,
): Promise<Map<string, Observation>> {
  const observations = new Map<string, Observation>();
  await fork.setCode(ctx.green.address, ctx.green.code);
  await fork.setStorage(ctx.proxy, IMPLEMENTATION_SLOT, addressWord(ctx.green.address));
  let latest: string | undefined;
  for (const step of steps) {
    ctx.signal?.throwIfAborted();
    const { item } = step;
    const key = contextKey(step.block);
    if (item.target && latest !== key) {
      await fork.mineContext(step.block);
      latest = key;
    }
    if (item.kind === "call") {
      observations.set(item.hash, await fork.traceCall(item.call));
    } else if (item.tx.type !== 3 && (await fork.prepareSender(item.tx))) {
      if (item.target) observations.set(item.hash, await fork.traceCall(item.tx));
      try {
        await fork.setNextBlock(step.block);
        await fork.send(item.tx);
        latest = key;
      } catch {
        // A transaction green's world cannot even accept; its observation (if a target) says why.
        latest = undefined;
      }
    }
    ctx.onStep?.(step);
  }
  return observations;
}
