import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { resolveReplayConfig } from "../src/replay/config.js";
import { edrForkOpener } from "../src/replay/open-edr-fork.js";
import { replayRelease } from "../src/replay/replay-release.js";
import { RpcCache } from "../src/replay/rpc-cache.js";
import { SourceRpc } from "../src/replay/source-rpc.js";
import { buildBlockWorld } from "../test/replay/helpers/block-world.js";

const kind = (process.env.KIND ?? "anvil") as "anvil" | "hardhat";
const world = await buildBlockWorld(kind);
const range = await world.traffic({ blocks: 6, seed: 9 });
const green = await world.deployGreen("AccrualVaultSame");
const cacheRoot = await mkdtemp(path.join(tmpdir(), "probe-"));
const log: string[] = [];
const orig = SourceRpc.prototype.batch;
SourceRpc.prototype.batch = async function (calls) {
  if ((this as any).options.pinHead) for (const c of calls) log.push(`${c.method} ${JSON.stringify(c.params)}`);
  return orig.call(this, calls);
};
const config = resolveReplayConfig({ workers: 2 }, { projectRoot: cacheRoot, cachePath: cacheRoot });
const source = new SourceRpc({ url: world.url, cache: await RpcCache.open(config.cacheDir, world.url) });
const t = world.vault;
const report = await replayRelease({
  release: { id: "p", chainId: world.chainId, proxy: t.proxy, blue: { address: t.impl, codehash: t.codehash }, green },
  source, openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
  traffic: { kind: "range", fromBlock: range.fromBlock, toBlock: range.toBlock }, mode: "faithful", cascade: false, config,
});
console.log("range", range.fromBlock, range.toBlock, "forks", report.forkBlocks, report.sourceRequests, report.verdict, report.fidelity.matched, report.fidelity.total);
for (const l of log) console.log(l.slice(0, 200));
// try prestate trace
try {
  const r = await source.request({ method: "debug_traceBlockByNumber", params: ["0x" + range.fromBlock.toString(16), { tracer: "prestateTracer", tracerConfig: { disableCode: false } }] });
  console.log("TRACE", JSON.stringify(r, (k, v) => (k === "code" ? v.slice(0, 10) : v)).slice(0, 3000));
} catch (e) { console.log("TRACE ERR", (e as Error).message); }
await world.stop();
