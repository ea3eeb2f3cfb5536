/**
 * The replay of a release: find the traffic, fork the source before it,
 * replay it blue-and-green on parallel forks (and, with `cascade`, in a
 * world where green's state carries forward), check blue against the real
 * receipts, and build the report.
 *
 * Parallelism: blue's state at the start of any block is the chain's own, so
 * a range splits into segments, each replayed on its own fork pinned at the
 * block before it. The cascade world cannot split (green's drift accumulates
 * from the start) and runs beside them on a fork of its own.
 */
import { keccak256 } from "ethers";

import { JsonRpcError } from "../chain/json-rpc.js";
import { quantity } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import { type RpcBlock, type RpcReceipt, toBigInt, toBlockContext, toReceiptFacts } from "./chain-data.js";
import { compareObservations, type CompareOptions } from "./compare.js";
import { captureToTraffic, type NumberedCaptureLine } from "./capture-file.js";
import type { ReplayConfig, ReplayMode } from "./config.js";
import { fleetImplementationAt, fleetSourceStorage, resolveFleet, type ResolvedFleet } from "./beacon-fleet.js";
import { AbiDecoder } from "./decode.js";
import { discoverTraffic, type DiscoverySummary } from "./discover-traffic.js";
import { ForkControl, type ForkHandle } from "./fork-control.js";
import { word } from "./observe.js";
import { startForkFront } from "./fork-front.js";
import { prefetchState, saveLearned } from "./prefetch.js";
import { buildReport, type ReplayReport } from "./report.js";
import { cacheKey } from "./rpc-cache.js";
import type { SourceCache } from "./source-cache.js";
import type { SourceRpc } from "./source-rpc.js";
import { emptyFidelity, runCascade, runTwinSegment, type ReplayBlock, type SegmentOutcome, type SegmentPlan } from "./twin-executor.js";
import type { ReceiptFacts, TrafficItem } from "./types.js";
import { type CanaryReplayOptions, canaryWorld, summarizeCanary } from "./canary-replay.js";

/** What the replay needs of a release record. */
export interface ReleaseUnderTest {
  id: string;
  chainId: number;
  proxy: string;
  blue: { address: string; codehash: string };
  green: { address: string; codehash: string };
  /** Absent: transparent. For a beacon, `proxy` is the beacon. */
  kind?: "transparent" | "uups" | "beacon";
  beacon?: { address: string; proxies: string[] };
}

export type TrafficSource =
  | { kind: "range"; fromBlock: number; toBlock: number }
  | { kind: "capture"; file: string; lines: NumberedCaptureLine[]; fromBlock?: number };

/** Opens a fork of `url` (the fork front) pinned at `blockNumber`, with the source's chain id. */
export type OpenFork = (args: { url: string; blockNumber: number; chainId: number }) => Promise<ForkHandle>;

export interface ReplayProgress {
  done: number;
  total: number;
}

