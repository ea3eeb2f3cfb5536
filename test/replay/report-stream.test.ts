/**
 * Flat memory: a replay streams every comparison to the comparisons file
 * (JSON Lines, chain order) and keeps only a bounded tally: the first
 * `keep` entries of each list in full, counts for the rest. What stays in
 * the report does not grow with the traffic; the file does. (The peak RSS
 * for 2,000 and 20,000 transactions is measured by `npm run bench:memory`.)
 */
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import hre from "hardhat";

import { resolveReplayConfig } from "../../src/replay/config.js";
import { edrForkOpener } from "../../src/replay/open-edr-fork.js";
import { replayRelease } from "../../src/replay/replay-release.js";
import { replayJson, serializeReport, type ReplayReport } from "../../src/replay/report.js";
import type { ComparisonLine } from "../../src/replay/report-stream.js";
import { RpcCache } from "../../src/replay/rpc-cache.js";
import { SourceRpc } from "../../src/replay/source-rpc.js";
import { renderMarkdownReport } from "../../src/ui/replay-report.js";
import { buildReplayWorld, deployGreen, generateTraffic, settle, type GeneratedTx, type ReplayWorld } from "./helpers/replay-world.js";

describe("a replay streams its comparisons and keeps a bounded tally", function () {
  let world: ReplayWorld;
  let dir: string;
  let txs: GeneratedTx[];
  let range: { fromBlock: number; toBlock: number };
  let green: { address: string; codehash: string };

  before(async function () {
    this.timeout(300_000);
    world = await buildReplayWorld("hardhat", 6);
    dir = await mkdtemp(path.join(tmpdir(), "bg-replay-stream-"));
    const traffic = await generateTraffic(world, { count: 36, perBlock: 6, seed: 31, kinds: ["transfer", "transferVia"] });
    txs = traffic.txs;
    range = { fromBlock: traffic.fromBlock, toBlock: traffic.toBlock };
    green = await deployGreen(world, "ReplayTokenFeeChange");
    await settle(world);
  });

  after(async () => {
    await world?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const replay = async (toBlock: number, keep: number, out: string): Promise<ReplayReport> => {
    const config = resolveReplayConfig(undefined, { projectRoot: dir, cachePath: dir });
    const source = new SourceRpc({ url: world.node.url, cache: await RpcCache.open(config.cacheDir, world.node.url) });
    return replayRelease({
      release: { id: "stream", chainId: world.chainId, proxy: world.token, blue: { address: world.tokenImpl, codehash: world.tokenImplCodehash }, green },
      source,
      openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
      traffic: { kind: "range", fromBlock: range.fromBlock, toBlock },
      mode: "faithful",
      cascade: false,
      config,
      keep,
      output: { dir: out, stem: () => "replay-test" },
    });
  };

  const linesOf = async (out: string, report: ReplayReport) =>
    (await readFile(path.join(out, report.comparisons!.file), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ComparisonLine);

  it("writes one line per compared transaction, in chain order, and keeps only the first divergences in full", async function () {
    this.timeout(300_000);
    const out = path.join(dir, "all");
    const report = await replay(range.toBlock, 2, out);
    const large = txs.filter((t) => t.large && t.status === "success").map((t) => t.hash);
    expect(large.length).to.be.greaterThan(2);
    expect(report.counts!.divergences).to.equal(large.length);
    expect(report.divergences).to.have.length(2);
    expect(report.kept).to.equal(2);

    const lines = await linesOf(out, report);
    const txLines = lines.filter((l): l is Extract<ComparisonLine, { kind: "tx" }> => l.kind === "tx");
    expect(txLines.map((l) => l.hash)).to.deep.equal(txs.map((t) => t.hash));
    const divergent = txLines.filter((l) => l.result === "divergent");
    expect(divergent.map((l) => l.hash).sort()).to.deep.equal([...large].sort());
    // The report's entries are the file's first ones, in full.
    expect(report.divergences).to.deep.equal(divergent.slice(0, 2).map((l) => l.entry));
    expect(report.comparisons!.lines).to.equal(lines.length);
    // Nothing of the run is left in progress.
    expect(await readdir(out)).to.deep.equal([report.comparisons!.file]);

    // Consumers read the counts, not the length of the bounded list.
    const json = replayJson(report);
    expect(json).to.include({ divergenceCount: large.length });
    const md = renderMarkdownReport(report, "replay-test.json");
    expect(md).to.include(`# Replay of release \`stream\`: ${large.length} unexpected divergences`);
    expect(md).to.include(`…and ${large.length - 2} more in the JSON report and its comparisons file.`);
  });

  it("keeps the summary the same size when the traffic doubles, while the comparisons file grows with it", async function () {
    this.timeout(300_000);
    const half = range.fromBlock + Math.floor((range.toBlock - range.fromBlock) / 2);
    const small = await replay(half, 2, path.join(dir, "half"));
    const full = await replay(range.toBlock, 2, path.join(dir, "full"));
    expect(full.txs).to.be.greaterThan(small.txs * 1.5);
    expect(small.counts!.divergences).to.be.greaterThan(2);
    const size = (r: ReplayReport) => serializeReport({ ...r, warnings: [] }).length;
    // Same shape, same number of entries: only numbers and hashes differ.
    expect(Math.abs(size(full) - size(small)) / size(small)).to.be.lessThan(0.1);
    expect(full.comparisons!.lines).to.be.greaterThan(small.comparisons!.lines * 1.5);
  });
});
