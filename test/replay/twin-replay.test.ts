/**
 * The twin replay on forked chains: a hardhat node and anvil as "mainnet",
 * with generated traffic (many senders, small and large transfers, internal
 * calls through the router and the vault, reverts, events).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

import { expect } from "chai";

import type { NodeKind } from "../helpers/nodes.js";
import { BlueGreenError } from "../../src/errors.js";
import { hashes, replayFixture, type ReplayFixture } from "./helpers/fixture.js";

/** What the doubled fee changes: large transfers that succeed, and every overdraw's revert data (it names the fee). */
function feeAffected(txs: ReplayFixture["txs"]): ReplayFixture["txs"] {
  return txs.filter((t) => (t.large && t.status === "success") || t.kind === "overdraw");
}

for (const kind of ["hardhat", "anvil"] as NodeKind[]) {
  describe(`bg:replay against a ${kind} "mainnet"`, function () {
    let f: ReplayFixture;

    before(async () => {
      f = await replayFixture(kind, { count: 36, perBlock: 4, seed: kind === "hardhat" ? 11 : 23 });
    });
    after(async () => f?.stop());

    it("finds the proxy's traffic: top-level calls, internal calls through events, and every generated transaction", async () => {
      const { report } = await f.replay({ green: "identical" });
      expect(report.txs).to.equal(f.txs.length);
      expect(report.discovery.used).to.include.members(["to", "logs"]);
      expect(report.discovery.found.to).to.be.greaterThan(0);
      expect(report.discovery.found.logs).to.be.greaterThan(0);
    });

    it("reports 0 divergences and 100% fidelity for a green identical to blue", async () => {
      const { report } = await f.replay({ green: "identical" });
      expect(report.divergences).to.deep.equal([]);
      expect(report.expected).to.deep.equal([]);
      expect(report.fidelity.receipts.total).to.equal(f.txs.length);
      expect(report.fidelity.state.total).to.be.greaterThan(0);
      expect(report.fidelity.matched).to.equal(report.fidelity.total);
      expect(report.verdict).to.equal("clean");
      expect(report.skipped).to.deep.equal([]);
    });

    it("reports root divergences on exactly the transactions the changed fee affects, even though later transactions read the fee's state", async () => {
      const affected = feeAffected(f.txs);
      // Later transactions do read what the fee changed: sweepFees, vault share prices, balances.
      expect(f.txs.some((t) => t.kind === "sweepFees" && t.status === "success")).to.equal(true);
      const { report } = await f.replay({ green: "fee", cascade: true });
      expect(affected.length).to.be.greaterThan(2);
      expect(hashes(report.divergences)).to.deep.equal(hashes(affected));
      for (const d of report.divergences) expect(d.kinds).to.include.oneOf(["events", "return", "revert"]);
      // An overdraw reverts on both sides, but with the fee in ERC20InsufficientBalance's "needed": only the revert data tells them apart.
      const overdraws = report.divergences.filter((d) => f.txs.find((t) => t.hash === d.txHash)!.kind === "overdraw");
      expect(overdraws.length).to.be.greaterThan(0);
      for (const d of overdraws) {
        expect(d.kinds).to.deep.equal(["revert"]);
        expect(d.blue.revert).to.match(/^ERC20InsufficientBalance\(/);
        expect(d.green.revert).to.not.equal(d.blue.revert);
      }
      // In the cascade world green's state carries forward, so the drift reaches transactions green itself does not change.
      expect(report.propagated.length).to.be.greaterThan(0);
      for (const p of report.propagated) expect(hashes(affected)).to.not.include(p.txHash);
      expect(report.fidelity.matched).to.equal(report.fidelity.total);
    });

    it("shows a green that reverts on a path as revert divergences on that path", async () => {
      const { report } = await f.replay({ green: "reverting", config: { gasTolerance: 1 } });
      const broken = f.txs.filter((t) => t.largeTransferFrom && t.status === "success");
      expect(broken.length).to.be.greaterThan(0);
      const reverts = report.divergences.filter((d) => d.kind === "revert");
      expect(hashes(reverts)).to.deep.equal(hashes(broken));
      for (const d of reverts) {
        expect(d.blue.status).to.equal("success");
        expect(d.green.status).to.equal("revert");
        expect(d.green.revert).to.match(/^LargeTransferFromDisabled\(value=\d+\)$/);
      }
    });

    it("finds a transaction that reaches the proxy only through a view call when the source can trace", async () => {
      const internalOnly = f.txs.filter((t) => t.kind === "recordBalance");
      expect(internalOnly.length).to.be.greaterThan(0);
      const { report } = await f.replay({ green: "identical" });
      const tracing = kind === "anvil" ? "trace_filter" : "debug_traceTransaction";
      expect(report.discovery.used).to.include(tracing);
      expect(report.discovery.mayMiss).to.equal("");
      expect(report.discovery.found[tracing]).to.be.at.least(internalOnly.length);

      const blind = await f.replay({ green: "identical", mode: "fast", config: { tracing: "off" } });
      expect(blind.report.txs).to.equal(f.txs.length - internalOnly.length);
      expect(blind.report.warnings.join(" ")).to.match(/reach the proxy only through another contract/);
    });

    it("replays only the proxy's own traffic in fast mode and still finds the same root divergences", async () => {
      const { report } = await f.replay({ green: "fee", mode: "fast" });
      expect(report.mode).to.equal("fast");
      expect(report.adjustments).to.deep.equal([]);
      expect(hashes(report.divergences)).to.deep.equal(hashes(feeAffected(f.txs)));
    });

    it("keeps declared expected differences apart from divergences", async () => {
      const { report } = await f.replay({
        green: "fee",
        config: {
          expected: [
            { kind: "events", reason: "green doubles the fee on large transfers" },
            { kind: "storage", reason: "balances move by the new fee" },
            { kind: "return", selector: "transferFrom(address,address,uint256)", reason: "the router's deposits return fewer shares after the fee" },
            { kind: "revert", selector: "transfer(address,uint256)", reason: "an overdraw's ERC20InsufficientBalance names the new fee" },
          ],
        },
      });
      expect(report.divergences).to.deep.equal([]);
      expect(report.expected.length).to.equal(feeAffected(f.txs).length);
      expect(report.expected[0]!.differences.every((d) => d.expectedBy !== undefined)).to.equal(true);
    });

    it("runs a second time from the fork cache without a single request to the source", async () => {
      const dir = path.join(f.cacheRoot, "warm-run");
      const cold = await f.replay({ green: "fee", cacheDir: dir });
      expect(cold.sourceCalls).to.be.greaterThan(0);
      const warm = await f.replay({ green: "fee", cacheDir: dir });
      expect(warm.sourceCalls).to.equal(0);
      expect(hashes(warm.report.divergences)).to.deep.equal(hashes(cold.report.divergences));
    });

    it("fails with the source's own error, after retries with backoff, when the source rate-limits the fork after discovery", async () => {
      // Discovery goes through; the fork's first requests are refused with HTTP 429 forever.
      let calls = 0;
      const limiter = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", async () => {
          const body = Buffer.concat(chunks).toString();
          const methods = ([] as Array<{ method: string }>).concat(JSON.parse(body)).map((r) => r.method);
          if (++calls > 1 && !methods.every((m) => /^eth_(getBlockByNumber|getLogs|chainId|getCode|getTransactionReceipt|getBlockReceipts)$|^debug_|^trace_/.test(m))) {
            res.writeHead(429).end();
            return;
          }
          const up = await fetch(f.world.node.url, { method: "POST", headers: { "content-type": "application/json" }, body });
          res.writeHead(up.status, { "content-type": "application/json" }).end(await up.text());
        });
      });
      await new Promise<void>((resolve) => limiter.listen(0, "127.0.0.1", () => resolve()));
      try {
        const url = `http://127.0.0.1:${(limiter.address() as AddressInfo).port}`;
        const error = await f.replay({ green: "fee", sourceUrl: url, cacheDir: path.join(f.cacheRoot, "limited") }).catch((e: Error) => e);
        expect(error).to.be.instanceOf(Error);
        expect((error as Error).message).to.match(/did not answer .* after 3 attempts: HTTP 429/);
      } finally {
        limiter.closeAllConnections();
        await new Promise<void>((resolve) => limiter.close(() => resolve()));
      }
    });

    it("says so when a range holds no traffic: inconclusive (it proves nothing), with 0 transactions and a warning", async () => {
      const { report } = await f.replay({ green: "fee", traffic: { kind: "range", fromBlock: f.toBlock + 2, toBlock: f.toBlock + 5 } });
      expect(report.txs).to.equal(0);
      expect(report.divergences).to.deep.equal([]);
      expect(report.verdict).to.equal("inconclusive");
      expect(report.verdictReason).to.contain("nothing was compared");
      expect(report.warnings.join(" ")).to.match(/No transaction in blocks .* touches the proxy/);
    });

    it("refuses a range that goes past the source's head, naming the head, before reading anything of it", async () => {
      const head = Number(BigInt(await f.world.rpc.send<string>("eth_blockNumber")));
      const failure = await f.replay({ green: "identical", traffic: { kind: "range", fromBlock: head - 1, toBlock: head + 10 } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(BlueGreenError.is(failure) ? failure.code : failure).to.equal("BG_REPLAY_BLOCK_MISSING");
      expect((failure as Error).message).to.contain(`head is block ${head}`).and.contain(`no block ${head + 10}`);
    });
  });
}
