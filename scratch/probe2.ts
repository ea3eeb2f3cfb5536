import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import { resolveReplayConfig } from "../src/replay/config.js";
import { edrForkOpener } from "../src/replay/open-edr-fork.js";
import { replayRelease } from "../src/replay/replay-release.js";
import { RpcCache } from "../src/replay/rpc-cache.js";
import { SourceRpc } from "../src/replay/source-rpc.js";
import { SourceCache } from "../src/replay/source-cache.js";
import { buildBlockWorld } from "../test/replay/helpers/block-world.js";

const kind = (process.env.KIND ?? "anvil") as "anvil" | "hardhat";
const world = await buildBlockWorld(kind);
const range = await world.traffic({ blocks: 10, seed: 9 });
const green = await world.deployGreen("AccrualVaultNewError");
const t = world.vault;
const shared = await mkdtemp(path.join(tmpdir(), "probe-sc-"));
for (const prefetch of ["off", "auto", "auto"] as const) {
  const cacheRoot = await mkdtemp(path.join(tmpdir(), "probe-"));
  const config = resolveReplayConfig({ workers: 2 }, { projectRoot: cacheRoot, cachePath: cacheRoot });
  const source = new SourceRpc({ url: world.url, cache: await RpcCache.open(config.cacheDir, world.url) });
  const report = await replayRelease({
    release: { id: "p", chainId: world.chainId, proxy: t.proxy, blue: { address: t.impl, codehash: t.codehash }, green },
    source, openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
    traffic: { kind: "range", fromBlock: range.fromBlock, toBlock: range.toBlock }, mode: "faithful", cascade: false, config, prefetch,
    sourceCache: new SourceCache(shared),
  });
  console.log(prefetch, report.replayed, report.forkBlocks, JSON.stringify(report.sourceRequests), report.verdict, report.divergences.length, report.fidelity.matched, report.fidelity.total, JSON.stringify(report.fidelity.mismatches).slice(0, 300));
}
await world.stop();
