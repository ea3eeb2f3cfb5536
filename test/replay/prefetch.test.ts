/**
 * Prefetch and the shared source cache, against real nodes: an anvil source
 * (prestate traces) and a hardhat node (no debug_traceBlockByNumber: the
 * proofs fallback). Prefetching must not change the report (divergences,
 * fidelity, verdict), only the requests that reach the source; a second run
 * on the same shared cache asks the source only for what it lacks.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import hre from "hardhat";

import type { NodeKind } from "../helpers/nodes.js";
import { resolveReplayConfig } from "../../src/replay/config.js";
import { edrForkOpener } from "../../src/replay/open-edr-fork.js";
import { replayRelease } from "../../src/replay/replay-release.js";
import type { ReplayReport } from "../../src/replay/report.js";
import { RpcCache, sourceNamespace } from "../../src/replay/rpc-cache.js";
import { SourceCache } from "../../src/replay/source-cache.js";
import { SourceRpc } from "../../src/replay/source-rpc.js";
import { buildBlockWorld, type BlockTx, type BlockWorld } from "./helpers/block-world.js";

const total = (r: ReplayReport) => r.sourceRequests.discovery + r.sourceRequests.fork + (r.sourceRequests.prefetch?.requests ?? 0);
const sameOutcome = (r: ReplayReport) => ({
  verdict: r.verdict,
  divergences: r.divergences.map((d) => [d.txHash, d.kinds]).sort(),
  fidelity: { matched: r.fidelity.matched, total: r.fidelity.total, receipts: r.fidelity.receipts, state: r.fidelity.state },
  mismatches: r.fidelity.mismatches,
  replayed: r.replayed,
});

for (const kind of ["anvil", "hardhat"] as NodeKind[]) {
  describe(`replay prefetch against a ${kind} source`, function () {
    let world: BlockWorld;
    let root: string;
    let range: { fromBlock: number; toBlock: number; txs: BlockTx[] };
    let green: { address: string; codehash: string };

    before(async () => {
      world = await buildBlockWorld(kind);
      root = await mkdtemp(path.join(tmpdir(), "bg-prefetch-"));
      range = await world.traffic({ blocks: 10, seed: 21 });
      green = await world.deployGreen("AccrualVaultNewError");
    });
    after(async () => {
      await world?.stop();
      if (root !== undefined) await rm(root, { recursive: true, force: true });
    });

    /** A run with its own (cold) answer cache; `shared` is the on-disk source cache. */
    async function replay(prefetch: "auto" | "off", shared?: SourceCache): Promise<ReplayReport> {
      const dir = await mkdtemp(path.join(root, "run-"));
      const config = resolveReplayConfig({ workers: 2 }, { projectRoot: dir, cachePath: dir });
      const source = new SourceRpc({ url: world.url, cache: await RpcCache.open(config.cacheDir, world.url), retries: 2, baseDelayMs: 20 });
      return replayRelease({
        release: { id: "prefetch", chainId: world.chainId, proxy: world.vault.proxy, blue: { address: world.vault.impl, codehash: world.vault.codehash }, green },
        source,
        openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
        traffic: { kind: "range", fromBlock: range.fromBlock, toBlock: range.toBlock },
        mode: "faithful",
        cascade: false,
        config,
        prefetch,
        ...(shared !== undefined ? { sourceCache: shared } : {}),
      });
    }

    it("gives the same report as lazy fetching, with fewer requests to the source", async () => {
      const lazy = await replay("off");
      const prefetched = await replay("auto");
      expect(lazy.sourceRequests.prefetch?.path).to.equal("off");
      expect(prefetched.sourceRequests.prefetch?.path).to.equal(kind === "anvil" ? "prestate-trace" : "proofs");
      // The green throws another error on overdraws: there is something to diverge on.
      expect(lazy.divergences.length).to.be.greaterThan(0);
      expect(sameOutcome(prefetched)).to.deep.equal(sameOutcome(lazy));
      expect(prefetched.fidelity.matched).to.equal(prefetched.fidelity.total);
      const p = prefetched.sourceRequests.prefetch!;
      expect(p.accounts).to.be.greaterThan(0);
      expect(p.served).to.be.greaterThan(0);
      if (kind === "anvil") expect(p.slots).to.be.greaterThan(0);
      else expect(p.reason).to.match(/no prestate tracer/);
      // The forks asked the source for less (far less with traces, which name the slots too), and so did the whole run.
      expect(prefetched.sourceRequests.fork).to.be.lessThan(kind === "anvil" ? lazy.sourceRequests.fork / 2 : lazy.sourceRequests.fork);
      expect(total(prefetched)).to.be.lessThan(total(lazy));
    });

    it("has the forks read each key of a range at the head once, not again for every observation", async () => {
      // EDR keeps what it reads only at blocks it deems safe from reorgs (deep below the head it is told);
      // this range is at the head. Lazily, every read of a fork reaches the front: once a key, per fork.
      // Lazily, a key's first read goes to the source and is learned; any read of it again is served from what was learned.
      const report = await replay("off");
      expect(report.replayed).to.be.greaterThan(0);
      expect(new Set(report.forkBlocks).size).to.equal(report.forkBlocks.length);
      expect(report.sourceRequests.fork).to.be.greaterThan(0);
      // The forks are at different blocks, so no key is shared: every read again would be EDR forgetting (2,840 of them before).
      expect(report.sourceRequests.prefetch?.served).to.equal(0);
    });

    it("keeps a block's reduced prestate in the answer cache, not the source's trace (which repeats every contract's code per transaction)", async () => {
      const dir = await mkdtemp(path.join(root, "answers-"));
      const config = resolveReplayConfig({ workers: 2 }, { projectRoot: dir, cachePath: dir });
      const run = async () =>
        replayRelease({
          release: { id: "prefetch", chainId: world.chainId, proxy: world.vault.proxy, blue: { address: world.vault.impl, codehash: world.vault.codehash }, green },
          source: new SourceRpc({ url: world.url, cache: await RpcCache.open(config.cacheDir, world.url), retries: 2, baseDelayMs: 20 }),
          openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
          traffic: { kind: "range", fromBlock: range.fromBlock, toBlock: range.toBlock },
          mode: "faithful",
          cascade: false,
          config,
        });
      const cold = await run();
      const ns = sourceNamespace(world.url);
      const lines = await Promise.all(
        (await readFile(path.join(config.cacheDir, `${ns}.jsonl`), "utf8"))
          .trim()
          .split("\n")
          .map(async (line) => {
            const { k, a, f } = JSON.parse(line) as { k: string; a?: { result?: unknown }; f?: string };
            // A large answer lives in a file of its own.
            return { k, a: a ?? (JSON.parse(await readFile(path.join(config.cacheDir, `${ns}.answers`, f!), "utf8")) as { result?: unknown }) };
          }),
      );
      const kept = lines.filter((l) => l.k.startsWith("prestate:"));
      // A raw block trace is a list of { txHash, result }: none is kept.
      const raw = lines.filter((l) => Array.isArray(l.a.result) && (l.a.result as Array<{ txHash?: string }>)[0]?.txHash !== undefined);
      expect(raw).to.have.length(0);
      if (kind === "anvil") {
        expect(cold.sourceRequests.prefetch?.path).to.equal("prestate-trace");
        expect(kept.length).to.be.greaterThan(0);
        // The second run takes every block's prestate from there and asks the source nothing for it.
        const warm = await run();
        expect(warm.sourceRequests.prefetch?.cachedBlocks).to.equal(kept.length);
        expect(warm.sourceRequests.prefetch?.requests).to.equal(0);
        expect(sameOutcome(warm)).to.deep.equal(sameOutcome(cold));
      } else expect(kept).to.have.length(0);
    });

    it("shares what one run fetched with the next through the on-disk source cache", async () => {
      const shared = new SourceCache(path.join(root, "shared"));
      const first = await replay("auto", shared);
      const second = await replay("auto", shared);
      expect(sameOutcome(second)).to.deep.equal(sameOutcome(first));
      const p1 = first.sourceRequests.prefetch!;
      const p2 = second.sourceRequests.prefetch!;
      if (kind === "anvil") {
        // Every traced block's prestate came from the cache: only the fork block before the range (not a block discovery read) is asked.
        expect(p2.cachedBlocks).to.equal(range.toBlock - range.fromBlock + 1);
        expect(p2.requests).to.be.at.most(first.forkBlocks.length);
      }
      expect(p2.requests).to.be.lessThan(p1.requests);
      // Everything the first run knew at its fork blocks, prefetched or read lazily, is known before the second starts.
      expect(p2.accounts + p2.slots).to.be.at.least(p1.accounts + p1.slots);
      expect(second.sourceRequests.fork).to.be.at.most(first.sourceRequests.fork);
      expect(total(second)).to.be.lessThan(total(first));
      expect((await shared.usage()).files).to.be.greaterThan(0);
    });
  });
}
