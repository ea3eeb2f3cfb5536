/**
 * bg:status over two wave releases of one fleet, as a user ran them: three
 * TransparentUpgradeableProxy markets of one implementation, adopted by a
 * switch whose approver is a 2-of-3 Safe, planned "canary" (market 0) then
 * "rest" (markets 1 and 2).
 *
 * - markets-v2 (V1 → V2) ships in both waves and is finalized;
 * - markets-v3 (V2 → V3) goes out as its canary on market 0 and the
 *   monitor's auto-rollback returns market 0 to V2 (markets-v2's green).
 *
 * The switch keeps one record per proxy, its latest release: market 0's is
 * markets-v3's now. markets-v2 is in sync there (superseded by markets-v3, a
 * note), not drift; so it is while a later release stays live on one of its
 * proxies. A proxy moved outside the switch, or a wave recorded live that
 * the switch never promoted, is still drift.
 */
import { expect } from "chai";
import { getAddress, keccak256, zeroPadValue } from "ethers";

import { finalizeRelease } from "../../src/approval/release-window.js";
import { approveWave, proposeWave, switchWave } from "../../src/approval/wave-switch.js";
import { gateResult } from "../../src/gates/gate-result.js";
import { recordGatesRun } from "../../src/gates/gates-step.js";
import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { readProxyRelease } from "../../src/switch/read-switch.js";
import { releaseStatus } from "../../src/status/release-status.js";
import { renderStatus, statusJson } from "../../src/ui/release-view.js";
import { recordWavePlan } from "../../src/waves/plan-waves.js";
import { readWavesStep, withWavesStep } from "../../src/waves/waves-step.js";
import { type FleetRelease, WAVES, type WaveWorld, fleetRelease, startWaveWorld } from "../approval/wave-world.js";
import { ROLLBACK_DELAY, deployGreen, increaseTime, memoryLog, mine, monitorProvider, releaseStore, testConfig, tick } from "../monitor/world.js";

const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
const WINDOW = 3600;

