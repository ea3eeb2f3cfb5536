/**
 * One "mainnet" with generated traffic and three greens deployed after it
 * (an identical one, one with a changed fee, one that reverts on a path),
 * and a helper that replays a range against any of them on in-process forks.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import hre from "hardhat";

import type { NodeKind } from "../../helpers/nodes.js";
import { resolveReplayConfig, type ReplayUserConfig } from "../../../src/replay/config.js";
import { AbiDecoder } from "../../../src/replay/decode.js";
import { edrForkOpener } from "../../../src/replay/open-edr-fork.js";
import { replayRelease, type ReleaseUnderTest } from "../../../src/replay/replay-release.js";
import type { TrafficSource } from "../../../src/replay/traffic-plan.js";
import type { ReplayReport } from "../../../src/replay/report.js";
import { RpcCache } from "../../../src/replay/rpc-cache.js";
import { SourceRpc } from "../../../src/replay/source-rpc.js";
import {
  artifact,
  buildReplayWorld,
  deployGreen,
  generateTraffic,
  settle,
  type GeneratedTx,
  type ReplayWorld,
  type TrafficOptions,
} from "./replay-world.js";

export interface ReplayFixture {
  world: ReplayWorld;
  /** A temporary folder for caches, removed by `stop()`. */
  cacheRoot: string;
  fromBlock: number;
  toBlock: number;
  txs: GeneratedTx[];
  greens: Record<"identical" | "fee" | "reverting", { address: string; codehash: string }>;
  release(green: keyof ReplayFixture["greens"]): ReleaseUnderTest;
  /** Replays with a fresh source client on the fixture's cache; returns the report and the source's request count. */
  replay(options: {
    green: keyof ReplayFixture["greens"];
    mode?: "faithful" | "fast";
    cascade?: boolean;
    config?: ReplayUserConfig;
    traffic?: TrafficSource;
    cacheDir?: string;
    /** Another URL for the source (a proxy in front of the node). */
    sourceUrl?: string;
  }): Promise<{ report: ReplayReport; sourceCalls: number }>;
  stop(): Promise<void>;
}

export async function replayFixture(kind: NodeKind, traffic: TrafficOptions): Promise<ReplayFixture> {
  const world = await buildReplayWorld(kind);
  const cacheRoot = await mkdtemp(path.join(tmpdir(), "bg-replay-test-"));
  try {
    const generated = await generateTraffic(world, traffic);
    const greens = {
      identical: await deployGreen(world, "ReplayToken"),
      fee: await deployGreen(world, "ReplayTokenFeeChange"),
      reverting: await deployGreen(world, "ReplayTokenRevertingGreen"),
    };
    await settle(world);
    const decoder = new AbiDecoder([
      (await artifact("ReplayTokenRevertingGreen")).abi,
      (await artifact("ReplayVault")).abi,
      (await artifact("ReplayRouter")).abi,
    ]);
    const release = (green: keyof typeof greens): ReleaseUnderTest => ({
      id: `replay-${green}`,
      chainId: world.chainId,
      proxy: world.token,
      blue: { address: world.tokenImpl, codehash: world.tokenImplCodehash },
      green: greens[green],
    });
    return {
      world,
      cacheRoot,
      fromBlock: generated.fromBlock,
      toBlock: generated.toBlock,
      txs: generated.txs,
      greens,
      release,
      replay: async (options) => {
        const config = resolveReplayConfig(options.config, { projectRoot: cacheRoot, cachePath: cacheRoot });
        const cacheDir = options.cacheDir ?? config.cacheDir;
        const url = options.sourceUrl ?? world.node.url;
        const source = new SourceRpc({ url, cache: await RpcCache.open(cacheDir, url), retries: 2, baseDelayMs: 20 });
        const report = await replayRelease({
          release: release(options.green),
          source,
          openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
          traffic: options.traffic ?? { kind: "range", fromBlock: generated.fromBlock, toBlock: generated.toBlock },
          mode: options.mode ?? config.mode,
          cascade: options.cascade ?? false,
          config,
          decoder,
        });
        return { report, sourceCalls: source.stats.calls + report.sourceRequests.fork + (report.sourceRequests.prefetch?.requests ?? 0) };
      },
      stop: async () => {
        await world.stop();
        await rm(cacheRoot, { recursive: true, force: true, maxRetries: 3 });
      },
    };
  } catch (e) {
    await world.stop();
    await rm(cacheRoot, { recursive: true, force: true });
    throw e;
  }
}

export function hashes(txs: Array<{ hash?: string; txHash?: string }>): string[] {
  return txs.map((t) => (t.txHash ?? t.hash)!).sort();
}
