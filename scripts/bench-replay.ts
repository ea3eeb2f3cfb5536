/**
 * `npm run bench`: the replay's throughput, measured on this machine against
 * a local source node (a hardhat node), with N >= 2,000 traffic transactions:
 * ERC-20 and ERC-4626-style calls from many senders.
 *
 * Prints, from one run:
 * (a) raw: the same transactions sent one by one to an in-process EDR fork, no comparison;
 * (b) twin: transactions replayed as blue and as green and compared, per second;
 * (c) b/a;
 * (d) the same twin replay on an anvil fork (npm @foundry-rs/anvil) over HTTP, the peer baseline
 *     (and, for reference, on as many parallel anvil forks as the EDR run used);
 * and the JSON-RPC requests to the source per replayed transaction, cold and warm,
 * counted by an HTTP proxy in front of the source node.
 *
 * The last line is exactly:
 *   bench: twin/raw=<ratio> twin/anvil=<ratio> cold-rpc-per-tx=<n> warm-rpc-per-tx=<n>
 *
 * Environment: BENCH_TXS (default 2000), BENCH_WORKERS (default: the replay's default).
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import hre from "hardhat";

import { freePort } from "../test/helpers/nodes.js";
import {
  buildReplayWorld,
  deployGreen,
  generateTraffic,
  settle,
  type ReplayWorld,
} from "../test/replay/helpers/replay-world.js";
import { rpcTransactionObject, toTxRequest, type RpcBlock, type RpcTransaction } from "../src/replay/chain-data.js";
import { resolveReplayConfig } from "../src/replay/config.js";
import type { ForkHandle } from "../src/replay/fork-control.js";
import { startForkFront } from "../src/replay/fork-front.js";
import { edrForkOpener } from "../src/replay/open-edr-fork.js";
import { replayRelease, type OpenFork } from "../src/replay/replay-release.js";
import type { ReplayReport } from "../src/replay/report.js";
import { RpcCache } from "../src/replay/rpc-cache.js";
import { SourceRpc } from "../src/replay/source-rpc.js";

const TXS = Number(process.env.BENCH_TXS ?? 2000);
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
  return async ({ url, blockNumber, chainId }): Promise<ForkHandle> => {
    const port = await freePort();
    const child = spawn(
      path.join(ROOT, "node_modules", ".bin", "anvil"),
      ["--port", String(port), "--fork-url", url, "--fork-block-number", String(blockNumber), "--chain-id", String(chainId), "--silent", "--no-storage-caching"],
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

async function rawBaseline(world: ReplayWorld, source: SourceRpc, fromBlock: number, toBlock: number): Promise<{ txs: number; seconds: number }> {
  const blocks = (await source.batchOrThrow(
    Array.from({ length: toBlock - fromBlock + 1 }, (_, i) => ({ method: "eth_getBlockByNumber", params: ["0x" + (fromBlock + i).toString(16), true] })),
  )) as RpcBlock[];
  const txs = blocks.flatMap((b) => (b.transactions as RpcTransaction[]).map(toTxRequest));
  const front = await startForkFront(source.derive({ pinHead: true }));
  const fork = await edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") })({ url: front.url, blockNumber: fromBlock - 1, chainId: world.chainId });
  try {
    for (const from of new Set(txs.map((t) => t.from))) await fork.provider.request({ method: "hardhat_impersonateAccount", params: [from] });
    const start = performance.now();
    for (const tx of txs) await fork.provider.request({ method: "eth_sendTransaction", params: [rpcTransactionObject(tx)] });
    return { txs: txs.length, seconds: (performance.now() - start) / 1000 };
  } finally {
    await fork.close();
    await front.close();
  }
}

function line(label: string, report: ReplayReport): string {
  return (
    `${label}: ${report.txs} txs in ${report.timing.replaySeconds.toFixed(2)} s of replay ` +
    `(${report.timing.seconds.toFixed(2)} s end to end) = ${report.timing.txPerSecond.toFixed(0)} tx/s; ` +
    `divergences ${report.divergences.length}, fidelity ${report.fidelity.matched}/${report.fidelity.total}, forks at ${report.forkBlocks.join(",")}`
  );
}

async function main(): Promise<void> {
  const world = await buildReplayWorld("hardhat", 19);
  const cacheDir = await mkdtemp(path.join(tmpdir(), "bg-bench-cache-"));
  const counter = await startCountingProxy(world.node.url);
  try {
    console.log(`generating ${TXS} transactions (ERC-20 and ERC-4626 calls from ${world.users.length} senders) on a hardhat node...`);
    const traffic = await generateTraffic(world, {
      count: TXS,
      perBlock: 10,
      kinds: ["transfer", "transfer", "approve", "transferVia", "deposit", "withdraw", "depositVia"],
    });
    const green = await deployGreen(world, "ReplayTokenFeeChange");
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
    const run = async (openFork: OpenFork, workers = config.workers) => {
      const source = new SourceRpc({ url: counter.url, cache: await RpcCache.open(config.cacheDir, counter.url) });
      return replayRelease({
        release,
        source,
        openFork,
        traffic: { kind: "range", fromBlock: traffic.fromBlock, toBlock: traffic.toBlock },
        mode: "faithful",
        cascade: false,
        config: { ...config, workers },
      });
    };
    counter.take();
    const cold = await run(edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }));
    const coldRequests = counter.take();
    console.log(line("twin, cold cache", cold));
    const warm = await run(edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }));
    const warmRequests = counter.take();
    console.log(line("(b) twin, warm cache", warm));

    const rawSource = new SourceRpc({ url: counter.url, cache: await RpcCache.open(config.cacheDir, counter.url) });
    const raw = await rawBaseline(world, rawSource, traffic.fromBlock, traffic.toBlock);
    counter.take();
    const rawRate = raw.txs / raw.seconds;
    console.log(`(a) raw EDR loop: ${raw.txs} txs sent one by one in ${raw.seconds.toFixed(2)} s = ${rawRate.toFixed(0)} tx/s`);

    // The peer baseline: the same twin replay, on an anvil fork over HTTP, as an anvil-based tool runs it.
    const anvil = await run(anvilForkOpener(), 1);
    counter.take();
    console.log(line("(d) twin on one anvil fork", anvil));
    const anvilParallel = await run(anvilForkOpener());
    counter.take();
    console.log(line(`    for reference, twin on ${config.workers} parallel anvil forks`, anvilParallel));

    const twinRate = warm.timing.txPerSecond;
    const ratioRaw = twinRate / rawRate;
    const ratioAnvil = twinRate / anvil.timing.txPerSecond;
    const coldPerTx = coldRequests / cold.replayed;
    const warmPerTx = warmRequests / warm.replayed;
    console.log(`(c) b/a = ${ratioRaw.toFixed(2)} (target >= 0.5); twin EDR / twin anvil = ${ratioAnvil.toFixed(2)} (target >= 3)`);
    console.log(
      `source requests: cold ${coldRequests} for ${cold.replayed} txs (${coldPerTx.toFixed(2)}/tx), warm ${warmRequests} (${warmPerTx.toFixed(2)}/tx); workers ${config.workers}`,
    );
    console.log(
      `bench: twin/raw=${ratioRaw.toFixed(2)} twin/anvil=${ratioAnvil.toFixed(2)} cold-rpc-per-tx=${coldPerTx.toFixed(2)} warm-rpc-per-tx=${warmPerTx.toFixed(2)}`,
    );
  } finally {
    await counter.close();
    await world.stop();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

await main();
