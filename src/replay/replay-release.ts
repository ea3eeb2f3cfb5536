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
import { keccak256, toUtf8Bytes } from "ethers";

import { JsonRpcError } from "../chain/json-rpc.js";
import { quantity } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import { toBigInt } from "./chain-data.js";
import { compareObservations, type CompareOptions } from "./compare.js";
import type { ReplayConfig, ReplayMode } from "./config.js";
import { fleetImplementationAt, fleetReport, fleetSourceStorage, resolveFleet } from "./beacon-fleet.js";
import { AbiDecoder } from "./decode.js";
import { ForkControl, type ForkHandle } from "./fork-control.js";
import { word } from "./observe.js";
import { startForkFront } from "./fork-front.js";
import { Prefetch, saveLearned } from "./prefetch.js";
import { assembleReport, type ReplayReport, type ReplaySettings } from "./report.js";
import {
  addTallies,
  type ComparisonLine,
  DEFAULT_KEEP,
  emptyTally,
  type Tally,
  tallyAdjustment,
  tallyComparison,
  tallyMismatch,
  tallyPropagated,
  tallySkipped,
} from "./report-stream.js";
import { openRun, type RunOutput } from "./run-files.js";
import { describeShard, type Shard, sliceOf } from "./shard.js";
import { planTraffic, splitSegments, type TrafficSource } from "./traffic-plan.js";
import { cacheKey } from "./rpc-cache.js";
import type { SourceCache } from "./source-cache.js";
import type { SourceRpc } from "./source-rpc.js";
import { drainOutcome, runCascade, runTwinSegment, type SegmentOutcome } from "./twin-executor.js";
import type { TxComparison } from "./types.js";
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
  /** Replay only this shard's slice of the range; the report is then a partial one (see shard.ts). */
  shard?: Shard;
  /**
   * Where the run streams its comparisons (a JSON Lines file beside the
   * report) and keeps its checkpoint: the release folder. `stem` names the
   * files from the run's start time. Without it nothing is written.
   */
  output?: RunOutput;
  /** Entries of each list kept in full in the report (default DEFAULT_KEEP); the comparisons file has all. */
  keep?: number;
}

/** Replays the traffic blue-and-green and returns the report (not yet recorded: see record-step.ts). */
export async function replayRelease(options: ReplayOptions): Promise<ReplayReport> {
  try {
    return await replay(options);
  } finally {
    // Whatever was fetched is kept, however the replay ended: "a re-run reuses what was already fetched".
    await options.source.cache.flush();
  }
}

