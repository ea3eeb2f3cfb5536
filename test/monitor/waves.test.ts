/**
 * Waves: planning a fleet into waves, and the decision "may wave N be
 * promoted now?" against a real switch on a separate Hardhat node, with the
 * monitor's analysis of the previous wave in the record.
 */
import { expect } from "chai";
import { getAddress } from "ethers";

import { type WavesConfig, resolveWavesConfig } from "../../src/waves/config.js";
import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { readMonitorStep } from "../../src/monitor/monitor-step.js";
import { readProxyRelease } from "../../src/switch/read-switch.js";
import { mayPromoteWave } from "../../src/waves/may-promote-wave.js";
import { planWaves, recordWavePlan } from "../../src/waves/plan-waves.js";
import { readWaveFacts } from "../../src/waves/wave-facts.js";
import { readWavesStep, recordWavePromotion } from "../../src/waves/waves-step.js";
import { wavesStatus } from "../../src/waves/waves-status.js";
import { type MonitorWorld, deployGreen, increaseTime, markLive, memoryLog, mine, monitorProvider, promote, releaseStore, startWorld, testConfig, tick } from "./world.js";

const A = (n: number) => getAddress("0x" + n.toString(16).padStart(40, "0"));

describe("waves: planning a fleet", function () {
  const waves = (list: Array<{ name: string; proxies: number | string | string[]; bake: string | number }>): WavesConfig =>
    resolveWavesConfig({ waves: list as never }, undefined)!;

  it("takes a count, then cumulative percentages (rounded up), then the rest", function () {
    const fleet = Array.from({ length: 10 }, (_, i) => A(i + 1));
    const plan = planWaves(fleet, waves([{ name: "canary", proxies: 1, bake: "24h" }, { name: "quarter", proxies: "25%", bake: "24h" }, { name: "all", proxies: "100%", bake: "48h" }]));
    expect(plan.map((w) => [w.name, w.proxies.length, w.bakeSeconds])).to.deep.equal([
      ["canary", 1, 86400],
      ["quarter", 2, 86400],
      ["all", 7, 172800],
    ]);
    expect(plan.flatMap((w) => w.proxies)).to.deep.equal(fleet);
  });

  it("picks named proxies, and refuses plans that leave proxies out or add none", function () {
    const fleet = [A(1), A(2), A(3)];
    const plan = planWaves(fleet, waves([{ name: "pick", proxies: [A(3).toLowerCase()], bake: 0 }, { name: "rest", proxies: "100%", bake: 0 }]));
    expect(plan.map((w) => w.proxies)).to.deep.equal([[A(3)], [A(1), A(2)]]);
    expect(() => planWaves(fleet, waves([{ name: "canary", proxies: 1, bake: 0 }, { name: "half", proxies: "50%", bake: 0 }]))).to.throw(/leave 1 of the fleet's 3 proxies unpromoted/);
    expect(() => planWaves(fleet, waves([{ name: "all", proxies: "100%", bake: 0 }, { name: "more", proxies: 1, bake: 0 }]))).to.throw(/Wave "more" would promote no proxy/);
    expect(() => planWaves([A(1), A(1)], waves([{ name: "all", proxies: "100%", bake: 0 }]))).to.throw(/listed twice/);
    expect(() => planWaves(fleet, waves([{ name: "x", proxies: [A(9)], bake: 0 }, { name: "all", proxies: "100%", bake: 0 }]))).to.throw(/not in the release's fleet/);
  });
});

describe("waves against a real switch on a separate Hardhat node", function () {
  let w: MonitorWorld;

  before(async function () {
    w = await startWorld(3);
  });
  after(async () => w?.stop());

  it("refuses the second wave while the first bakes (unless the approver overrides, which is recorded) and allows it once baked healthy", async function () {
    const config = resolveWavesConfig(
      {
        waves: [
          { name: "canary", proxies: 1, bake: "10m" },
          { name: "half", proxies: "50%", bake: "1h", analysis: { metrics: [{ name: "half-reverts", kind: "revertRate", failureCondition: "result > 0.5" }], probes: [] } },
          { name: "all", proxies: "100%", bake: "1h" },
        ],
      },
      { interval: "2 blocks" },
    )!;
    const green = await deployGreen(w, "MonitorMeterV2");
    const store = await releaseStore(w, green, "MonitorMeterV2", { id: "fleet" });
    let record = await store.get(w.chainId, "fleet");
    const facts = await Promise.all(w.proxies.map((p) => readProxyRelease(w.provider, w.switchAddress, p)));
    ({ record } = await recordWavePlan(store, record, w.proxies, config, facts));
    expect(readWavesStep(record)!.waves.map((x) => [x.name, x.proxies])).to.deep.equal([
      ["canary", [w.proxies[0]]],
      ["half", [w.proxies[1]]],
      ["all", [w.proxies[2]]],
    ]);
    await tick(w, 3, { proxy: w.proxies[0]! });

    // Wave 1: the canary.
    const first = mayPromoteWave(record, await readWaveFacts(monitorProvider(w.node.url), w.switchAddress, record), { wave: "canary" });
    expect(first).to.deep.include({ allowed: true, overridden: false, proxies: [w.proxies[0]] });
    const [canaryBlock] = await promote(w, green, [w.proxies[0]!]);
    await markLive(store, w, "fleet");
    await recordWavePromotion(store, w.chainId, "fleet", { wave: "canary", proxies: [w.proxies[0]!], blockNumber: canaryBlock!, by: await w.approver.getAddress(), at: new Date().toISOString() });

    const decide = async (wave: string, override?: { by: string; reason: string }) => {
      const r = await store.get(w.chainId, "fleet");
      return mayPromoteWave(r, await readWaveFacts(monitorProvider(w.node.url), w.switchAddress, r), { wave, ...(override !== undefined ? { override } : {}) });
    };
    const monitorOnce = () =>
      monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "fleet", config: testConfig({ probes: [] }), waves: config, once: true, log: memoryLog().log });

    // Right after the canary: baking, and not analysed yet.
    let next = await decide("half");
    expect(next.allowed).to.equal(false);
    expect(next.refusals.map((r) => r.kind)).to.deep.equal(["baking", "no-analysis"]);
    expect(next.refusals.every((r) => r.overridable)).to.equal(true);
    // Waves go in order: the last one cannot jump the queue, override or not.
    const skip = await decide("all", { by: "approver", reason: "in a hurry" });
    expect(skip.allowed).to.equal(false);
    expect(skip.refusals.map((r) => [r.kind, r.overridable])).to.deep.equal([["previous-not-promoted", false]]);
    expect((await decide("canary", { by: "approver", reason: "again" })).refusals.map((r) => r.kind)).to.deep.equal(["already-promoted"]);

    // Healthy canary traffic, analysed by the monitor, but the bake is not over.
    await tick(w, 4, { proxy: w.proxies[0]! });
    await mine(w, 2);
    expect((await monitorOnce()).runs.map((r) => [r.wave, r.phase])).to.deep.equal([["canary", "Running"]]);
    next = await decide("half");
    expect(next.refusals.map((r) => r.kind)).to.deep.equal(["baking", "analysis-behind"]);
    expect(next.previous).to.deep.include({ wave: "canary", analysisPhase: "Running" });

    // The approver may override, and the override says what it bypassed.
    const overridden = await decide("half", { by: await w.approver.getAddress(), reason: "security fix, canary looks fine" });
    expect(overridden).to.deep.include({ allowed: true, overridden: true, proxies: [w.proxies[1]] });
    expect(overridden.override).to.deep.include({ by: await w.approver.getAddress(), reason: "security fix, canary looks fine" });
    expect(overridden.override!.refusals[0]).to.match(/Wave "canary" is still baking until/);

    // Ten minutes of chain time later, with the monitor caught up past the bake: allowed without override.
    await increaseTime(w, 601);
    await tick(w, 2, { proxy: w.proxies[0]! });
    await mine(w, 2);
    await monitorOnce();
    next = await decide("half");
    expect(next.refusals).to.deep.equal([]);
    expect(next).to.deep.include({ allowed: true, overridden: false, proxies: [w.proxies[1]] });

    // Wave 2 goes live, with its own analysis.
    const [halfBlock] = await promote(w, green, [w.proxies[1]!]);
    await recordWavePromotion(store, w.chainId, "fleet", { wave: "half", proxies: [w.proxies[1]!], blockNumber: halfBlock!, by: await w.approver.getAddress(), at: new Date().toISOString() });
    await tick(w, 2, { proxy: w.proxies[1]! });
    await mine(w, 2);
    const outcome = await monitorOnce();
    expect(outcome.runs.map((r) => [r.wave, Object.keys(r.metrics).sort()])).to.deep.equal([
      ["canary", ["gas-p95", "requests", "revert-rate", "ticks"]],
      ["half", ["half-reverts"]],
    ]);
    expect((await decide("all")).refusals.map((r) => r.kind)).to.include("baking");

    // The last wave goes early on the approver's override, which stays in the record.
    const early = await decide("all", { by: await w.approver.getAddress(), reason: "incident: roll the fix to everyone" });
    expect(early).to.deep.include({ allowed: true, overridden: true });
    const [allBlock] = await promote(w, green, early.proxies);
    await recordWavePromotion(store, w.chainId, "fleet", { wave: "all", proxies: early.proxies, blockNumber: allBlock!, by: await w.approver.getAddress(), at: new Date().toISOString(), override: early.override! });
    const promotions = readWavesStep(await store.get(w.chainId, "fleet"))!.promotions;
    expect(promotions.map((p) => [p.wave, p.override?.reason])).to.deep.equal([
      ["canary", undefined],
      ["half", undefined],
      ["all", "incident: roll the fix to everyone"],
    ]);
    expect(promotions[2]!.override!.refusals.join(" ")).to.match(/Wave "half" is still baking/);

    record = await store.get(w.chainId, "fleet");
    expect(Object.keys(readMonitorStep(record)!.runs)).to.deep.equal(["canary", "half"]);
    const status = wavesStatus(record, await readWaveFacts(monitorProvider(w.node.url), w.switchAddress, record));
    expect(status.map((s) => [s.name, s.live, s.state, s.analysis])).to.deep.equal([
      ["canary", 1, "baked", "Running"],
      ["half", 1, "baking", "Running"],
      ["all", 1, "baking", undefined],
    ]);
    expect(status[2]!.override?.reason).to.equal("incident: roll the fix to everyone");
  });
});
