/**
 * The monitor under steady faults, through the fault-injecting proxy in
 * front of a separate Hardhat node: it never reports what it did not
 * measure. `--duration` ends a run whose steps keep failing, and the verdict
 * says how many blocks were analysed of those due; batches shrink until
 * reads get through under steady loss.
 */
import { expect } from "chai";

import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { readMonitorStep } from "../../src/monitor/monitor-step.js";
import { startFaultProxy } from "../helpers/fault-proxy.js";
import {
  type MonitorWorld,
  cleanCopy,
  deployGreen,
  learnt,
  markLive,
  memoryLog,
  mine,
  monitorProvider,
  promote,
  releaseStore,
  startWorld,
  testConfig,
  tick,
  until,
} from "./world.js";

/** Full blocks (with their transactions): what the monitor reads to analyse, as opposed to headers. */
const fullBlock = (r: { method: string; params: unknown[] }) => r.method === "eth_getBlockByNumber" && r.params[1] === true;

describe("bg:monitor under steady RPC faults, on a separate Hardhat node", function () {
  let w: MonitorWorld;

  before(async function () {
    w = await startWorld(2);
  });
  after(async () => w?.stop());

  it("honours --duration while every step fails, and ends inconclusive with the blocks it did not analyse, never healthy", async function () {
    const proxy = w.proxies[0]!;
    const green = await deployGreen(w, "MonitorMeterV2");
    const store = await releaseStore(w, green, "MonitorMeterV2", { id: "no-reads", proxy });
    await tick(w, 2, { proxy });
    const [promoted] = await promote(w, green, [proxy]);
    await markLive(store, w, "no-reads");
    await tick(w, 4, { proxy });
    await mine(w, 2);
    const config = testConfig({ rpc: { timeout: "2s", attempts: 2, backoff: "20ms", maxBackoff: "100ms" } });
    // A clean pass first (it finds the promotion and blue's baseline), as a monitor that ran before the faults began.
    const clean = await monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "no-reads", config, once: true, log: memoryLog().log });
    expect(clean).to.deep.include({ verdict: "healthy" });
    const analysed = clean.blocks.analysed;
    expect(analysed).to.equal((await w.provider.getBlockNumber()) - 1 - promoted!);
    expect(clean.blocks.due).to.equal(analysed);

    await tick(w, 3, { proxy });
    await mine(w, 1);
    const head = await w.provider.getBlockNumber();
    // From now on the node answers everything but the blocks themselves.
    const faulty = await startFaultProxy(w.node.url, [{ fault: 503, match: fullBlock }]);
    const { log, lines } = memoryLog();
    try {
      const outcome = await monitorRelease({ provider: monitorProvider(faulty.url), store, chainId: w.chainId, releaseId: "no-reads", config, durationSeconds: 2, log });
      expect(outcome).to.deep.include({ ok: false, verdict: "inconclusive", stopped: "duration" });
      // Confirmations 1: every block after the promotion up to head - 1 is due; the four new ones were not read.
      expect(outcome.blocks).to.deep.equal({ analysed, due: head - 1 - promoted! });
      expect(head - 1 - promoted! - analysed).to.equal(4);
      // What was measured before the faults still says Running: only the verdict knows it is not enough.
      expect(outcome.runs[0]!.phase).to.equal("Running");
    } finally {
      await faulty.close();
    }
    expect(faulty.counts.http503).to.be.greaterThan(0);
    expect(lines.filter((l) => l.event === "step-failed").length).to.be.greaterThan(0);
    expect(lines.find((l) => l.event === "monitor-stopped")).to.deep.include({ level: "warn", verdict: "inconclusive", blocksAnalysed: analysed, blocksDue: head - 1 - promoted! });
  });

  it("under 30% dropped requests, shrinks its batches until the reads get through, and analyses every block due", async function () {
    const proxy = w.proxies[1]!;
    const green = await deployGreen(w, "MonitorMeterV2");
    const store = await releaseStore(w, green, "MonitorMeterV2", { id: "lossy", proxy });
    await tick(w, 2, { proxy });
    const [promoted] = await promote(w, green, [proxy]);
    await markLive(store, w, "lossy");
    await tick(w, 2, { proxy });
    await mine(w, 1);
    // One attempt per request: every drop reaches the monitor, so only the batch size decides whether a read gets through.
    const config = testConfig({ batchBlocks: 50, probes: [], rpc: { timeout: "2s", attempts: 1, backoff: "20ms", maxBackoff: "100ms" } });
    // A clean pass first (it finds the promotion and blue's baseline), as a monitor that ran before the loss began.
    await monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "lossy", config, once: true, log: memoryLog().log });
    await tick(w, 4, { proxy });
    // A long stretch: read as one 50-block batch, it needs over 50 requests to all get through at once.
    await mine(w, 56);
    const head = await w.provider.getBlockNumber();

    const faulty = await startFaultProxy(w.node.url, [{ fault: "drop", probability: 0.3 }], { seed: 19 });
    const { log, lines } = memoryLog();
    const stop = new AbortController();
    const running = monitorRelease({ provider: monitorProvider(faulty.url), store, chainId: w.chainId, releaseId: "lossy", config, durationSeconds: 240, log, signal: stop.signal });
    running.catch(() => {});
    try {
      // The record's summary is written by a step that completed: its last block is what a whole step saw.
      await until(
        async () => (readMonitorStep(await store.get(w.chainId, "lossy"))?.lastBlock ?? 0) >= head - 1,
        200_000,
        "the monitor to analyse every block due through the drops",
      );
    } finally {
      stop.abort();
    }
    const outcome = await running;
    await faulty.close();

    expect(faulty.counts.dropped, "requests dropped").to.be.greaterThan(0);
    const sizes = lines.filter((l) => l.event === "batch-size").map((l) => l.to as number);
    expect(Math.min(...sizes), "batches shrank").to.be.lessThan(50);
    expect(outcome).to.deep.include({ ok: true, verdict: "healthy", stopped: "signal" });
    expect(outcome.blocks).to.deep.equal({ analysed: head - 1 - promoted!, due: head - 1 - promoted! });
    // Smaller batches change how the chain is read, never what is learnt from it.
    const reference = await cleanCopy(w, store, "lossy");
    await monitorRelease({ provider: monitorProvider(w.node.url), store: reference, chainId: w.chainId, releaseId: "lossy", config, once: true, log: memoryLog().log });
    expect(await learnt(store, w.chainId, "lossy")).to.deep.equal(await learnt(reference, w.chainId, "lossy"));
  });
});
