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
    w = await startWorld(1);
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
    const running = monitorRelease({
      provider: monitorProvider(w.node.url),
      store,
      chainId: w.chainId,
      releaseId: "meter-v2",
      config: testConfig({ probes: [] }),
      autoRollback: { guardian: w.guardian },
      durationSeconds: 120,
      log,
    });

    // Green serves three calls, then every call reverts.
    expect(await tick(w, 3)).to.deep.equal({ ok: 3, reverted: 0 });
    expect(await tick(w, 4)).to.deep.equal({ ok: 0, reverted: 4 });
    await mine(w, 2);

    await until(async () => Number((await w.sw.getFunction("proxyState")(w.proxies[0]!)).status) === 2, 60_000, "the rollback to be scheduled");
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
  });
});
