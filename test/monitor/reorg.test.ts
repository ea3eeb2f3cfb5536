/**
 * A reorg on a separate Hardhat node (evm_snapshot / evm_revert, then other
 * blocks at the same heights): the monitor notices that a processed block's
 * hash changed, rolls its counts and measurements back to the fork point,
 * and ends with what a clean pass over the new chain learns.
 *
 * A reorg can also remove the monitor's own rollback transaction: the switch
 * is back at `live`, and the record and bg:status must say so; whether the
 * rollback is sent again is for the analysis of the new chain to decide.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { readCheckpoint } from "../../src/monitor/checkpoint.js";
import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { orphanedNote } from "../../src/monitor/orphaned-rollback.js";
import type { ReleaseStore } from "../../src/release/store.js";
import { onlyJson, runHardhat } from "../helpers/cli.js";
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
} from "./world.js";

const TICK = "0x3eaf5d9f";

describe("bg:monitor across a reorg on a separate Hardhat node", function () {
  let w: MonitorWorld;

  before(async function () {
    w = await startWorld(3);
  });

  /** `bg:status --json` from the command line, on this node and these records. */
  async function statusCli(store: ReleaseStore, release: string) {
    const scratch = await mkdtemp(path.join(tmpdir(), "bg-monitor-reorg-cli-"));
    const run = await runHardhat(["--config", path.join("test", "monitor", "cli-project", "hardhat.config.ts"), "--network", "localMainnet", "bg:status", "--release", release, "--json"], {
      BLUEGREEN_RPC_URL: w.node.url,
      BG_TEST_CACHE: path.join(scratch, "cache"),
      BG_TEST_ARTIFACTS: path.join(scratch, "artifacts"),
      BG_TEST_RECORDS: store.root,
    });
    return { code: run.code, doc: onlyJson(run) };
  }

  const status = async (proxy: string) => Number((await w.sw.getFunction("proxyState")(proxy)).status);
  after(async () => w?.stop());

  it("rolls back the counts and measurements of orphaned blocks and re-reads the new ones", async function () {
    const proxy = w.proxies[0]!;
    const green = await deployGreen(w, "MonitorMeterV2");
    const store = await releaseStore(w, green, "MonitorMeterV2", { id: "reorg", proxy });
    await tick(w, 2);
    await promote(w, green);
    await markLive(store, w, "reorg");
    const config = testConfig({ confirmations: 0 });
    const run = (log = memoryLog()) =>
      monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "reorg", config, once: true, log: log.log });

    const fork = await w.provider.getBlockNumber();
    const snapshot = await w.provider.send("evm_snapshot", []);
    await tick(w, 5);
    await run();
    const before = await learnt(store, w.chainId, "reorg");
    expect(before.tip).to.equal(fork + 5);
    expect(before.totals.calls).to.deep.equal({ [`${proxy.toLowerCase()}|${TICK}|direct|success`]: 5 });

    // The five blocks are orphaned; the new chain has other traffic at the same heights and beyond.
    await w.provider.send("evm_revert", [snapshot]);
    await tick(w, 2, { through: "router" });
    await tick(w, 4);
    await mine(w, 1);
    const log = memoryLog();
    const outcome = await run(log);
    expect(outcome.ok).to.equal(true);
    expect(log.lines.find((l) => l.event === "reorg")).to.deep.include({ forkBlock: fork, rolledBack: 5 });

    const after = await learnt(store, w.chainId, "reorg");
    expect(after.totals.calls).to.deep.equal({ [`${proxy.toLowerCase()}|${TICK}|direct|success`]: 4, [`${proxy.toLowerCase()}|internal|internal|success`]: 2 });
    const clean = await cleanCopy(w, store, "reorg");
    await monitorRelease({ provider: monitorProvider(w.node.url), store: clean, chainId: w.chainId, releaseId: "reorg", config, once: true, log: memoryLog().log });
    expect(after).to.deep.equal(await learnt(clean, w.chainId, "reorg"));
  });

  it("a reorg that removes the monitor's own rollback: bg:status reconciles the record and reports it; the new chain is healthy, so nothing is sent again", async function () {
    const proxy = w.proxies[1]!;
    const green = await deployGreen(w, "MonitorMeterV2Breaking");
    const store = await releaseStore(w, green, "MonitorMeterV2Breaking", { id: "orphan-healthy", proxy });
    await tick(w, 2, { proxy });
    await promote(w, green, [proxy]);
    await markLive(store, w, "orphan-healthy");
    const config = testConfig({ probes: [] });
    const run = (log = memoryLog()) =>
      monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "orphan-healthy", config, once: true, autoRollback: { guardian: w.guardian }, log: log.log });

    // The failing traffic and the rollback the monitor schedules for it are on a branch the reorg removes.
    const snapshot = await w.provider.send("evm_snapshot", []);
    expect(await tick(w, 6, { proxy })).to.deep.equal({ ok: 3, reverted: 3 });
    await mine(w, 2);
    const first = await run();
    expect(first).to.deep.include({ ok: false, verdict: "rolling-back" });
    const scheduleTx = first.autoRollback!.scheduled[proxy.toLowerCase()]!.txHash!;
    expect((await store.get(w.chainId, "orphan-healthy")).state).to.equal("rollback-scheduled");
    expect(await status(proxy)).to.equal(2);

    await w.provider.send("evm_revert", [snapshot]);
    await mine(w, 12);
    expect(await status(proxy), "the reorg undid the schedule").to.equal(1);
    expect(await w.provider.getTransactionReceipt(scheduleTx)).to.equal(null);

    const shown = await statusCli(store, "orphan-healthy");
    expect(shown.code, "drift makes bg:status fail").to.equal(1);
    const release = shown.doc.releases[0];
    expect(release.state, "the record follows the switch").to.equal("live");
    expect(release.drift).to.deep.equal([
      {
        field: "state",
        recorded: "rollback-scheduled",
        onChain: "live",
        reconciled: { from: "rollback-scheduled", to: "live" },
        message:
          `The record said rollback-scheduled, but the switch says live: the rollback transaction ${scheduleTx} is no longer on chain (a reorg removed it). ` +
          "bg:status moved the record back to live. If the rollback is still wanted, run bg:monitor --auto-rollback (its analysis of the new chain decides) " +
          "or schedule it again with bg:rollback.",
      },
    ]);
    const record = await store.get(w.chainId, "orphan-healthy");
    expect(record.history.map((h) => [h.state, h.actor])).to.deep.equal([
      ["staged", "test"],
      ["proposed", "test"],
      ["live", "test"],
      ["rollback-scheduled", await w.guardian.getAddress()],
      ["live", "bg:status"],
    ]);
    expect(record.history[4]!.note).to.equal(orphanedNote(scheduleTx));
    expect(record.steps.rollback).to.not.have.property("scheduleTx");

    // The monitor forgets its orphaned rollback; on the new chain green served no failing call, so it schedules nothing.
    const log = memoryLog();
    const second = await run(log);
    expect(second).to.deep.include({ ok: true, verdict: "healthy" });
    expect(second.blocks.analysed).to.equal(second.blocks.due);
    expect(second.autoRollback).to.equal(undefined);
    expect(log.lines.filter((l) => l.event === "rollback-orphaned").map((l) => l.txHash)).to.deep.equal([scheduleTx]);
    expect(log.lines.filter((l) => l.event === "reorg")).to.have.length(1);
    expect(log.lines.filter((l) => /^rollback-schedul/.test(l.event))).to.deep.equal([]);
    expect(await status(proxy)).to.equal(1);
    expect((await readCheckpoint(store, w.chainId, "orphan-healthy"))!.autoRollback).to.equal(undefined);
    expect((await statusCli(store, "orphan-healthy")).doc.releases[0].drift, "in sync again").to.deep.equal([]);
  });

  it("a reorg that removes the monitor's own rollback while the failure still holds on the new chain: the record goes back to live, then the analysis schedules it again", async function () {
    const proxy = w.proxies[2]!;
    const green = await deployGreen(w, "MonitorMeterV2Breaking");
    const store = await releaseStore(w, green, "MonitorMeterV2Breaking", { id: "orphan-failing", proxy });
    await tick(w, 2, { proxy });
    await promote(w, green, [proxy]);
    await markLive(store, w, "orphan-failing");
    expect(await tick(w, 6, { proxy })).to.deep.equal({ ok: 3, reverted: 3 });
    await mine(w, 2);
    const config = testConfig({ probes: [] });
    const run = (log = memoryLog()) =>
      monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "orphan-failing", config, once: true, autoRollback: { guardian: w.guardian }, log: log.log });

    // Only the rollback transaction is on the removed branch: the failing traffic stays on the chain.
    const snapshot = await w.provider.send("evm_snapshot", []);
    const first = await run();
    const orphaned = first.autoRollback!.scheduled[proxy.toLowerCase()]!.txHash!;
    await w.provider.send("evm_revert", [snapshot]);
    await mine(w, 3);
    expect(await status(proxy)).to.equal(1);

    const log = memoryLog();
    const second = await run(log);
    expect(second).to.deep.include({ ok: false, verdict: "rolling-back" });
    expect(second.reconciled).to.deep.equal([{ proxy, from: "rollback-scheduled", to: "live", reason: "rollback-orphaned", txHash: orphaned }]);
    const events = log.lines.map((l) => l.event);
    expect(events.indexOf("rollback-orphaned")).to.be.lessThan(events.indexOf("rollback-scheduled"));
    const again = second.autoRollback!.scheduled[proxy.toLowerCase()]!.txHash!;
    expect(again).to.not.equal(orphaned);
    expect(await status(proxy)).to.equal(2);

    const record = await store.get(w.chainId, "orphan-failing");
    expect(record.history.slice(3).map((h) => [h.state, h.note?.startsWith("reconciled") ?? false])).to.deep.equal([
      ["rollback-scheduled", false],
      ["live", true],
      ["rollback-scheduled", false],
    ]);
    expect(record.history[4]!.note).to.equal(orphanedNote(orphaned));
    expect(record.steps.rollback).to.deep.include({ scheduleTx: again });
    expect((await statusCli(store, "orphan-failing")).doc.releases[0].drift).to.deep.equal([]);
  });
});
