/**
 * Following the chain for real, against a separate Hardhat node: RPC faults
 * (dropped, delayed and failed requests through a faulty JSON-RPC proxy),
 * a crash, a stop and two restarts. Each ends with exactly what a clean,
 * uninterrupted pass over the same blocks learns.
 */
import { expect } from "chai";

import { readCheckpoint } from "../../src/monitor/checkpoint.js";
import { monitorRelease } from "../../src/monitor/monitor-release.js";
import type { MonitorLog } from "../../src/monitor/json-log.js";
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

const TICK = "0x3eaf5d9f";

describe("bg:monitor following a separate Hardhat node through faults and restarts", function () {
  let w: MonitorWorld;

  before(async function () {
    w = await startWorld(3);
  });
  after(async () => w?.stop());

  /** A clean, uninterrupted --once pass over the same chain, in its own records folder. */
  async function reference(from: Awaited<ReturnType<typeof releaseStore>>, id: string) {
    const clean = await cleanCopy(w, from, id);
    const outcome = await monitorRelease({ provider: monitorProvider(w.node.url), store: clean, chainId: w.chainId, releaseId: id, config: testConfig(), once: true, log: memoryLog().log });
    return { outcome, learnt: await learnt(clean, w.chainId, id) };
  }

  it("survives a JSON-RPC proxy that drops, delays and fails requests: no crash, no wrongful rollback, the same analysis as a clean run", async function () {
    const proxy = w.proxies[1]!;
    const green = await deployGreen(w, "MonitorMeterV2");
    const store = await releaseStore(w, green, "MonitorMeterV2", { id: "faults", proxy });
    await tick(w, 3, { proxy });
    await promote(w, green, [proxy]);
    await markLive(store, w, "faults");

    // Delays outlast the monitor's per-request timeout, so they are timeouts to it.
    const faulty = await startFaultProxy(w.node.url, [
      { fault: "drop", every: 4 },
      { fault: 503, every: 9 },
      { fault: "delay", every: 7, delayMs: 1_000 },
    ]);
    const { log, lines } = memoryLog();
    const stop = new AbortController();
    const running = monitorRelease({
      provider: monitorProvider(faulty.url),
      store,
      chainId: w.chainId,
      releaseId: "faults",
      config: testConfig({ rpc: { timeout: "500ms", attempts: 3, backoff: "50ms", maxBackoff: "300ms" } }),
      autoRollback: { guardian: w.guardian },
      durationSeconds: 240,
      log,
      signal: stop.signal,
    });
    running.catch(() => {});
    try {
      expect(await tick(w, 6, { proxy })).to.deep.equal({ ok: 6, reverted: 0 });
      expect(await tick(w, 2, { proxy, through: "router" })).to.deep.equal({ ok: 2, reverted: 0 });
      await mine(w, 2);
      const head = await w.provider.getBlockNumber();
      await until(async () => ((await readCheckpoint(store, w.chainId, "faults"))?.tip?.n ?? 0) >= head - 1, 180_000, "the monitor to catch up through the faults");
    } finally {
      stop.abort();
    }
    const outcome = await running;
    await faulty.close();

    expect(faulty.counts.dropped, "requests dropped").to.be.greaterThan(0);
    expect(faulty.counts.delayed, "requests delayed past the timeout").to.be.greaterThan(0);
    expect(faulty.counts.http503, "requests answered 503").to.be.greaterThan(0);
    expect(lines.filter((l) => l.event === "rpc-retry").length).to.be.greaterThan(0);
    expect(outcome, JSON.stringify({ verdict: outcome.verdict, blocks: outcome.blocks, steps: lines.filter((l) => l.event === "step-failed").length })).to.deep.include({ ok: true, verdict: "healthy", stopped: "signal" });
    expect(lines.filter((l) => /^rollback|rolled-back|analysis-failed/.test(l.event))).to.deep.equal([]);
    expect(Number((await w.sw.getFunction("proxyState")(proxy)).status)).to.equal(1);

    const mine_ = await learnt(store, w.chainId, "faults");
    const clean = await reference(store, "faults");
    expect(mine_).to.deep.equal(clean.learnt);
    const p = proxy.toLowerCase();
    expect(mine_.totals.calls).to.deep.equal({ [`${p}|${TICK}|direct|success`]: 6, [`${p}|internal|internal|success`]: 2 });
  });

  it("resumes from its checkpoint after a crash and after a stop, counting every block exactly once", async function () {
    const proxy = w.proxies[2]!;
    const green = await deployGreen(w, "MonitorMeterV2");
    const store = await releaseStore(w, green, "MonitorMeterV2", { id: "restart", proxy });
    await tick(w, 2, { proxy });
    const [promotedBlock] = await promote(w, green, [proxy]);
    await markLive(store, w, "restart");
    await tick(w, 8, { proxy });
    await mine(w, 1);

    // 1. A crash in the middle of the second batch of green blocks: its blocks were read and counted
    // in memory, then the process dies before the checkpoint is written (simulated by a throwing log).
    const plain = monitorProvider(w.node.url);
    const crashingLog: MonitorLog = (_level, event, fields = {}) => {
      if (event === "measurement" && (fields.toBlock as number) > promotedBlock! + 4) throw new Error("simulated crash");
    };
    let crashed: unknown;
    try {
      await monitorRelease({ provider: plain, store, chainId: w.chainId, releaseId: "restart", config: testConfig(), once: true, log: crashingLog });
    } catch (error) {
      crashed = error;
    }
    expect((crashed as Error | undefined)?.message).to.equal("simulated crash");
    const afterCrash = await learnt(store, w.chainId, "restart");
    // The first batch (4 blocks after the promotion) was written; the crashed one left nothing.
    expect(afterCrash.tip).to.equal(promotedBlock! + 4);

    // 2. Restart, follow live traffic, then stop.
    const { log, lines } = memoryLog();
    const stop = new AbortController();
    const running = monitorRelease({ provider: plain, store, chainId: w.chainId, releaseId: "restart", config: testConfig(), log, signal: stop.signal, durationSeconds: 120 });
    running.catch(() => {});
    try {
      await tick(w, 3, { proxy });
      await tick(w, 1, { proxy, through: "router" });
      await mine(w, 1);
      const head = await w.provider.getBlockNumber();
      await until(async () => ((await readCheckpoint(store, w.chainId, "restart"))?.tip?.n ?? 0) >= head - 1, 60_000, "the restarted monitor to catch up");
    } finally {
      stop.abort();
    }
    await running;
    expect(lines.find((l) => l.event === "resumed")).to.deep.include({ fromBlock: promotedBlock! + 4 });

    // 3. More traffic while stopped, then a --once pass from the checkpoint.
    await tick(w, 2, { proxy });
    await mine(w, 1);
    const last = await monitorRelease({ provider: plain, store, chainId: w.chainId, releaseId: "restart", config: testConfig(), once: true, log: memoryLog().log });
    expect(last).to.deep.include({ ok: true, verdict: "healthy", stopped: "once" });

    const mine_ = await learnt(store, w.chainId, "restart");
    const clean = await reference(store, "restart");
    expect(mine_).to.deep.equal(clean.learnt);
    const p = proxy.toLowerCase();
    expect(mine_.totals.calls).to.deep.equal({ [`${p}|${TICK}|direct|success`]: 8 + 3 + 2, [`${p}|internal|internal|success`]: 1 });
    expect(mine_.totals.events).to.deep.equal({ [`${p}|${w.meter.getEvent("Ticked")!.topicHash}`]: 14 });
  });
});
