/**
 * `npm run bench:memory` (and the last part of `npm run bench`): the
 * replay's peak memory for N and for 10 N transactions, N =
 * BENCH_MEMORY_N (default 2,000). Comparisons stream to the report's JSON
 * Lines file and the tally in memory is bounded, so the peak should not
 * grow with the number of transactions; the target is a ratio <= 1.5.
 *
 * The traffic: ERC-20 transfers through the token proxy of the replay world
 * (a cheap contract), on a local anvil, many per block (BENCH_MEMORY_PER_BLOCK,
 * default 25: a target is observed after the block's earlier transactions, so a
 * block costs the square of its size). Every transaction is a target.
 *
 * Each replay runs in a process of its own (`hardhat run` of this file with
 * BG_BENCH_MEMORY_RUN set), a faithful replay of the range writing its
 * comparisons file into a temporary folder, and reports its own peak RSS
 * (getrusage's maxrss): the two peaks are comparable and nothing of the
 * generator or of the other run counts.
 *
 * Prints, last:
 *   bench: peak-rss-n=<MB> peak-rss-10n=<MB> peak-rss-10n/n=<ratio>
 * `measureReplayMemory()` returns the same figures, for bench-replay.ts to
 * add to its own line.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { parseEther } from "ethers";

import { buildReplayWorld, deployGreen, settle, TOKEN_ABI, type ReplayWorld } from "../test/replay/helpers/replay-world.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "node_modules", ".bin");
const GAS = "0x1d4c0"; // 120k: a token transfer through the proxy, with room
const FEES = { maxFeePerGas: "0x2540be400", maxPriorityFeePerGas: "0x3b9aca00" };

interface RunSpec {
  url: string;
  release: { id: string; chainId: number; proxy: string; blue: { address: string; codehash: string }; green: { address: string; codehash: string } };
  fromBlock: number;
  toBlock: number;
}

export interface MemoryFigures {
  n: number;
  peakRssN: number;
  peakRss10N: number;
  ratio: number;
  txsN: number;
  txs10N: number;
}

/** Sends `count` token transfers, `perBlock` to a block. */
async function transfers(world: ReplayWorld, count: number, perBlock: number): Promise<{ fromBlock: number; toBlock: number }> {
  const { rpc } = world;
  const nonces = new Map<string, number>();
  for (const user of world.users) nonces.set(user, Number(BigInt(await rpc.send<string>("eth_getTransactionCount", [user, "latest"]))));
  const fromBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber"))) + 1;
  await rpc.send("evm_setAutomine", [false]);
  try {
    for (let sent = 0; sent < count; ) {
      const inBlock = Math.min(perBlock, count - sent);
      const txs: Array<Record<string, unknown>> = [];
      for (let i = 0; i < inBlock; i++, sent++) {
        const from = world.users[sent % world.users.length]!;
        const to = world.users[(sent * 7 + 3) % world.users.length]!;
        const nonce = nonces.get(from)!;
        nonces.set(from, nonce + 1);
        txs.push({ from, to: world.token, gas: GAS, nonce: "0x" + nonce.toString(16), ...FEES, data: TOKEN_ABI.encodeFunctionData("transfer", [to, parseEther(String(1 + (sent % 97)))]) });
      }
      for (let i = 0; i < txs.length; i += 100) {
        for (const r of await rpc.batch(txs.slice(i, i + 100).map((tx) => ({ method: "eth_sendTransaction", params: [tx] })))) {
          if (r instanceof Error) throw r;
        }
      }
      await rpc.send("anvil_mine", ["0x1"]);
    }
  } finally {
    await rpc.send("evm_setAutomine", [true]);
  }
  return { fromBlock, toBlock: Number(BigInt(await rpc.send<string>("eth_blockNumber"))) };
}

/** One replay in a process of its own; returns its peak RSS in MB and what it replayed. */
function replayInChild(spec: RunSpec): Promise<{ peakRssMb: number; txs: number; replayed: number; verdict: string; lines: number }> {
  const { HARDHAT_CONFIG: _parent, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    execFile(
      path.join(BIN, "hardhat"),
      ["run", path.join(ROOT, "scripts", "bench-memory.ts")],
      { cwd: ROOT, env: { ...inherited, BG_BENCH_MEMORY_RUN: JSON.stringify(spec), PATH: `${BIN}${path.delimiter}${process.env.PATH}` }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith("memory-run: "));
        if (line === undefined) return reject(new Error(`the replay process failed (${error?.message ?? "no result"}):\n${stdout}\n${stderr}`));
        resolve(JSON.parse(line.slice("memory-run: ".length)));
      },
    );
  });
}

