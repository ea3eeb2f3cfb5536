/**
 * The monitor against a separate Hardhat node with a real switch: a green
 * that starts reverting after a few calls is rolled back automatically
 * through the guardian path (scheduled, then executed once the delay has
 * passed in chain time), and the reason is logged and recorded.
 */
import { expect } from "chai";
import { getAddress } from "ethers";

import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { readMonitorStep } from "../../src/monitor/monitor-step.js";
import { readCheckpoint } from "../../src/monitor/checkpoint.js";
import {
  type MonitorWorld,
  ROLLBACK_DELAY,
  deployGreen,
  increaseTime,
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

const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";

describe("bg:monitor auto-rollback against a separate Hardhat node", function () {
  let w: MonitorWorld;

  before(async function () {
    w = await startWorld(3);
  });
  after(async () => w?.stop());

  it("schedules the rollback when green starts reverting, executes it once the delay passed, and records why", async function () {
    const green = await deployGreen(w, "MonitorMeterV2Breaking");
    const store = await releaseStore(w, green, "MonitorMeterV2Breaking");
    // Blue's traffic before the promotion: the baseline (no reverts).
    expect(await tick(w, 4)).to.deep.equal({ ok: 4, reverted: 0 });
    await promote(w, green);
    await markLive(store, w);

    const { log, lines } = memoryLog();
    const stop = new AbortController();
    const running = monitorRelease({
      provider: monitorProvider(w.node.url),
      store,
      chainId: w.chainId,
      releaseId: "meter-v2",
      config: testConfig({ probes: [] }),
      autoRollback: { guardian: w.guardian },
      durationSeconds: 120,
      log,
      signal: stop.signal,
    });
    running.catch(() => {});
    try {

    // Green serves three calls, then every call reverts.
    expect(await tick(w, 3)).to.deep.equal({ ok: 3, reverted: 0 });
    expect(await tick(w, 4)).to.deep.equal({ ok: 0, reverted: 4 });
    await mine(w, 2);

    // The chain shows the schedule as soon as it is mined; the monitor logs it once it has the receipt.
    await until(
      async () =>
        Number((await w.sw.getFunction("proxyState")(w.proxies[0]!)).status) === 2 && lines.some((l) => l.event === "rollback-scheduled"),
      60_000,
      "the rollback to be scheduled and logged",
    );
    const scheduled = lines.find((l) => l.event === "rollback-scheduled")!;
    expect(scheduled.reason).to.match(/analysis of release Failed: revert-rate: failed \(1\) > failureLimit \(0\)/);
    expect(await w.sw.getFunction("canExecuteRollback")(w.proxies[0]!)).to.equal(false);

    // The delay runs in chain time; once it has passed the monitor executes the rollback.
    await increaseTime(w, ROLLBACK_DELAY + 1);
    const outcome = await running;

    expect(outcome).to.deep.include({ ok: false, verdict: "rolled-back", stopped: "release-closed" });
    const implementation = getAddress("0x" + (await w.provider.getStorage(w.proxies[0]!, IMPLEMENTATION_SLOT)).slice(-40));
    expect(implementation).to.equal(w.blue);
    expect(Number((await w.sw.getFunction("proxyState")(w.proxies[0]!)).status)).to.equal(3);

    const record = await store.get(w.chainId, "meter-v2");
    expect(record.state).to.equal("rolled-back");
    expect(record.history.map((h) => h.state)).to.deep.equal(["staged", "proposed", "live", "rollback-scheduled", "rolled-back"]);
    expect(record.history[3]!.note).to.match(/^bg:monitor --auto-rollback: analysis of release Failed: revert-rate/);
    expect(record.steps.rollback).to.deep.include({ scheduledBy: await w.guardian.getAddress(), rolledBackBy: await w.guardian.getAddress(), implementation: w.blue });
    const step = readMonitorStep(record)!;
    expect(step.runs.release!.phase).to.equal("Failed");
    expect(step.autoRollback!.executed[w.proxies[0]!]).to.match(/^0x[0-9a-f]{64}$/);
    expect(lines.map((l) => l.event)).to.include.members(["analysis-failed", "rollback-scheduling", "rollback-scheduled", "rollback-executing", "rolled-back"]);
    // Blue's baseline came from the blocks before the promotion.
    expect(outcome.runs[0]!.baselineSource).to.match(/before the promotion/);
    } finally {
      stop.abort();
      await running.catch(() => {});
    }
  });

  it("pauses on an inconclusive analysis and alerts, rolls nothing back, and resumes only when acknowledged", async function () {
    const proxy = w.proxies[1]!;
    const green = await deployGreen(w, "MonitorMeterV2Breaking");
    const store = await releaseStore(w, green, "MonitorMeterV2Breaking", { id: "unsure", proxy });
    await tick(w, 2, { proxy });
    await promote(w, green, [proxy]);
    await markLive(store, w, "unsure");
    // Between the success and the failure thresholds: neither holds, so Argo calls it inconclusive.
    const config = testConfig({
      probes: [],
      metrics: [{ name: "revert-rate", kind: "revertRate", successCondition: "result < 0.1", failureCondition: "result > 0.6" }],
    });
    await tick(w, 3, { proxy }); // ok, ok, ok
    await tick(w, 1, { proxy }); // reverts: the window (ok, revert) has a revert rate of 0.5
    await mine(w, 1);
    const first = memoryLog();
    const run = (log: ReturnType<typeof memoryLog>, acknowledge?: boolean) =>
      monitorRelease({
        provider: monitorProvider(w.node.url),
        store,
        chainId: w.chainId,
        releaseId: "unsure",
        config,
        once: true,
        autoRollback: { guardian: w.guardian },
        ...(acknowledge === true ? { acknowledge: { reason: "looked at it: a client retried" } } : {}),
        log: log.log,
      });
    const paused = await run(first);
    expect(paused).to.deep.include({ ok: false, verdict: "paused" });
    expect(paused.runs[0]!.cause!.reason).to.match(/^inconclusive \(1\) > inconclusiveLimit \(0\); last: neither `result < 0.1` nor `result > 0.6` holds \(result 0.5/);
    expect(first.lines.find((l) => l.event === "analysis-paused")).to.deep.include({ level: "alert", wave: "release" });
    expect(first.lines.filter((l) => l.event.startsWith("rollback"))).to.deep.equal([]);
    expect(Number((await w.sw.getFunction("proxyState")(proxy)).status)).to.equal(1);

    // Run again without acknowledging: still paused, and the alert is not repeated.
    const again = memoryLog();
    expect((await run(again)).verdict).to.equal("paused");
    expect(again.lines.filter((l) => l.event === "analysis-paused")).to.deep.equal([]);

    // A person acknowledges: a new analysis starts after the last analysed block; all-revert traffic now fails it.
    await tick(w, 3, { proxy });
    await mine(w, 1);
    const resumed = memoryLog();
    const outcome = await run(resumed, true);
    expect(resumed.lines.find((l) => l.event === "analysis-acknowledged")).to.deep.include({ subject: "release", previousPhase: "Inconclusive" });
    expect(outcome.verdict).to.equal("rolling-back");
    const record = await store.get(w.chainId, "unsure");
    expect(readMonitorStep(record)!.acknowledgements).to.deep.equal([
      { subject: "release", phase: "Inconclusive", at: readMonitorStep(record)!.acknowledgements![0]!.at, block: paused.lastBlock!, reason: "looked at it: a client retried" },
    ]);
    expect(Number((await w.sw.getFunction("proxyState")(proxy)).status)).to.equal(2);
  });

  it("respects the approver's veto: a cancelled rollback is not scheduled again", async function () {
    const proxy = w.proxies[2]!;
    const green = await deployGreen(w, "MonitorMeterV2Breaking");
    const store = await releaseStore(w, green, "MonitorMeterV2Breaking", { id: "vetoed", proxy });
    await tick(w, 2, { proxy });
    await promote(w, green, [proxy]);
    await markLive(store, w, "vetoed");
    const { log, lines } = memoryLog();
    const stop = new AbortController();
    const running = monitorRelease({
      provider: monitorProvider(w.node.url),
      store,
      chainId: w.chainId,
      releaseId: "vetoed",
      config: testConfig({ probes: [] }),
      autoRollback: { guardian: w.guardian },
      durationSeconds: 120,
      log,
      signal: stop.signal,
    });
    running.catch(() => {});
    try {
      await tick(w, 6, { proxy });
      await mine(w, 2);
      await until(async () => Number((await w.sw.getFunction("proxyState")(proxy)).status) === 2, 60_000, "the rollback to be scheduled");
      await (await w.sw.getFunction("cancelRollback")(proxy)).wait();
      await tick(w, 2, { proxy });
      await mine(w, 2);
      await until(async () => lines.some((l) => l.event === "rollback-vetoed"), 60_000, "the monitor to notice the veto");
      const head = await w.provider.getBlockNumber();
      await until(async () => ((await readCheckpoint(store, w.chainId, "vetoed"))?.tip?.n ?? 0) >= head - 1, 60_000, "the monitor to catch up");
    } finally {
      stop.abort();
    }
    const outcome = await running;
    expect(outcome.verdict).to.equal("failed");
    expect(lines.filter((l) => l.event === "rollback-scheduled")).to.have.length(1);
    expect(Number((await w.sw.getFunction("proxyState")(proxy)).status)).to.equal(1);
    const record = await store.get(w.chainId, "vetoed");
    expect(readMonitorStep(record)!.autoRollback!.vetoed).to.deep.equal([proxy]);
    expect(record.history.map((h) => h.state)).to.deep.equal(["staged", "proposed", "live", "rollback-scheduled", "live"]);
    expect(record.history[4]!.note).to.match(/vetoed/);
  });
});
