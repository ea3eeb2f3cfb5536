/**
 * Exact replay on block-dependent contracts: ERC20Votes checkpoints (the
 * clock is the block number), per-block accrual, a per-block rate limit and
 * a time lock, with several transactions per block, one sender sending
 * several in a block, routed internal calls and intended reverts. Against a
 * hardhat node and anvil as "mainnet", each green's divergences must be
 * exactly the transactions it changes, and blue must reproduce the chain:
 * every receipt and the proxy's storage at the end of every block.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import hre from "hardhat";

import type { NodeKind } from "../helpers/nodes.js";
import { resolveReplayConfig } from "../../src/replay/config.js";
import { edrForkOpener } from "../../src/replay/open-edr-fork.js";
import { replayRelease } from "../../src/replay/replay-release.js";
import type { ReplayReport } from "../../src/replay/report.js";
import { RpcCache } from "../../src/replay/rpc-cache.js";
import { SourceRpc } from "../../src/replay/source-rpc.js";
import { buildBlockWorld, type BlockTx, type BlockWorld } from "./helpers/block-world.js";

const sorted = (xs: string[]) => [...xs].sort();

for (const kind of ["hardhat", "anvil"] as NodeKind[]) {
  describe(`exact replay of block-dependent contracts against a ${kind} "mainnet"`, function () {
    let world: BlockWorld;
    let cacheRoot: string;
    let range: { fromBlock: number; toBlock: number; txs: BlockTx[] };
    const greens: Record<string, { address: string; codehash: string }> = {};

    before(async () => {
      world = await buildBlockWorld(kind);
      cacheRoot = await mkdtemp(path.join(tmpdir(), "bg-block-replay-"));
      range = await world.traffic({ blocks: 14, seed: kind === "hardhat" ? 5 : 9 });
      for (const name of ["AccrualVaultSame", "AccrualVaultNewError", "AccrualVaultNewReturn", "AccrualVaultAccrualBug", "AccrualVaultHijack", "VotesTokenSame"]) {
        greens[name] = await world.deployGreen(name);
      }
    });
    after(async () => {
      await world?.stop();
      if (cacheRoot !== undefined) await rm(cacheRoot, { recursive: true, force: true });
    });

    async function replay(
      green: string,
      options: { proxy?: "vault" | "votes"; mode?: "faithful" | "fast"; fromBlock?: number; toBlock?: number; gasTolerance?: number } = {},
    ): Promise<ReplayReport> {
      const target = world[options.proxy ?? "vault"];
      const config = resolveReplayConfig({ workers: 2, gasTolerance: options.gasTolerance ?? 0 }, { projectRoot: cacheRoot, cachePath: cacheRoot });
      const source = new SourceRpc({ url: world.url, cache: await RpcCache.open(config.cacheDir, world.url), retries: 2, baseDelayMs: 20 });
      return replayRelease({
        release: { id: `r-${green}`, chainId: world.chainId, proxy: target.proxy, blue: { address: target.impl, codehash: target.codehash }, green: greens[green]! },
        source,
        openFork: edrForkOpener(hre.network, { edrForkCache: path.join(hre.config.paths.cache, "edr-fork-cache") }),
        traffic: { kind: "range", fromBlock: options.fromBlock ?? range.fromBlock, toBlock: options.toBlock ?? range.toBlock },
        mode: options.mode ?? "faithful",
        cascade: false,
        config,
      });
    }

    const of = (...kinds: BlockTx["kind"][]) => range.txs.filter((t) => kinds.includes(t.kind));
    const hashesOf = (txs: Array<{ hash: string }>) => sorted(txs.map((t) => t.hash));
    const divergent = (report: ReplayReport) => sorted(report.divergences.map((d) => d.txHash));

    it("generates the shapes the test is about: multi-transaction blocks, a sender twice in a block, routed calls, intended reverts of every kind", () => {
      const perBlock = new Map<number, BlockTx[]>();
      for (const t of range.txs) perBlock.set(t.blockNumber, [...(perBlock.get(t.blockNumber) ?? []), t]);
      expect(perBlock.size).to.equal(14);
      expect([...perBlock.values()].every((b) => b.length >= 2)).to.equal(true);
      expect([...perBlock.values()].some((b) => new Set(b.map((t) => t.from)).size < b.length)).to.equal(true);
      expect(of("depositVia", "transferVia", "snapshotVotes").length).to.be.greaterThan(3);
      expect(of("overdraw").every((t) => t.status === "revert")).to.equal(true);
      // Withdrawals of 1 ETH fail on the time lock or the per-block limit, and succeed otherwise.
      expect(of("withdraw").some((t) => t.status === "revert")).to.equal(true);
      expect(of("withdraw").some((t) => t.status === "success")).to.equal(true);
    });

    it("reports nothing for a behaviour-identical green, with 100% fidelity for receipts and for the proxy's state", async () => {
      const report = await replay("AccrualVaultSame");
      expect(report.divergences).to.deep.equal([]);
      expect(report.verdict).to.equal("clean");
      expect(report.blocks).to.equal(14);
      expect(report.fidelity.receipts).to.deep.equal({ matched: range.txs.length, total: range.txs.length });
      // lastActionBlock, limitBlock, the index and lastAccrualBlock are written with block.number: they only match if the blocks do.
      expect(report.fidelity.state.total).to.be.greaterThan(20);
      expect(report.fidelity.state.matched).to.equal(report.fidelity.state.total);
      expect(report.fidelity.mismatches).to.deep.equal([]);
      expect(report.txs).to.equal(of("deposit", "depositVia", "withdraw", "overdraw").length);
    });

    it("reports nothing for an identical ERC20Votes green: checkpoints keyed by block number replay exactly", async () => {
      const report = await replay("VotesTokenSame", { proxy: "votes" });
      expect(report.divergences).to.deep.equal([]);
      expect(report.verdict).to.equal("clean");
      expect(report.txs).to.equal(of("delegate", "transfer", "transferVia", "snapshotVotes").length);
      expect(report.fidelity.matched).to.equal(report.fidelity.total);
      expect(report.fidelity.state.total).to.be.greaterThan(10);
    });

    it("reports exactly the overdraws, as revert divergences, for a green that only throws another custom error", async () => {
      const report = await replay("AccrualVaultNewError");
      expect(divergent(report)).to.deep.equal(hashesOf(of("overdraw")));
      for (const d of report.divergences) {
        expect(d.kinds).to.deep.equal(["revert"]);
        expect(d.blue.revert).to.match(/^0x[0-9a-f]{8}|InsufficientDeposit/);
        expect(d.green.revert).to.not.equal(d.blue.revert);
      }
      expect(report.verdict).to.equal("divergent");
    });

    it("reports exactly the successful withdrawals, as return divergences, for a green that only returns another value", async () => {
      // Returning another stack value costs a few gas more or less; a 1% tolerance sets that aside.
      const report = await replay("AccrualVaultNewReturn", { gasTolerance: 1 });
      expect(divergent(report)).to.deep.equal(hashesOf(of("withdraw").filter((t) => t.status === "success")));
      for (const d of report.divergences) expect(d.kinds).to.deep.equal(["return"]);
    });

    it("reports exactly the accruing transactions for a green with an off-by-one in its per-block accrual", async () => {
      const report = await replay("AccrualVaultAccrualBug");
      const accruing = [...of("deposit", "depositVia"), ...of("withdraw").filter((t) => t.status === "success")];
      expect(divergent(report)).to.deep.equal(hashesOf(accruing));
      for (const d of report.divergences) expect(d.kinds).to.include("storage");
      expect(report.fidelity.matched).to.equal(report.fidelity.total);
    });

    it("flags a green that writes the proxy's implementation slot as a critical divergence of its own kind", async () => {
      const report = await replay("AccrualVaultHijack");
      const critical = report.divergences.filter((d) => d.critical);
      expect(hashesOf(critical.map((d) => ({ hash: d.txHash })))).to.deep.equal(hashesOf(of("deposit")));
      for (const d of critical) {
        expect(d.kind).to.equal("proxy-slots");
        expect(d.green.status).to.equal("success");
      }
    });

    it("replays only the proxy's transactions in fast mode, each original block's targets in one block carrying its number", async () => {
      const report = await replay("AccrualVaultNewReturn", { mode: "fast", gasTolerance: 1 });
      expect(report.mode).to.equal("fast");
      expect(report.blocks).to.equal(new Set(of("deposit", "depositVia", "withdraw", "overdraw").map((t) => t.blockNumber)).size);
      expect(divergent(report)).to.deep.equal(hashesOf(of("withdraw").filter((t) => t.status === "success")));
      expect(report.warnings.join(" ")).to.match(/state that other transactions of the range wrote is missing/);
    });

    it("is inconclusive, not clean, when blue cannot reproduce the chain (a contract reads the previous block's hash)", async () => {
      const more = await world.traffic({ blocks: 4, seed: 77, draw: true });
      const report = await replay("AccrualVaultSame", { fromBlock: more.fromBlock, toBlock: more.toBlock });
      expect(report.divergences).to.deep.equal([]);
      expect(report.verdict).to.equal("inconclusive");
      expect(report.verdictReason).to.match(/^inconclusive: blue did not reproduce the chain/);
      const draws = more.txs.filter((t) => t.kind === "draw").map((t) => t.hash);
      expect(draws.length).to.equal(3);
      // A draw sees the real hash of a fork's pinned block, but the fork's own hash of a block it replayed before: those mismatch.
      expect(report.fidelity.mismatches.length).to.be.greaterThan(0);
      for (const m of report.fidelity.mismatches) expect(draws).to.include(m.hash);
    });
  });
}