async function replay(options: ReplayOptions): Promise<ReplayReport> {
  let startedAt = new Date();
  const { release, source } = options;
  const proxy = release.proxy.toLowerCase();
  const warnings: string[] = [];
  const decoder = options.decoder ?? new AbiDecoder();

  // The first reads go out together (each is a round trip to a remote source); the chain is checked first.
  const chainIdRead = source.request({ method: "eth_chainId" });
  const greenRead = fetchGreenCode(source, release.green);
  const fleetRead = (async () =>
    resolveFleet({
      source,
      release,
      toBlock: options.traffic.kind === "range" ? options.traffic.toBlock : Number(toBigInt(await source.request({ method: "eth_blockNumber" }))),
      ...(options.proxies !== undefined ? { listed: options.proxies } : {}),
      config: { beacons: options.config.beacons ?? {} },
      ...(options.log !== undefined ? { log: options.log } : {}),
    }))();
  // The head the forks are shown, read again only when the range goes past the one pinned before: a range beyond it is refused.
  const headRead = options.traffic.kind === "range" ? pinHeadAtLeast(source, options.traffic.toBlock) : undefined;
  greenRead.catch(() => undefined);
  fleetRead.catch(() => undefined);
  headRead?.catch(() => undefined);
  const chainId = Number(toBigInt(await chainIdRead));
  if (chainId !== release.chainId) {
    throw new BlueGreenError(
      "BG_REPLAY_NETWORK", `The source is chain ${chainId}, but release "${release.id}" was staged on chain ${release.chainId}. Pass the --network the release was staged on.`,
    );
  }
  if (options.shard !== undefined) refuseUnshardable(options);
  const head = await headRead;
  if (head !== undefined && options.traffic.kind === "range" && head < options.traffic.toBlock) {
    throw new BlueGreenError(
      "BG_REPLAY_BLOCK_MISSING",
      `The source's head is block ${head}: it has no block ${options.traffic.toBlock} yet. Pick a range that ends at or before ${head} (or --last-blocks K).`,
    );
  }
  const greenCode = await greenRead;
  const fleet = await fleetRead;

  const prefetch = new Prefetch({ source, chainId, ...(options.sourceCache !== undefined ? { cache: options.sourceCache } : {}), mode: options.prefetch ?? "auto" });
  // A faithful replay of a range (unsharded) needs every block's prestate: the traces start while discovery reads on.
  const traceEarly = options.traffic.kind === "range" && options.mode === "faithful" && options.shard === undefined;
  const plan = await planTraffic(
    { source, traffic: options.traffic, mode: options.mode, tracing: options.config.tracing, ...(options.log !== undefined ? { log: options.log } : {}) },
    warnings,
    fleet,
    traceEarly ? (blocks) => prefetch.traceEarly(blocks) : undefined,
  );
  const discoveryRequests = source.stats.calls;
  const compare: CompareOptions = { gasTolerance: options.config.gasTolerance, expected: options.config.expected };
  const fidelityThreshold = options.minFidelity ?? (plan.mode === "faithful" ? 1 : undefined);
  const settings = replaySettings(options, fidelityThreshold);
  // A shard replays its slice of the blocks; every shard cuts the same discovered traffic the same way.
  const slice =
    options.shard !== undefined
      ? sliceOf(plan.blocks.map((b) => ({ number: b.context.number, weight: b.items.length })), plan.fromBlock, plan.toBlock, options.shard)
      : undefined;
  const blocks = slice !== undefined ? plan.blocks.filter((b) => b.context.number >= slice.fromBlock && b.context.number <= slice.toBlock) : plan.blocks;
  const targets = blocks.reduce((n, b) => n + b.items.filter((i) => i.target).length, 0);
  if (slice !== undefined && targets === 0) {
    // Not a warning of the replay: the merged report must read as one run's.
    options.log?.(`shard ${describeShard(slice)} (blocks ${slice.fromBlock}-${slice.toBlock}) holds no transaction that touches the proxy: its partial report is empty, and the merge still needs it`);
  } else if (blocks.length === 0 || targets === 0) {
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

  // A range's head was pinned above; a capture's blocks are known only now.
  const [bluePinned] = await Promise.all([
    fleetImplementationAt(source, fleet, plan.forkBlock),
    options.traffic.kind === "range" ? undefined : pinHeadAtLeast(source, plan.toBlock),
  ]);
  if (bluePinned !== undefined && /^0x0{40}$/.test(bluePinned)) {
    // The range starts before the proxy was set up: its first transactions deploy or initialize it.
    warnings.push(`At block ${plan.forkBlock} the proxy ran no implementation yet (the range starts before it was set up): its transactions before that are replayed as the chain had them.`);
  } else if (bluePinned !== undefined && bluePinned !== release.blue.address.toLowerCase()) {
    warnings.push(
      `At block ${plan.forkBlock} the proxy ran ${bluePinned}, not blue ${release.blue.address.toLowerCase()}: the replay compares green with what the proxy really ran then.`,
    );
  }

  const firstForkBlock = slice !== undefined ? slice.fromBlock - 1 : plan.forkBlock;
  const segments = targets === 0 ? [] : splitSegments(blocks, options.traffic.kind === "capture" ? 1 : options.config.workers, firstForkBlock);
  const run = await openRun(segments, {
    ...(options.output !== undefined ? { output: options.output } : {}),
    keep: options.keep ?? DEFAULT_KEEP,
    planKey: {
      release: release.id,
      green: release.green.codehash.toLowerCase(),
      traffic: options.traffic.kind === "range" ? [plan.fromBlock, plan.toBlock] : options.traffic.file,
      mode: plan.mode,
      shard: slice ?? null,
      settings: settings.hash,
      segments: segments.map((s) => [s.forkBlock, s.blocks.length, s.blocks[s.blocks.length - 1]?.context.number]),
    },
    startedAt,
    checkpointed: !options.cascade && options.canary === undefined,
    midSegment: plan.mode === "faithful" && options.traffic.kind === "range",
  });
  if (run.resumedFrom !== undefined) {
    startedAt = run.resumedFrom;
    options.log?.(`resuming the replay started at ${startedAt.toISOString()} from its checkpoint (${run.blocksDone} block(s) already replayed)`);
  }
  // The forks read the source through the front, with the head pinned (see cacheKey).
  const forkSource = source.derive({ pinHead: true });
  // Captures run in synthetic blocks: there is nothing of the source's to prefetch for them.
  // The prefetch runs while the forks open: EDR's first requests (chain id, head, fork block) need none of it.
  const prefetching = prefetch.finish({
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
  });
  prefetching.catch(() => undefined);
  let prefetched: Awaited<typeof prefetching> | undefined;
  // A prefetch that failed leaves the forks to read lazily; the replay fails with its error below.
  const front = await startForkFront(forkSource, prefetching.then((p) => p.state).catch(() => undefined));
  const handles: ForkHandle[] = [];
  const total = segments.reduce((n, s) => n + s.blocks.reduce((m, b) => m + b.items.length, 0), 0);
  let done = run.itemsDone;
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
  // Cascade only: the clean comparisons, compared again with the cascade world's green at the end (not flat in memory).
  const cascadeCandidates: TxComparison[] = [];
  const canaryComparisons: TxComparison[] = [];
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
    const pending = run.pending;
    // Forks open before the clock starts: `replaySeconds` times the replay itself.
    const forks = await Promise.all(pending.map((segment) => open(segment.forkBlock))).catch((e: unknown) => {
      throw front.failure ?? e;
    });
    const cascadeFork = options.cascade && segments.length > 0 ? await open(plan.forkBlock) : undefined;
    prefetched = await prefetching;
    const loopStart = performance.now();
    const segmentRuns = pending.map((segment, i) => {
      const progress = run.progress[segment.index]!;
      return runTwinSegment(forks[i]!, segment, {
        proxy,
        green,
        ...alsoOnFork,
        compare,
        realReceipt: (hash) => receipts.get(hash),
        ...(sourceStorage !== undefined ? { sourceStorage } : {}),
        onItem,
        ...signal,
        onBlockEnd: async (_block, outcome) => {
          const taken = drainOutcome(outcome);
          const lines = tallyBlock(progress.tally, taken, decoder);
          if (options.cascade) cascadeCandidates.push(...taken.comparisons.filter((c) => c.differences.length === 0));
          // --canary: a small, unrecorded replay whose split needs every transaction's sides.
          if (canary !== undefined) canaryComparisons.push(...taken.comparisons);
          await run.parts[segment.index]?.append(lines);
          progress.blocksDone++;
          progress.done = progress.blocksDone === segments[segment.index]!.blocks.length;
          const part = run.parts[segment.index];
          if (part !== undefined) Object.assign(progress, { bytes: part.bytes, lines: part.lines });
          await run.checkpoint?.update(progress);
        },
      });
    });
    const cascadeRun = cascadeFork !== undefined ? runCascade(cascadeFork, plan.blocks, { proxy, green, ...alsoOnFork, ...signal }) : Promise.resolve(undefined);
    const [, cascadeGreen] = await Promise.all([Promise.all(segmentRuns), cascadeRun]).catch((e: unknown) => {
      throw front.failure ?? e;
    });
    // A source that failed under the fork makes its errors look like refused transactions: fail with the cause.
    if (front.failure !== undefined) throw front.failure;
    const replaySeconds = (performance.now() - loopStart) / 1000;
    let tally = segments.map((s) => run.progress[s.index]!.tally).reduce(addTallies, emptyTally(options.keep ?? DEFAULT_KEEP));
    const propagatedLines: ComparisonLine[] = [];
    if (cascadeGreen !== undefined) {
      for (const c of cascadeCandidates) {
        const cg = cascadeGreen.get(c.hash);
        if (cg === undefined) continue;
        const drift = compareObservations(c.blue, cg, compare).filter((d) => d.expectedBy === undefined);
        if (drift.length > 0) propagatedLines.push(tallyPropagated(tally, c, cg, drift, decoder));
      }
    }
    tally = { ...tally, blocks: blocks.length };
    const comparisonsFile = await run.finish(propagatedLines);
    const finishedAt = new Date();
    const report = assembleReport(
      {
        release,
        mode: plan.mode,
        cascade: options.cascade,
        traffic:
          options.traffic.kind === "range"
            ? { source: "chain" }
            : { source: "capture", file: options.traffic.file, lines: options.traffic.lines.length },
        fromBlock: plan.fromBlock,
        toBlock: plan.toBlock,
        kind: fleet.kind,
        ...(fleet.kind === "beacon" ? { fleet: fleetReport(fleet, plan.discovery) } : {}),
        ...(slice !== undefined ? { shard: slice } : {}),
        settings,
        forkBlocks: segments.map((s) => s.forkBlock),
        discovery: plan.discovery,
        fidelityThreshold,
        warnings,
        sourceRequests: {
          discovery: discoveryRequests,
          fork: forkSource.stats.calls,
          cached: source.stats.cacheHits + forkSource.stats.cacheHits,
          prefetch: { ...prefetched.summary, served: prefetched.state.served },
        },
        ...(comparisonsFile !== undefined ? { comparisonsFile } : {}),
        startedAt,
        finishedAt,
        replaySeconds,
      },
      tally,
    );
    return canary !== undefined ? { ...report, canary: summarizeCanary(canary, canaryComparisons, proxy) } : report;
  } finally {
    await Promise.allSettled(handles.map((h) => h.close()));
    await run.close();
    await front.close();
    if (prefetched !== undefined) await saveLearned(prefetched.state);
  }
}