export interface ReplayOptions {
  release: ReleaseUnderTest;
  /** The source chain (discovery and the fork both read it through this client and its cache). */
  source: SourceRpc;
  openFork: OpenFork;
  traffic: TrafficSource;
  mode: ReplayMode;
  cascade: boolean;
  config: Pick<ReplayConfig, "gasTolerance" | "expected" | "workers" | "tracing"> & Partial<Pick<ReplayConfig, "beacons">>;
  /** A beacon release: its proxies to replay (`--proxies`), instead of those found from events. */
  proxies?: string[];
  /**
   * The share of fidelity checks that must pass for a verdict (the replay
   * gate's `minFidelity` where it is configured). Without it a faithful
   * replay needs all of them; a fast one is not held to any.
   */
  minFidelity?: number;
  decoder?: AbiDecoder;
  /** Replay with a CanaryRouter in green's place (`--canary`): the report then carries the split and the router's overhead. */
  canary?: CanaryReplayOptions;
  /** The shared on-disk source cache (state by chain, block and key); without it prefetched state lives for this run only. */
  sourceCache?: SourceCache;
  /** Prefetch the forks' state in bulk before they run (see prefetch.ts). Default "auto". */
  prefetch?: "auto" | "off";
  onProgress?: (progress: ReplayProgress) => void;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** Replays the traffic blue-and-green and returns the report (not yet written anywhere). */
export async function replayRelease(options: ReplayOptions): Promise<ReplayReport> {
  const startedAt = new Date();
  const { release, source } = options;
  const proxy = release.proxy.toLowerCase();
  const warnings: string[] = [];

  const chainId = Number(toBigInt(await source.request({ method: "eth_chainId" })));
  if (chainId !== release.chainId) {
    throw new BlueGreenError(
      "BG_REPLAY_NETWORK", `The source is chain ${chainId}, but release "${release.id}" was staged on chain ${release.chainId}. Pass the --network the release was staged on.`,
    );
  }
  const greenCode = await fetchGreenCode(source, release.green);

  const fleet = await resolveFleet({
    source,
    release,
    toBlock: options.traffic.kind === "range" ? options.traffic.toBlock : Number(toBigInt(await source.request({ method: "eth_blockNumber" }))),
    ...(options.proxies !== undefined ? { listed: options.proxies } : {}),
    config: { beacons: options.config.beacons ?? {} },
    ...(options.log !== undefined ? { log: options.log } : {}),
  });
  const plan = await planTraffic(options, warnings, fleet);
  const discoveryRequests = source.stats.calls;
  const compare: CompareOptions = { gasTolerance: options.config.gasTolerance, expected: options.config.expected };
  if (plan.blocks.length === 0 || plan.targets === 0) {
    warnings.push(
      options.traffic.kind === "range"
        ? `No transaction in blocks ${plan.fromBlock}-${plan.toBlock} touches the proxy ${proxy}. Nothing was replayed: pick a range with traffic (--from-block/--to-block or --last-blocks).`
        : `The capture file ${options.traffic.file} holds no traffic. Nothing was replayed.`,
    );
  }
  if (plan.mode === "fast" && options.traffic.kind === "range") {
    warnings.push(
      "Fast mode replays only the proxy's own transactions: state that other transactions of the range wrote is missing, so fidelity may be below 100% where that state mattered. Use --mode faithful for the evidence of a release.",
    );
  }

  const bluePinned = await fleetImplementationAt(source, fleet, plan.forkBlock);
  if (bluePinned !== undefined && bluePinned !== release.blue.address.toLowerCase()) {
    warnings.push(
      `At block ${plan.forkBlock} the proxy ran ${bluePinned}, not blue ${release.blue.address.toLowerCase()}: the replay compares green with what the proxy really ran then.`,
    );
  }

  const segments = plan.targets === 0 ? [] : splitSegments(plan.blocks, options.traffic.kind === "capture" ? 1 : options.config.workers, plan.forkBlock);
  // The forks read the source through the front, with the head pinned (see cacheKey).
  const forkSource = source.derive({ pinHead: true });
  await pinHeadAtLeast(source, plan.toBlock);
  // Captures run in synthetic blocks: there is nothing of the source's to prefetch for them.
  // The prefetch runs while the forks open: EDR's first requests (chain id, head, fork block) need none of it.
  const prefetching = prefetchState({
    source,
    chainId,
    segments:
      options.traffic.kind === "range"
        ? [
            ...segments.map((s) => ({ forkBlock: s.forkBlock, lastBlock: s.blocks[s.blocks.length - 1]!.context.number })),
            // The cascade world runs the whole range on one fork pinned at the first segment's block.
            ...(options.cascade && segments.length > 0 ? [{ forkBlock: plan.forkBlock, lastBlock: plan.toBlock }] : []),
          ]
        : [],
    receipts: plan.realReceipts,
    proxy,
    extraAccounts: [release.green.address],
    ...(options.sourceCache !== undefined ? { cache: options.sourceCache } : {}),
    mode: options.prefetch ?? "auto",
  });
  prefetching.catch(() => undefined);
  let prefetched: Awaited<typeof prefetching> | undefined;
  // A prefetch that failed leaves the forks to read lazily; the replay fails with its error below.
  const front = await startForkFront(forkSource, prefetching.then((p) => p.state).catch(() => undefined));
  const handles: ForkHandle[] = [];
  const total = segments.reduce((n, s) => n + s.blocks.reduce((m, b) => m + b.items.length, 0), 0);
  let done = 0;
  const onItem = () => {
    done++;
    options.onProgress?.({ done, total });
  };
  // The state check reads the source's own values (cached like every pinned read).
  const fleetStorage = fleetSourceStorage(forkSource, fleet);
  // A beacon's slots are keyed per proxy (`<proxy>:<slot>`): read them as such; the prefetch knows one proxy's.
  const sourceStorage =
    options.traffic.kind === "range"
      ? async (slots: string[], blockNumber: number) =>
          fleet.kind === "beacon"
            ? fleetStorage(slots, blockNumber)
            : (prefetched!.proxySlots.get(blockNumber, slots) ?? (await sourceSlots(forkSource, proxy, slots, blockNumber)))
      : undefined;
  try {
    const open = async (blockNumber: number) => {
      const handle = await options.openFork({ url: front.url, blockNumber, chainId });
      handles.push(handle);
      return new ForkControl(handle.provider, fleet);
    };
    const canary = options.canary !== undefined ? await canaryWorld(options.canary, release, greenCode) : undefined;
    // With --canary the green world runs the router, which routes each caller to green or blue.
    const green = canary !== undefined ? { address: canary.router.address.toLowerCase(), code: canary.router.code } : { address: release.green.address.toLowerCase(), code: greenCode };
    const alsoOnFork = canary !== undefined ? { alsoOnFork: [canary.green] } : {};
    const receipts = plan.realReceipts;
    const signal = options.signal !== undefined ? { signal: options.signal } : {};
    // Forks open before the clock starts: `replaySeconds` times the replay itself.
    const forks = await Promise.all(segments.map((segment) => open(segment.forkBlock))).catch((e: unknown) => {
      throw front.failure ?? e;
    });
    const cascadeFork = options.cascade && segments.length > 0 ? await open(plan.forkBlock) : undefined;
    prefetched = await prefetching;
    const loopStart = performance.now();
    const segmentRuns = segments.map((segment, i) =>
      runTwinSegment(forks[i]!, segment, {
        proxy,
        green,
        ...alsoOnFork,
        compare,
        realReceipt: (hash) => receipts.get(hash),
        ...(sourceStorage !== undefined ? { sourceStorage } : {}),
        onItem,
        ...signal,
      }),
    );
    const cascadeRun = cascadeFork !== undefined ? runCascade(cascadeFork, plan.blocks, { proxy, green, ...alsoOnFork, ...signal }) : Promise.resolve(undefined);
    const [outcomes, cascadeGreen] = await Promise.all([Promise.all(segmentRuns), cascadeRun]).catch((e: unknown) => {
      throw front.failure ?? e;
    });
    // A source that failed under the fork makes its errors look like refused transactions: fail with the cause.
    if (front.failure !== undefined) throw front.failure;
    const replaySeconds = (performance.now() - loopStart) / 1000;
    const merged = mergeOutcomes(outcomes);
    const finishedAt = new Date();
    const report = buildReport({
      release,
      mode: plan.mode,
      cascade: options.cascade,
      traffic:
        options.traffic.kind === "range"
          ? { source: "chain" }
          : { source: "capture", file: options.traffic.file, lines: options.traffic.lines.length },
      fromBlock: plan.fromBlock,
      toBlock: plan.toBlock,
      forkBlocks: segments.map((s) => s.forkBlock),
      discovery: plan.discovery,
      comparisons: merged.comparisons,
      fleet,
      ...(cascadeGreen !== undefined ? { cascadeGreen } : {}),
      compareCascade: (blue, green) => compareObservations(blue, green, compare),
      replayed: merged.mined,
      blocks: plan.blocks.length,
      fidelity: merged.fidelity,
      fidelityThreshold: options.minFidelity ?? (plan.mode === "faithful" ? 1 : undefined),
      skipped: merged.skipped,
      adjustments: [...new Set(merged.adjustments)],
      warnings,
      sourceRequests: {
        discovery: discoveryRequests,
        fork: forkSource.stats.calls,
        cached: source.stats.cacheHits + forkSource.stats.cacheHits,
        prefetch: { ...prefetched.summary, served: prefetched.state.served },
      },
      startedAt,
      finishedAt,
      replaySeconds,
      decoder: options.decoder ?? new AbiDecoder(),
    });
    return canary !== undefined ? { ...report, canary: summarizeCanary(canary, merged.comparisons, proxy) } : report;
  } finally {
    await Promise.allSettled(handles.map((h) => h.close()));
    await front.close();
    if (prefetched !== undefined) await saveLearned(prefetched.state);
    await source.cache.flush();
  }
}

interface TrafficPlan {
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

async function planTraffic(options: ReplayOptions, warnings: string[], fleet: ResolvedFleet): Promise<TrafficPlan> {
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
      tracing: options.config.tracing,
      ...(options.log !== undefined ? { log: options.log } : {}),
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

function mergeOutcomes(outcomes: SegmentOutcome[]): SegmentOutcome {
  const fidelity = emptyFidelity();
  for (const o of outcomes) {
    fidelity.matched += o.fidelity.matched;
    fidelity.total += o.fidelity.total;
    fidelity.receipts.matched += o.fidelity.receipts.matched;
    fidelity.receipts.total += o.fidelity.receipts.total;
    fidelity.state.matched += o.fidelity.state.matched;
    fidelity.state.total += o.fidelity.state.total;
    fidelity.mismatches.push(...o.fidelity.mismatches);
  }
  return {
    comparisons: outcomes.flatMap((o) => o.comparisons),
    mined: outcomes.reduce((n, o) => n + o.mined, 0),
    fidelity,
    skipped: outcomes.flatMap((o) => o.skipped),
    adjustments: outcomes.flatMap((o) => o.adjustments),
  };
}

/**
 * Green's runtime code, from the source at its latest block (green is usually
 * deployed after the replayed range), checked against the recorded codehash.
 * Cached by codehash, so a warm run does not ask again.
 */
export async function fetchGreenCode(source: SourceRpc, green: { address: string; codehash: string }): Promise<string> {
  const key = `code:${green.codehash.toLowerCase()}`;
  const cached = source.cache.get(key);
  if (cached !== undefined && "result" in cached && typeof cached.result === "string") return cached.result;
  const code = (await source.request({ method: "eth_getCode", params: [green.address, "latest"] })) as string;
  if (code === "0x" || code === "") {
    throw new BlueGreenError(
      "BG_REPLAY_GREEN_NOT_DEPLOYED", `Green ${green.address} has no code on the source. Deploy it with \`npx hardhat bg:stage\` on this network, then replay.`,
    );
  }
  const hash = keccak256(code);
  if (hash.toLowerCase() !== green.codehash.toLowerCase()) {
    throw new BlueGreenError(
      "BG_REPLAY_GREEN_CHANGED", `Green ${green.address} on the source has codehash ${hash}, but the release recorded ${green.codehash}. ` +
        "Green changed since it was staged: stage the release again, then replay.",
    );
  }
  source.cache.put(key, { result: code });
  return code;
}

/**
 * The head the front shows EDR is pinned in the cache by the first run; a
 * later range beyond it needs the source's head again (EDR refuses to fork
 * past the head it is told).
 */
async function pinHeadAtLeast(source: SourceRpc, block: number): Promise<void> {
  const key = cacheKey("eth_blockNumber", [], { pinHead: true })!;
  const cached = source.cache.get(key);
  if (cached !== undefined && "result" in cached && Number(toBigInt(cached.result)) >= block) return;
  source.cache.replace(key, { result: await source.request({ method: "eth_blockNumber" }) });
}

/**
 * The source's values of the proxy's slots at a block: one `eth_getProof`
 * for all of them where the source has it, else one `eth_getStorageAt` each.
 */
async function sourceSlots(source: SourceRpc, proxy: string, slots: string[], blockNumber: number): Promise<Record<string, string>> {
  const [proof] = await source.batch([{ method: "eth_getProof", params: [proxy, slots, quantity(blockNumber)] }]);
  const entries = (proof as { storageProof?: Array<{ key: string; value: string }> } | null)?.storageProof;
  if (!(proof instanceof JsonRpcError) && Array.isArray(entries) && entries.length === slots.length) {
    return Object.fromEntries(slots.map((slot, i) => [slot, word(entries[i]!.value)]));
  }
  const values = await source.batchOrThrow(slots.map((slot) => ({ method: "eth_getStorageAt", params: [proxy, slot, quantity(blockNumber)] })));
  return Object.fromEntries(slots.map((slot, i) => [slot, word(values[i] as string)]));
}
