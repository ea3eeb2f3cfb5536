/**
 * The traffic of a replay, planned: the blocks to replay with their real
 * receipts (discovered in a range of the source, or read from a capture
 * file), and their split into segments of whole blocks, one per fork.
 */
import { JsonRpcError } from "../chain/json-rpc.js";
import { quantity } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import type { ResolvedFleet } from "./beacon-fleet.js";
import { captureToTraffic, type NumberedCaptureLine } from "./capture-file.js";
import { type RpcBlock, type RpcReceipt, toBigInt, toBlockContext, toReceiptFacts } from "./chain-data.js";
import type { ReplayConfig, ReplayMode } from "./config.js";
import { discoverTraffic, type DiscoverySummary } from "./discover-traffic.js";
import type { SourceRpc } from "./source-rpc.js";
import type { ReplayBlock, SegmentPlan } from "./twin-executor.js";
import type { ReceiptFacts, TrafficItem } from "./types.js";

export type TrafficSource =
  | { kind: "range"; fromBlock: number; toBlock: number }
  | { kind: "capture"; file: string; lines: NumberedCaptureLine[]; fromBlock?: number };

/** What a replay needs to know to find its traffic. */
export interface TrafficOptions {
  source: SourceRpc;
  traffic: TrafficSource;
  mode: ReplayMode;
  tracing: ReplayConfig["tracing"];
  log?: (line: string) => void;
}

export interface TrafficPlan {
  mode: ReplayMode;
  fromBlock: number;
  toBlock: number;
  forkBlock: number;
  /** The fork's blocks, in order: one per original block that has traffic to replay. */
  blocks: ReplayBlock[];
  targets: number;
  realReceipts: Map<string, ReceiptFacts>;
  discovery: DiscoverySummary;
}

export async function planTraffic(options: TrafficOptions, warnings: string[], fleet: ResolvedFleet, onBlocks?: (blocks: RpcBlock[]) => void): Promise<TrafficPlan> {
  const { source, traffic } = options;
  if (traffic.kind === "range") {
    if (traffic.fromBlock < 1) {
      throw new BlueGreenError("BG_REPLAY_OPTION", "--from-block must be at least 1: the fork is pinned at the block before the range.");
    }
    const discovered = await discoverTraffic({
      source,
      proxies: fleet.proxies,
      perProxy: fleet.kind === "beacon",
      fromBlock: traffic.fromBlock,
      toBlock: traffic.toBlock,
      mode: options.mode,
      tracing: options.tracing,
      ...(options.log !== undefined ? { log: options.log } : {}),
      ...(onBlocks !== undefined ? { onBlocks } : {}),
    });
    if (discovered.summary.mayMiss !== "") warnings.push(discovered.summary.mayMiss);
    return {
      mode: options.mode,
      fromBlock: traffic.fromBlock,
      toBlock: traffic.toBlock,
      forkBlock: traffic.fromBlock - 1,
      blocks: groupByBlock(discovered.items),
      targets: discovered.targets,
      realReceipts: discovered.realReceipts,
      discovery: discovered.summary,
    };
  }
  // A capture file: the proxy's traffic only, in file order, on top of the state at its first block.
  if (options.mode === "faithful") {
    warnings.push("A capture file holds only the proxy's traffic, not whole blocks: it is replayed in fast mode.");
  }
  const items = captureToTraffic(traffic.lines);
  const numbers = traffic.lines.map((l) => l.blockNumber).filter((n): n is number => n !== undefined);
  let forkBlock: number;
  if (traffic.fromBlock !== undefined) forkBlock = traffic.fromBlock - 1;
  else if (numbers.length > 0) forkBlock = Math.min(...numbers);
  else forkBlock = Number(toBigInt(await source.request({ method: "eth_blockNumber" })));
  const forkHeader = (await source.request({ method: "eth_getBlockByNumber", params: [quantity(forkBlock), false] })) as RpcBlock | null;
  if (forkHeader === null) throw new BlueGreenError("BG_REPLAY_BLOCK_MISSING", `The source has no block ${forkBlock}: the capture file's blocks are ahead of it.`);
  const base = toBlockContext(forkHeader);
  // Each captured item runs in a block of its own, one second after the one before, on the fork block's other context.
  const blocks: ReplayBlock[] = items.map((item, i) => ({ context: { ...base, number: base.number + i + 1, timestamp: base.timestamp + i + 1 }, items: [item] }));
  const mined = items.filter((i): i is Extract<TrafficItem, { kind: "tx" }> => i.kind === "tx");
  // Captured transactions that were mined have real receipts: those count for fidelity.
  const receipts = new Map<string, ReceiptFacts>();
  const results = await source.batch(mined.map((i) => ({ method: "eth_getTransactionReceipt", params: [i.hash] })));
  results.forEach((r, i) => {
    if (r !== null && typeof r === "object" && !(r instanceof JsonRpcError)) receipts.set(mined[i]!.hash, toReceiptFacts(r as RpcReceipt));
  });
  return {
    mode: "fast",
    fromBlock: numbers.length > 0 ? Math.min(...numbers) : forkBlock,
    toBlock: numbers.length > 0 ? Math.max(...numbers) : forkBlock,
    forkBlock,
    blocks,
    targets: items.length,
    realReceipts: receipts,
    discovery: { used: ["capture"], unavailable: [], mayMiss: "", found: { capture: items.length } },
  };
}

/** One fork block per original block, its transactions in chain order. */
function groupByBlock(items: Array<Extract<TrafficItem, { kind: "tx" }>>): ReplayBlock[] {
  const blocks: ReplayBlock[] = [];
  for (const item of items) {
    const last = blocks[blocks.length - 1];
    if (last !== undefined && last.context.number === item.block!.number) last.items.push(item);
    else blocks.push({ context: item.block!, items: [item] });
  }
  return blocks;
}

/**
 * Splits the blocks into at most `workers` segments of whole blocks with
 * about the same number of targets each; each segment's fork is pinned at
 * the block before its first.
 */
export function splitSegments(blocks: ReplayBlock[], workers: number, forkBlock: number): SegmentPlan[] {
  const targetsOf = (block: ReplayBlock) => block.items.filter((i) => i.target).length;
  const totalTargets = blocks.reduce((n, b) => n + targetsOf(b), 0);
  const count = Math.max(1, Math.min(workers, blocks.filter((b) => targetsOf(b) > 0).length));
  const segments: SegmentPlan[] = [];
  let current: ReplayBlock[] = [];
  let currentTargets = 0;
  let remaining = totalTargets;
  const close = () => {
    // The first segment starts at the range's own fork block; captures have synthetic block numbers.
    const pinned = segments.length === 0 ? forkBlock : current[0]!.context.number - 1;
    segments.push({ index: segments.length, forkBlock: pinned, blocks: current });
  };
  for (const block of blocks) {
    const left = count - segments.length;
    if (current.length > 0 && left > 1 && currentTargets >= remaining / left) {
      close();
      remaining -= currentTargets;
      current = [];
      currentTargets = 0;
    }
    current.push(block);
    currentTargets += targetsOf(block);
  }
  if (current.length > 0) close();
  return segments;
}