/** Adds one block's drained outcome to a segment's tally; returns its lines for the comparisons file, in order. */
function tallyBlock(tally: Tally, taken: SegmentOutcome, decoder: AbiDecoder): ComparisonLine[] {
  const lines: ComparisonLine[] = taken.comparisons.map((c) => tallyComparison(tally, c, decoder));
  tally.mined += taken.mined;
  const f = tally.fidelity;
  f.matched += taken.fidelity.matched;
  f.total += taken.fidelity.total;
  f.receipts.matched += taken.fidelity.receipts.matched;
  f.receipts.total += taken.fidelity.receipts.total;
  f.state.matched += taken.fidelity.state.matched;
  f.state.total += taken.fidelity.state.total;
  for (const m of taken.fidelity.mismatches) lines.push(tallyMismatch(tally, m));
  for (const s of taken.skipped) lines.push(tallySkipped(tally, s));
  for (const a of taken.adjustments) tallyAdjustment(tally, a);
  return lines;
}

/** Shards cut a range of whole blocks; a capture has none, and the cascade world's drift runs from the range's start. */
function refuseUnshardable(options: ReplayOptions): void {
  if (options.traffic.kind !== "range") {
    throw new BlueGreenError("BG_REPLAY_OPTION", "--shard cuts a block range: use it with --from-block/--to-block or --last-blocks, not with --traffic.");
  }
  if (options.canary !== undefined) {
    throw new BlueGreenError("BG_REPLAY_OPTION", "--canary cannot be sharded: its report is not evidence of the release and is not merged. Run it without --shard.");
  }
  if (options.cascade) {
    throw new BlueGreenError(
      "BG_REPLAY_OPTION", "--cascade cannot be sharded: green's own state carries forward from the first block of the range, so the cascade world runs the range in one piece. Run it without --shard.",
    );
  }
}

/** What the comparison depended on, and its hash (two shards merge only if theirs agree). */
export function replaySettings(options: Pick<ReplayOptions, "config">, fidelityThreshold: number | undefined): ReplaySettings {
  const canonical = {
    gasTolerance: options.config.gasTolerance,
    expected: options.config.expected,
    tracing: options.config.tracing,
    fidelityThreshold: fidelityThreshold ?? null,
  };
  return {
    gasTolerance: options.config.gasTolerance,
    expected: options.config.expected.length,
    tracing: options.config.tracing,
    hash: keccak256(toUtf8Bytes(JSON.stringify(canonical))),
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
async function pinHeadAtLeast(source: SourceRpc, block: number): Promise<number> {
  const key = cacheKey("eth_blockNumber", [], { pinHead: true })!;
  const cached = source.cache.get(key);
  if (cached !== undefined && "result" in cached && Number(toBigInt(cached.result)) >= block) return Number(toBigInt(cached.result));
  const head = await source.request({ method: "eth_blockNumber" });
  source.cache.replace(key, { result: head });
  return Number(toBigInt(head));
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
