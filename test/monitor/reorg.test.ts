/**
 * A reorg on a separate Hardhat node (evm_snapshot / evm_revert, then other
 * blocks at the same heights): the monitor notices that a processed block's
 * hash changed, rolls its counts and measurements back to the fork point,
 * and ends with what a clean pass over the new chain learns.
 */
import { expect } from "chai";

import { monitorRelease } from "../../src/monitor/monitor-release.js";
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
    w = await startWorld(1);
  });
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
});