/** The child's part: replays the range, streaming into a temporary folder, and reports its peak RSS. */
async function runOne(spec: RunSpec): Promise<void> {
  const hre = (await import("hardhat")).default;
  const { resolveReplayConfig } = await import("../src/replay/config.js");
  const { edrForkOpener } = await import("../src/replay/open-edr-fork.js");
  const { replayRelease } = await import("../src/replay/replay-release.js");
  const { RpcCache } = await import("../src/replay/rpc-cache.js");
  const { SourceRpc } = await import("../src/replay/source-rpc.js");
  const dir = await mkdtemp(path.join(tmpdir(), "bg-bench-memory-"));
  try {
    const config = resolveReplayConfig(undefined, { projectRoot: ROOT, cachePath: dir });
    const source = new SourceRpc({ url: spec.url, cache: await RpcCache.open(config.cacheDir, spec.url) });
    const report = await replayRelease({
      release: spec.release,
      source,
      openFork: edrForkOpener(hre.network, { edrForkCache: path.join(dir, "edr-fork-cache") }),
      traffic: { kind: "range", fromBlock: spec.fromBlock, toBlock: spec.toBlock },
      mode: "faithful",
      cascade: false,
      config,
      output: { dir, stem: (startedAt) => `replay-${startedAt.replace(/[:.]/g, "-")}` },
    });
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    console.log(`memory-run: ${JSON.stringify({ peakRssMb, txs: report.txs, replayed: report.replayed, verdict: report.verdict, lines: report.comparisons?.lines ?? 0 })}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Peak RSS of a replay of N and of 10 N transactions, each in a process of its own. */
export async function measureReplayMemory(log: (line: string) => void = console.log): Promise<MemoryFigures> {
  const n = Number(process.env.BENCH_MEMORY_N ?? 2000);
  const perBlock = Number(process.env.BENCH_MEMORY_PER_BLOCK ?? 25);
  const world = await buildReplayWorld("anvil", 20);
  try {
    // Both ranges on one chain: the small one first, the large one after it.
    log(`memory: generating ${n} and ${10 * n} token transfers, ${perBlock} per block, on anvil...`);
    const small = await transfers(world, n, perBlock);
    const large = await transfers(world, 10 * n, perBlock);
    // Green behaves like blue here: the bench measures memory, not divergences.
    const green = await deployGreen(world, "ReplayToken");
    await settle(world, 70);
    const release = { id: "bench-memory", chainId: world.chainId, proxy: world.token, blue: { address: world.tokenImpl, codehash: world.tokenImplCodehash }, green };
    const one = await replayInChild({ url: world.node.url, release, ...small });
    log(`memory: ${one.txs} txs (${one.replayed} mined, ${one.lines} comparison lines, ${one.verdict}): peak RSS ${one.peakRssMb.toFixed(0)} MB`);
    const ten = await replayInChild({ url: world.node.url, release, ...large });
    log(`memory: ${ten.txs} txs (${ten.replayed} mined, ${ten.lines} comparison lines, ${ten.verdict}): peak RSS ${ten.peakRssMb.toFixed(0)} MB`);
    const ratio = ten.peakRssMb / one.peakRssMb;
    log(`memory: peak RSS ${10 * n} vs ${n} transactions = ${ratio.toFixed(2)} (target <= 1.5)`);
    return { n, peakRssN: one.peakRssMb, peakRss10N: ten.peakRssMb, ratio, txsN: one.txs, txs10N: ten.txs };
  } finally {
    await world.stop();
  }
}

if (process.env.BG_BENCH_MEMORY_RUN !== undefined) {
  await runOne(JSON.parse(process.env.BG_BENCH_MEMORY_RUN) as RunSpec);
} else if (process.argv.some((a) => a.endsWith("bench-memory.ts"))) {
  const m = await measureReplayMemory();
  console.log(`bench: peak-rss-n=${m.peakRssN.toFixed(0)} peak-rss-10n=${m.peakRss10N.toFixed(0)} peak-rss-10n/n=${m.ratio.toFixed(2)}`);
}