describe("bg:status over wave releases of one fleet (2-of-3 Safe approver)", function () {
  this.timeout(300_000);
  let ww: WaveWorld;
  let v2: FleetRelease | undefined;
  /** Set by the first test, which the second continues. */
  let v2RestTx = "";

  before(async () => {
    ww = await startWaveWorld(1);
  });
  after(async () => {
    await v2?.cleanup();
    await ww?.stop();
  });

  const eip1193 = () => ({ request: ({ method, params }: { method: string; params?: unknown[] | object }) => ww.w.provider.send(method, (params as unknown[]) ?? []) });
  const slot = async (proxy: string) => getAddress("0x" + (await ww.w.provider.getStorage(proxy, IMPLEMENTATION_SLOT)).slice(-40));
  const actor = "0x00000000000000000000000000000000000000aa";
  const status = async (r: FleetRelease) => {
    const view = await releaseStatus(eip1193(), r.store, r.store.root, undefined, { ethers: ww.w.provider });
    const json = statusJson(view, "hardhat-node");
    return { view, json, text: renderStatus(view, "hardhat-node"), byId: Object.fromEntries(json.releases.map((x) => [x.release, x])) };
  };
  /** Proposes, signs 2-of-3 and switches a wave. */
  const rollOut = async (r: { id: string; ctx: FleetRelease["ctx"] }, wave: string, override?: string) => {
    await proposeWave(r.ctx, r.id, { wave, actor, ...(override !== undefined ? { override: { reason: override } } : {}) });
    await approveWave(r.ctx, r.id, wave, { signer: ww.owners[0]! });
    await approveWave(r.ctx, r.id, wave, { signer: ww.owners[1]! });
    const switched = await switchWave(r.ctx, r.id, wave, { executor: ww.w.deployer });
    if (switched.status !== "live") throw new Error(`expected wave ${wave} of ${r.id} live`);
    return switched.txHash!;
  };
  /** Moves a proxy's implementation slot outside the switch (as a compromised admin would), for the duration of `check`. */
  const movedOutside = async (proxy: string, to: string, check: () => Promise<void>) => {
    const snapshot = await ww.w.provider.send("evm_snapshot", []);
    try {
      await ww.w.provider.send("hardhat_setStorageAt", [proxy, IMPLEMENTATION_SLOT, zeroPadValue(to, 32)]);
      await check();
    } finally {
      await ww.w.provider.send("evm_revert", [snapshot]);
    }
  };

  /** A release of `green` over markets-v2's fleet, staged against markets-v2's green (V2), gated and planned into the same waves. */
  const laterRelease = async (id: string, green: string, kind: "MonitorMeterV2" | "MonitorMeterV2Breaking") => {
    const r = v2!;
    await releaseStore(ww.w, green, kind, { id, proxy: r.fleet[0]!, store: r.store });
    const staged = await r.store.get(ww.w.chainId, id);
    const onV2 = { ...staged, blue: { address: r.green, codehash: keccak256(await ww.w.provider.getCode(r.green)) } };
    await r.store.update(ww.w.chainId, id, () => onV2);
    const gated = (await recordGatesRun(r.store, onV2, [gateResult("safety", "pass", true, "upgrade-safe both ways", { evidence: { checked: true } })], { actor: "test" })).record;
    const facts = await Promise.all(r.fleet.map((p) => readProxyRelease(ww.w.provider, ww.w.switchAddress, p)));
    await recordWavePlan(r.store, gated, r.fleet, WAVES, facts);
    return { id, ctx: r.ctx };
  };

  it("a finalized wave release whose canary a later release promoted and rolled back is in sync (superseded), and an out-of-switch move is still drift", async () => {
    // markets-v2 (V1 → V2): canary, then the rest on the approver's override, then finalized.
    v2 = await fleetRelease(ww, ww.fleets[0]!, "markets-v2");
    const [m0, m1, m2] = v2.fleet as [string, string, string];
    await tick(ww.w, 4, { proxy: m0 });
    const v2Canary = await rollOut(v2, "canary");
    v2RestTx = await rollOut(v2, "rest", "the canary looks fine");
    await increaseTime(ww.w, WINDOW + 1);
    // bg:finalize closes every wave batch of the release (the rest wave's proxies finalize together).
    expect(await finalizeRelease(v2.ctx, v2.id, { signer: ww.w.deployer })).to.deep.include({ status: "done", state: "finalized" });
    for (const p of [m0, m1, m2]) expect((await readProxyRelease(ww.w.provider, ww.w.switchAddress, p)).status).to.equal("finalized");

    const before = await status(v2);
    expect(before.json.ok, before.text).to.equal(true);

    // markets-v3 (V2 → V3) in the same records folder: its blue is markets-v2's green.
    const green3 = await deployGreen(ww.w, "MonitorMeterV2Breaking");
    const v3 = await laterRelease("markets-v3", green3, "MonitorMeterV2Breaking");

    // Its canary goes out on market 0, starts reverting, and the monitor's auto-rollback returns market 0 to V2.
    const v3Canary = await rollOut(v3, "canary");
    expect(await slot(m0)).to.equal(green3);
    await tick(ww.w, 3, { proxy: m0 });
    expect(await tick(ww.w, 4, { proxy: m0 })).to.deep.equal({ ok: 0, reverted: 4 });
    await mine(ww.w, 2);
    const monitorOnce = () =>
      monitorRelease({
        provider: monitorProvider(ww.w.node.url),
        store: v2!.store,
        chainId: ww.w.chainId,
        releaseId: "markets-v3",
        config: testConfig({ probes: [] }),
        waves: WAVES,
        autoRollback: { guardian: ww.w.guardian },
        once: true,
        log: memoryLog().log,
      });
    await monitorOnce();
    expect((await readProxyRelease(ww.w.provider, ww.w.switchAddress, m0)).status).to.equal("rollback-scheduled");
    await increaseTime(ww.w, ROLLBACK_DELAY + 1);
    await monitorOnce();
    expect((await v2.store.get(ww.w.chainId, "markets-v3")).state).to.equal("rolled-back");
    expect(await slot(m0)).to.equal(v2.green);
    const m0OnSwitch = await readProxyRelease(ww.w.provider, ww.w.switchAddress, m0);
    expect(m0OnSwitch).to.deep.include({ status: "rolled-back", green: green3, implementation: v2.green });

    // bg:status: both in sync; markets-v2 superseded on market 0 by markets-v3, whose rollback returned it to V2.
    const { json, text, byId } = await status(v2);
    for (const r of json.releases) expect(r.drift, `${r.release}: ${JSON.stringify(r.drift)}`).to.deep.equal([]);
    expect(json.ok, text).to.equal(true);
    expect(byId["markets-v2"]).to.include({ state: "finalized" });
    expect(byId["markets-v2"]!.notes).to.deep.equal([
      {
        kind: "superseded",
        by: "markets-v3",
        txHash: v3Canary,
        message:
          `superseded by release markets-v3 (tx ${v3Canary}): the switch's latest release of proxy ${m0} is green ${green3} (rolled-back); ` +
          "this release was finalized before it. Nothing to do.",
      },
    ]);
    expect(text).to.include("superseded by release markets-v3").and.not.match(/drift in markets-v2|outside the switch/);
    // markets-v2's waves stay live where it was finalized: market 0 ran its green until markets-v3 (tx v2Canary).
    expect(byId["markets-v2"]!.waves!.waves.map((x) => [x.name, x.live, x.state])).to.deep.equal([
      ["canary", 1, "baked"],
      ["rest", 2, "baked"],
    ]);
    expect(byId["markets-v2"]!.waves!.next).to.equal(null);
    expect(v2Canary).to.not.equal(v3Canary);
    expect(byId["markets-v3"]).to.include({ state: "rolled-back" });
    expect(byId["markets-v3"]!.waves!.waves.map((x) => [x.name, x.live, x.state])).to.deep.equal([
      ["canary", 0, "rolled-back"],
      ["rest", 0, "pending"],
    ]);

    // Only markets-v2 asked for: markets-v3's record still explains it.
    const alone = await releaseStatus(eip1193(), v2.store, v2.store.root, "markets-v2", { ethers: ww.w.provider });
    expect(alone.releases[0]!.drift).to.deep.equal([]);
    expect(alone.releases[0]!.notes.map((n) => [n.kind, n.by])).to.deep.equal([["superseded", "markets-v3"]]);

    // Market 0 moved outside the switch: drift for both releases of it, and no "superseded" that hides it.
    const other = await deployGreen(ww.w, "MonitorMeterV2");
    await movedOutside(m0, other, async () => {
      const moved = await status(v2!);
      expect(moved.json.ok).to.equal(false);
      const d = moved.byId["markets-v2"]!.drift;
      expect(d.map((x) => x.field)).to.include("implementation");
      expect(d.find((x) => x.field === "implementation")!.message).to.include(`Proxy ${m0} (wave canary) runs ${other}`).and.include("outside the switch");
      expect(moved.byId["markets-v3"]!.drift.map((x) => x.field)).to.include("implementation");
    });
    // So is market 1, still markets-v2's on the switch (and in markets-v3's fleet).
    await movedOutside(m1, other, async () => {
      const moved = await status(v2!);
      expect(moved.json.ok).to.equal(false);
      for (const id of ["markets-v2", "markets-v3"]) {
        expect(moved.byId[id]!.drift.map((x) => x.message)).to.deep.equal([
          `Proxy ${m1} (wave rest) runs ${other}, but the switch tracks ${v2!.green}. Someone upgraded it outside the switch.`,
        ]);
      }
    });
  });

  it("a later release that stays live on a proxy of the finalized one supersedes it there; a wave recorded live that the switch never promoted is still drift", async () => {
    const r = v2!;
    const [m0, m1, m2] = r.fleet as [string, string, string];
    // markets-v4 (V2 → V4): its canary goes live on market 0 and stays live.
    const green4 = await deployGreen(ww.w, "MonitorMeterV2");
    const v4Canary = await rollOut(await laterRelease("markets-v4", green4, "MonitorMeterV2"), "canary");
    expect(await slot(m0)).to.equal(green4);

    const { json, text, byId } = await status(r);
    for (const x of json.releases) expect(x.drift, `${x.release}: ${JSON.stringify(x.drift)}`).to.deep.equal([]);
    expect(json.ok, text).to.equal(true);
    expect(byId["markets-v2"]!.notes).to.deep.equal([
      {
        kind: "superseded",
        by: "markets-v4",
        txHash: v4Canary,
        message:
          `superseded by release markets-v4 (tx ${v4Canary}): the switch's latest release of proxy ${m0} is green ${green4} (live); ` +
          "this release was finalized before it. Nothing to do.",
      },
    ]);
    // markets-v3, rolled back on market 0 before markets-v4 went out there: superseded too, its canary still rolled back.
    expect(byId["markets-v3"]!.notes!.map((n) => [n.kind, n.by])).to.deep.equal([["superseded", "markets-v4"]]);
    expect(byId["markets-v3"]!.notes![0]!.message).to.include("this release was rolled-back before it");
    expect(byId["markets-v3"]!.waves!.waves.map((x) => [x.name, x.live, x.state])).to.deep.equal([
      ["canary", 0, "rolled-back"],
      ["rest", 0, "pending"],
    ]);
    expect(byId["markets-v4"]).to.include({ state: "live" });
    expect(byId["markets-v4"]).to.not.have.property("notes");
    expect(byId["markets-v2"]!.waves!.waves.map((x) => [x.name, x.live])).to.deep.equal([
      ["canary", 1],
      ["rest", 2],
    ]);

    // markets-v3's record says its rest wave went live on markets 1 and 2 (in markets-v2's transaction): the switch never promoted its green there.
    const original = await r.store.get(ww.w.chainId, "markets-v3");
    const step = readWavesStep(original)!;
    const forged = withWavesStep(original, {
      ...step,
      promotions: [...step.promotions, { wave: "rest", proxies: [m1, m2], txHash: v2RestTx, by: actor, at: new Date().toISOString() }],
    });
    await r.store.update(ww.w.chainId, "markets-v3", () => forged);
    try {
      const claimed = await status(r);
      expect(claimed.json.ok).to.equal(false);
      expect(claimed.byId["markets-v3"]!.drift.map((d) => d.message)).to.deep.equal([
        `Wave rest is recorded live on proxy ${m1}, but the switch has no promotion of green there.`,
        `Wave rest is recorded live on proxy ${m2}, but the switch has no promotion of green there.`,
      ]);
      expect(claimed.byId["markets-v2"]!.drift).to.deep.equal([]);
    } finally {
      await r.store.update(ww.w.chainId, "markets-v3", () => original);
    }
    expect((await status(r)).json.ok).to.equal(true);
  });
});
