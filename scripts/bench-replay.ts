/**
 * `npm run bench`: the exact replay's throughput, measured on this machine
 * against a local source node (a hardhat node), on blocks shaped like
 * mainnet's: BENCH_BLOCKS blocks (default 20) of BENCH_PER_BLOCK
 * transactions (default 120, so 2,400 in all), of which BENCH_TARGETS per
 * block (default 6, 5%) touch the released proxy (ERC-20 transfers, routed
 * transfers, ERC-4626 deposits) and the rest is other traffic (ETH
 * transfers, approvals on another proxy), from 19 senders, several per
 * sender per block.
 *
 * Every run replays the same blocks exactly (each original block one fork
 * block, original number and context, transactions in order). It prints,
 * from one run:
 * - twin: the exact twin replay (every target observed as blue and as green
 *   at its place in its block, compared, fidelity checked), in tx/s of all
 *   transactions replayed, with the replay's default workers and with one;
 * - raw: the same blocks replayed exactly on one in-process EDR fork, no
 *   observation and no comparison; twin/raw;
 * - anvil: the same blocks replayed exactly, one world, on an anvil fork
 *   (npm @foundry-rs/anvil, over HTTP on loopback); twin/anvil;
 * - source requests per replayed transaction, cold and warm (counted by an
 *   HTTP proxy in front of the source node);
 * - remote source: the same kind of blocks (BENCH_REMOTE_BLOCKS, default 42,
 *   of BENCH_REMOTE_PER_BLOCK, default 13, of which BENCH_REMOTE_TARGETS,
 *   default 11, touch the proxy: the issue's 532 transactions, 450 of them
 *   the proxy's) on an anvil source behind a proxy
 *   on 127.0.0.1 that adds BENCH_REMOTE_DELAY_MS (default 50) to every
 *   request, like a provider's endpoint, with BENCH_SETTLE (default 200)
 *   blocks mined after the range: the cold twin replay (prefetch on,
 *   empty caches) against an anvil fork of the same blocks through the same
 *   proxy (one world, exact blocks, anvil's own storage cache off), in wall
 *   time, and the cold source requests per transaction.
 *
 * The last line is exactly:
 *   bench: twin/raw=<ratio> twin/anvil=<ratio> cold-rpc-per-tx=<n> warm-rpc-per-tx=<n> remote-cold-rpc-per-tx=<n> remote-anvil/twin=<ratio> peak-rss-10n/n=<ratio>
 * (the last from bench-memory.ts: the replay's peak RSS for 10 N against N transactions).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import hre from "hardhat";

import { freePort } from "../test/helpers/nodes.js";
import { keccak256, parseEther, toUtf8Bytes } from "ethers";

import {
  buildReplayWorld,
  deployGreen,
  ROUTER_ABI,
  settle,
  TOKEN_ABI,
  VAULT_ABI,
  type ReplayWorld,
} from "../test/replay/helpers/replay-world.js";
import { toBlockContext, toTxRequest, type RpcBlock, type RpcTransaction } from "../src/replay/chain-data.js";
import { resolveReplayConfig } from "../src/replay/config.js";
import { ForkControl, type ForkHandle } from "../src/replay/fork-control.js";
import { startForkFront } from "../src/replay/fork-front.js";
import { edrForkOpener } from "../src/replay/open-edr-fork.js";
import { replayRelease, type OpenFork } from "../src/replay/replay-release.js";
import type { ReplayReport } from "../src/replay/report.js";
import { RpcCache } from "../src/replay/rpc-cache.js";
import { SourceCache } from "../src/replay/source-cache.js";
import { SourceRpc } from "../src/replay/source-rpc.js";
import { startFaultProxy } from "../test/helpers/fault-proxy.js";
import { measureReplayMemory } from "./bench-memory.js";

const ROOT = path.resolve(import.meta.dirname, "..");

/** An HTTP proxy in front of the source node that counts JSON-RPC calls (a batch of k counts k). */
async function startCountingProxy(upstream: string) {
  let calls = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      try {
        const doc = JSON.parse(body.toString("utf8"));
        calls += Array.isArray(doc) ? doc.length : 1;
      } catch {
        calls++;
      }
      const up = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
      const text = await up.text();
      res.writeHead(up.status, { "content-type": "application/json" });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    take: () => {
      const n = calls;
      calls = 0;
      return n;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Opens forks as anvil processes over HTTP: the peer baseline. */
function anvilForkOpener(): OpenFork {
  return anvilForkOf();
}

/** `fixedUrl`: fork that URL (the remote source itself), not the replay's front. */
function anvilForkOf(fixedUrl?: string): OpenFork {
  return async ({ url, blockNumber, chainId }): Promise<ForkHandle> => {
    const port = await freePort();
    const child = spawn(
      path.join(ROOT, "node_modules", ".bin", "anvil"),
      ["--port", String(port), "--fork-url", fixedUrl ?? url, "--fork-block-number", String(blockNumber), "--chain-id", String(chainId), "--silent", "--no-storage-caching", "--order", "fifo"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const rpc = new SourceRpc({ url: `http://127.0.0.1:${port}`, retries: 0, timeoutMs: 120_000 });
    for (let i = 0; ; i++) {
      try {
        await rpc.request({ method: "eth_chainId" });
        break;
      } catch {
        if (i > 300 || child.exitCode !== null) throw new Error(`anvil did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      provider: rpc,
      close: async () => {
        if (child.exitCode === null && child.pid !== undefined) {
          process.kill(child.pid, "SIGTERM");
          await exited;
        }
      },
    };
  };
}

/**
 * Replays blocks exactly on one fork with no observation and no comparison:
 * each block's context set, its transactions queued in order, one mine.
 * The same loop (ForkControl) as the twin replay's, so only the twin work differs.
 */
async function replayExactly(handle: ForkHandle, proxy: string, blocks: RpcBlock[]): Promise<{ txs: number; seconds: number; mismatched: number }> {
  const fork = new ForkControl(handle.provider, proxy);
  await fork.init();
  const start = performance.now();
  let txs = 0;
  let mismatched = 0;
  for (const block of blocks) {
    const context = toBlockContext(block);
    await fork.openBlock(context);
    const requests = (block.transactions as RpcTransaction[]).map(toTxRequest);
    for (const tx of requests) await fork.prepareSender(tx, false);
    const hashes: string[] = [];
    for (const tx of requests) hashes.push(await fork.queue(tx));
    const receipts = await fork.mineBlock(context, hashes);
    txs += receipts.filter((r) => r !== undefined).length;
    mismatched += receipts.filter((r) => r === undefined).length;
  }
  return { txs, seconds: (performance.now() - start) / 1000, mismatched };
}

const GAS_TARGET = "0x493e0"; // 300k
const GAS_OTHER = "0x186a0"; // 100k
const FEES = { maxFeePerGas: "0x2540be400", maxPriorityFeePerGas: "0x3b9aca00" };

/** Mainnet-shaped blocks: a few of the proxy's transactions among many others. */
async function generateBlocks(
  world: ReplayWorld,
  blocks: number,
  perBlock: number,
  targets: number,
  recipients: string[] = world.users,
): Promise<{ fromBlock: number; toBlock: number }> {
  const { rpc } = world;
  const nonces = new Map<string, number>();
  for (const user of world.users) nonces.set(user, Number(BigInt(await rpc.send<string>("eth_getTransactionCount", [user, "latest"]))));
  let seed = 3;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const fromBlock = Number(BigInt(await rpc.send<string>("eth_blockNumber"))) + 1;
  await rpc.send("evm_setAutomine", [false]);
  try {
    for (let b = 0; b < blocks; b++) {
      const txs: Array<Record<string, unknown>> = [];
      for (let i = 0; i < perBlock; i++) {
        const from = world.users[rand(world.users.length)]!;
        const to = recipients[rand(recipients.length)]!;
        const nonce = nonces.get(from)!;
        nonces.set(from, nonce + 1);
        const base = { from, nonce: "0x" + nonce.toString(16), ...FEES };
        const amount = parseEther(String(1 + rand(2000)));
        // `targets` of every `perBlock` touch the proxy, spread evenly through the block.
        if (Math.floor(((i + 1) * targets) / perBlock) > Math.floor((i * targets) / perBlock)) {
          const kind = rand(3);
          if (kind === 0) txs.push({ ...base, to: world.token, gas: GAS_TARGET, data: TOKEN_ABI.encodeFunctionData("transfer", [to, amount]) });
          else if (kind === 1) txs.push({ ...base, to: world.router, gas: GAS_TARGET, data: ROUTER_ABI.encodeFunctionData("transferVia", [world.token, to, amount]) });
          else txs.push({ ...base, to: world.vault, gas: GAS_TARGET, data: VAULT_ABI.encodeFunctionData("deposit", [amount, from]) });
        } else if (rand(2) === 0) {
          txs.push({ ...base, to, gas: GAS_OTHER, value: "0x" + (1000n + BigInt(rand(1000))).toString(16) });
        } else {
          txs.push({ ...base, to: world.vault, gas: GAS_OTHER, data: VAULT_ABI.encodeFunctionData("approve", [to, amount]) });
        }
      }
      for (let i = 0; i < txs.length; i += 60) {
        for (const r of await rpc.batch(txs.slice(i, i + 60).map((tx) => ({ method: "eth_sendTransaction", params: [tx] })))) {
          if (r instanceof Error) throw r;
        }
      }
      await rpc.send("hardhat_mine", ["0x1"]);
    }
  } finally {
    await rpc.send("evm_setAutomine", [true]);
  }
  return { fromBlock, toBlock: Number(BigInt(await rpc.send<string>("eth_blockNumber"))) };
}

async function main(): Promise<void> {
  if (process.env.BENCH_REMOTE_ONLY === "1") {
    // The remote-source mode alone (a quicker loop while working on fetching).
    const workers = process.env.BENCH_WORKERS !== undefined ? Number(process.env.BENCH_WORKERS) : resolveReplayConfig(undefined, { projectRoot: ROOT, cachePath: tmpdir() }).workers;
    const remote = await remoteSource(workers);
    console.log(`bench: remote-cold-rpc-per-tx=${remote.perTx.toFixed(2)} remote-anvil/twin=${remote.speedup.toFixed(1)}`);
    return;
  }
  const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 20);
  const PER_BLOCK = Number(process.env.BENCH_PER_BLOCK ?? 120);
  const TARGETS = Number(process.env.BENCH_TARGETS ?? 6);
  const world = await buildReplayWorld("hardhat", 19);
  const cacheDir = await mkdtemp(path.join(tmpdir(), "bg-bench-cache-"));
  const counter = await startCountingProxy(world.node.url);
  const edr = () => edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") });
  try {
    console.log(`generating ${BLOCKS} blocks of ${PER_BLOCK} transactions (${TARGETS} per block touch the token proxy) from ${world.users.length} senders on a hardhat node...`);
    const traffic = await generateBlocks(world, BLOCKS, PER_BLOCK, TARGETS);
    const green = await deployGreen(world, "ReplayToken");
    await settle(world);
    const config = resolveReplayConfig(
      process.env.BENCH_WORKERS !== undefined ? { workers: Number(process.env.BENCH_WORKERS) } : undefined,
      { projectRoot: ROOT, cachePath: cacheDir },
    );
    const release = {
      id: "bench",
      chainId: world.chainId,
      proxy: world.token,
      blue: { address: world.tokenImpl, codehash: world.tokenImplCodehash },
      green,
    };
    const sourceCache = new SourceCache(path.join(cacheDir, "source"));
    const run = async (workers: number) => {
      const source = new SourceRpc({ url: counter.url, cache: await RpcCache.open(config.cacheDir, counter.url) });
      return replayRelease({
        release,
        source,
        openFork: edr(),
        traffic: { kind: "range", fromBlock: traffic.fromBlock, toBlock: traffic.toBlock },
        mode: "faithful",
        cascade: false,
        config: { ...config, workers },
        sourceCache,
      });
    };
    counter.take();
    const cold = await run(config.workers);
    const coldRequests = counter.take();
    console.log(line("twin, cold cache", cold));
    const cp = cold.sourceRequests.prefetch;
    console.log(
      `twin, cold cache: source requests discovery ${cold.sourceRequests.discovery}, prefetch ${cp?.requests ?? 0} by ${cp?.path ?? "off"}` +
        `${cp?.reason !== undefined ? ` (${cp.reason})` : ""}, forks ${cold.sourceRequests.fork}`,
    );
    const warm = await run(config.workers);
    const warmRequests = counter.take();
    console.log(line(`twin, warm cache, ${config.workers} workers`, warm));
    const single = await run(1);
    counter.take();
    console.log(line("twin, warm cache, 1 worker", single));

    // The same blocks, replayed exactly with no comparison: on one EDR fork, and on one anvil fork.
    const source = new SourceRpc({ url: counter.url, cache: await RpcCache.open(config.cacheDir, counter.url) });
    const blocks = (await source.batchOrThrow(
      Array.from({ length: traffic.toBlock - traffic.fromBlock + 1 }, (_, i) => ({ method: "eth_getBlockByNumber", params: ["0x" + (traffic.fromBlock + i).toString(16), true] })),
    )) as RpcBlock[];
    const front = await startForkFront(source.derive({ pinHead: true }));
    const baseline = async (open: OpenFork) => {
      const handle = await open({ url: front.url, blockNumber: traffic.fromBlock - 1, chainId: world.chainId });
      try {
        return await replayExactly(handle, world.token, blocks);
      } finally {
        await handle.close();
      }
    };
    const raw = await baseline(edr());
    const anvil = await baseline(anvilForkOpener());
    await front.close();
    counter.take();
    const rate = (r: { txs: number; seconds: number }) => r.txs / r.seconds;
    console.log(`raw: ${raw.txs} txs replayed exactly on one EDR fork, no comparison, in ${raw.seconds.toFixed(2)} s = ${rate(raw).toFixed(0)} tx/s`);
    console.log(`anvil: ${anvil.txs} txs replayed exactly on one anvil fork, in ${anvil.seconds.toFixed(2)} s = ${rate(anvil).toFixed(0)} tx/s${anvil.mismatched > 0 ? ` (${anvil.mismatched} not mined in their block)` : ""}`);

    const twinRate = warm.replayed / warm.timing.replaySeconds;
    const ratioRaw = twinRate / rate(raw);
    const ratioRawSingle = single.replayed / single.timing.replaySeconds / rate(raw);
    const ratioAnvil = twinRate / rate(anvil);
    const coldPerTx = coldRequests / cold.replayed;
    const warmPerTx = warmRequests / warm.replayed;
    console.log(
      `exact twin replay: ${twinRate.toFixed(0)} tx/s (${warm.replayed} txs, ${warm.txs} of them twins); twin/raw = ${ratioRaw.toFixed(2)} (target >= 0.5; ` +
        `${ratioRawSingle.toFixed(2)} with 1 worker); twin/anvil = ${ratioAnvil.toFixed(2)} (target >= 2)`,
    );
    console.log(
      `source requests: cold ${coldRequests} for ${cold.replayed} txs (${coldPerTx.toFixed(2)}/tx), warm ${warmRequests} (${warmPerTx.toFixed(2)}/tx); workers ${config.workers}`,
    );
    const remote = await remoteSource(config.workers);
    const memory = await measureReplayMemory();
    console.log(
      `bench: twin/raw=${ratioRaw.toFixed(2)} twin/anvil=${ratioAnvil.toFixed(2)} cold-rpc-per-tx=${coldPerTx.toFixed(2)} warm-rpc-per-tx=${warmPerTx.toFixed(2)} ` +
        `remote-cold-rpc-per-tx=${remote.perTx.toFixed(2)} remote-anvil/twin=${remote.speedup.toFixed(1)} peak-rss-10n/n=${memory.ratio.toFixed(2)}`,
    );
  } finally {
    await counter.close();
    await world.stop();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

/**
 * The remote-source mode: an anvil source behind a proxy that delays every
 * request, a cold twin replay against an anvil fork of the same blocks,
 * both through that proxy, from empty caches.
 */
async function remoteSource(workers: number): Promise<{ perTx: number; speedup: number }> {
  const BLOCKS = Number(process.env.BENCH_REMOTE_BLOCKS ?? 42);
  const PER_BLOCK = Number(process.env.BENCH_REMOTE_PER_BLOCK ?? 13);
  const TARGETS = Number(process.env.BENCH_REMOTE_TARGETS ?? 11);
  const DELAY = Number(process.env.BENCH_REMOTE_DELAY_MS ?? 50);
  // Holders a token's transfers reach: each is an account and a balance slot a fork must read.
  const HOLDERS = Number(process.env.BENCH_REMOTE_HOLDERS ?? 100);
  const world = await buildReplayWorld("anvil", 19);
  const cacheDir = await mkdtemp(path.join(tmpdir(), "bg-bench-remote-"));
  const delayed = await startFaultProxy(world.node.url, [{ fault: "delay", delayMs: DELAY }]);
  const counter = await startCountingProxy(delayed.url);
  try {
    console.log(
      `remote source: ${BLOCKS} blocks of ${PER_BLOCK} transactions (${TARGETS} per block touch the token proxy) from ${world.users.length} senders to them and ${HOLDERS} other holders, ` +
        `on anvil behind a proxy adding ${DELAY} ms per request`,
    );
    const holders = Array.from({ length: HOLDERS }, (_, i) => "0x" + keccak256(toUtf8Bytes(`bench holder ${i}`)).slice(-40));
    const traffic = await generateBlocks(world, BLOCKS, PER_BLOCK, TARGETS, [...world.users, ...holders]);
    const green = await deployGreen(world, "ReplayToken");
    await settle(world, Number(process.env.BENCH_SETTLE ?? 200));
    // Each run from empty caches of its own.
    const cold = async (prefetch: "auto" | "off", name: string) => {
      const dir = path.join(cacheDir, name);
      const config = resolveReplayConfig({ workers }, { projectRoot: ROOT, cachePath: dir });
      counter.take();
      const started = performance.now();
      const report = await replayRelease({
        release: { id: "bench-remote", chainId: world.chainId, proxy: world.token, blue: { address: world.tokenImpl, codehash: world.tokenImplCodehash }, green },
        source: new SourceRpc({ url: counter.url, cache: await RpcCache.open(config.cacheDir, counter.url) }),
        openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
        traffic: { kind: "range", fromBlock: traffic.fromBlock, toBlock: traffic.toBlock },
        mode: "faithful",
        cascade: false,
        config,
        sourceCache: new SourceCache(path.join(dir, "source")),
        prefetch,
      });
      const seconds = (performance.now() - started) / 1000;
      const requests = counter.take();
      const p = report.sourceRequests.prefetch;
      console.log(line(`remote, twin, cold, prefetch ${prefetch}`, report));
      console.log(
        `remote, twin, cold, prefetch ${prefetch}: ${requests} source requests (discovery ${report.sourceRequests.discovery}, prefetch ${p?.requests ?? 0} by ${p?.path ?? "off"}, ` +
          `forks ${report.sourceRequests.fork}) for ${report.replayed} txs = ${(requests / report.replayed).toFixed(2)}/tx; ${seconds.toFixed(2)} s wall`,
      );
      return { report, seconds, requests };
    };
    const lazy = await cold("off", "lazy");
    const twin = await cold("auto", "prefetch");
    const report = twin.report;
    const twinSeconds = twin.seconds;
    const twinRequests = twin.requests;
    // The peer: one anvil fork of the same blocks, reading the delayed source itself, replaying them exactly.
    const direct = new SourceRpc({ url: world.node.url });
    const blocks = (await direct.batchOrThrow(
      Array.from({ length: traffic.toBlock - traffic.fromBlock + 1 }, (_, i) => ({ method: "eth_getBlockByNumber", params: ["0x" + (traffic.fromBlock + i).toString(16), true] })),
    )) as RpcBlock[];
    counter.take();
    const anvilStart = performance.now();
    const handle = await anvilForkOf(counter.url)({ url: counter.url, blockNumber: traffic.fromBlock - 1, chainId: world.chainId });
    let anvil: { txs: number; mismatched: number };
    try {
      anvil = await replayExactly(handle, world.token, blocks);
    } finally {
      await handle.close();
    }
    const anvilSeconds = (performance.now() - anvilStart) / 1000;
    const anvilRequests = counter.take();
    const speedup = anvilSeconds / twinSeconds;
    console.log(
      `remote: prefetch took source requests per transaction from ${(lazy.requests / lazy.report.replayed).toFixed(2)} to ${(twinRequests / report.replayed).toFixed(2)} ` +
        `(target <= 0.3), and the cold wall time from ${lazy.seconds.toFixed(2)} s to ${twinSeconds.toFixed(2)} s`,
    );
    console.log(
      `remote, anvil fork: ${anvil.txs} txs replayed exactly (one world, no comparison) in ${anvilSeconds.toFixed(2)} s wall, ${anvilRequests} source requests` +
        `${anvil.mismatched > 0 ? ` (${anvil.mismatched} not mined in their block)` : ""}; the twin replay is ${speedup.toFixed(1)}x faster (target >= 10)`,
    );
    return { perTx: twinRequests / report.replayed, speedup };
  } finally {
    await counter.close();
    await delayed.close();
    await world.stop();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

function line(label: string, report: ReplayReport): string {
  return (
    `${label}: ${report.replayed} txs in ${report.blocks} blocks (${report.txs} twins) in ${report.timing.replaySeconds.toFixed(2)} s of replay ` +
    `(${report.timing.seconds.toFixed(2)} s end to end) = ${(report.replayed / report.timing.replaySeconds).toFixed(0)} tx/s; ` +
    `${report.verdict}, divergences ${report.divergences.length}, fidelity ${report.fidelity.matched}/${report.fidelity.total}, forks at ${report.forkBlocks.join(",")}`
  );
}

await main();
