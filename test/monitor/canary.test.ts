/**
 * The monitor's canary analysis on a separate Hardhat node: a real
 * CanaryRouter behind a real TransparentUpgradeableProxy, promoted through
 * the real switch, and generated callers. Green (a meter that reverts once
 * it ran three times) fails in its cohort while blue's cohort passes over
 * the same blocks; the verdict is failure with the judge's p-value, and
 * --auto-rollback puts the proxy back on exactly blue through the guardian.
 */
import { expect } from "chai";
import { ContractFactory, Wallet, ZeroHash, getAddress, keccak256, toUtf8Bytes } from "ethers";

import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { cohortCounts } from "../../src/monitor/canary-analysis.js";
import { readCheckpoint } from "../../src/monitor/checkpoint.js";
import { MonitorMetrics } from "../../src/monitor/prometheus.js";
import { cohortOf } from "../../src/switch/canary-cohort.js";
import { canaryRouterCodehash, loadCanaryRouterArtifact } from "../../src/switch/canary-router.js";
import { readArtifact } from "../helpers/box.js";
import {
  EVIDENCE,
  type MonitorWorld,
  ROLLBACK_DELAY,
  deployGreen,
  increaseTime,
  markLive,
  memoryLog,
  mine,
  monitorProvider,
  releaseStore,
  startWorld,
  testConfig,
} from "./world.js";

const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc";
const SALT = keccak256(toUtf8Bytes("meter-v2 canary"));
const BPS = 3000;

describe("bg:monitor canary analysis: green's cohort against blue's over the same blocks", function () {
  this.timeout(180_000);
  let w: MonitorWorld;

  before(async function () {
    w = await startWorld(1);
  });
  after(async () => w?.stop());

  /** Each caller sends one tick() to the proxy (its own block); returns who reverted. */
  async function callersTick(callers: string[]): Promise<Map<string, boolean>> {
    const reverted = new Map<string, boolean>();
    for (const from of callers) {
      await w.provider.send("hardhat_impersonateAccount", [from]);
      await w.provider.send("hardhat_setBalance", [from, "0x56bc75e2d63100000"]);
      try {
        await w.provider.send("eth_sendTransaction", [{ from, to: w.proxies[0], data: w.meter.encodeFunctionData("tick"), gas: "0x30d40" }]);
        reverted.set(from, false);
      } catch (error) {
        if (!/revert/i.test((error as Error).message)) throw error;
        reverted.set(from, true);
      }
    }
    return reverted;
  }

  it("fails green's cohort (revert rate and Mann–Whitney judge) while blue's passes, and rolls back to exactly blue", async function () {
    const green = await deployGreen(w, "MonitorMeterV2Breaking");
    // The router as the monitor knows it (the compiled router it loaded once): other tests of a long run
    // rebuild artifacts/ meanwhile, so the file read again here may come from another build.
    const routerArtifact = await readArtifact("contracts/canary/CanaryRouter.sol", "CanaryRouter");
    const { bytecode } = await loadCanaryRouterArtifact();
    const routerContract = await new ContractFactory(routerArtifact.abi, bytecode, w.deployer).deploy(w.blue, green, BPS, SALT, true);
    await routerContract.waitForDeployment();
    const router = getAddress(await routerContract.getAddress());
    const store = await releaseStore(w, green, "MonitorMeterV2Breaking");
    // The switch points the proxy at the router (pinned by its code hash), as a canary step does.
    await (await w.sw.getFunction("promote")(w.proxies[0]!, router, keccak256(await w.provider.getCode(router)), w.blue, "0x", EVIDENCE)).wait();
    await markLive(store, w);

    const callers = Array.from({ length: 40 }, () => Wallet.createRandom().address.toLowerCase());
    const outcome = await callersTick(callers);
    await mine(w, 3);

    // The chain itself: only green's cohort reverted (green runs out after three ticks), blue's never did.
    const greens = callers.filter((c) => cohortOf(SALT, c, BPS) === "green");
    const blues = callers.filter((c) => cohortOf(SALT, c, BPS) === "blue");
    expect(greens.length).to.be.greaterThan(5);
    expect(blues.filter((c) => outcome.get(c))).to.deep.equal([]);
    expect(greens.filter((c) => outcome.get(c)).length).to.equal(greens.length - 3);

    const canaryInterval = "40 blocks";
    const config = testConfig({
      probes: [],
      metrics: [{ name: "revert-rate", kind: "revertRate", interval: canaryInterval, dryRun: true, failureCondition: "result > 0.2" }],
      canary: {
        metrics: [
          { name: "canary-revert-rate", kind: "revertRate", interval: canaryInterval, failureCondition: "result > baseline + 0.02" },
          { name: "canary-reverts-judge", kind: "mannWhitney", of: "reverts", confidence: 0.95, interval: canaryInterval },
          { name: "canary-gas-judge", kind: "mannWhitney", of: "gas", confidence: 0.95, interval: canaryInterval, minSamples: 3, dryRun: true },
        ],
      },
    });
    const metrics = new MonitorMetrics("meter-v2");
    const { log, lines } = memoryLog();
    const first = await monitorRelease({
      provider: monitorProvider(w.node.url),
      store,
      chainId: w.chainId,
      releaseId: "meter-v2",
      config,
      autoRollback: { guardian: w.guardian },
      once: true,
      metrics,
      log,
    });

    expect(first.verdict).to.equal("rolling-back");
    const run = first.runs[0]!;
    expect(run.canary).to.deep.include({ router, blue: w.blue, green, bps: BPS, cohortByOrigin: true, salt: SALT });
    expect(run.phase).to.equal("Failed");
    const rate = run.metrics["canary-revert-rate"]!;
    expect(rate.phase).to.equal("Failed");
    expect(rate.cohorts!.green).to.deep.equal({ value: (greens.length - 3) / greens.length, samples: greens.length });
    expect(rate.cohorts!.blue).to.deep.equal({ value: 0, samples: blues.length });
    const judge = run.metrics["canary-reverts-judge"]!;
    expect(judge.phase).to.equal("Failed");
    expect(judge.cohorts!.judge!.verdict).to.equal("high");
    expect(judge.cohorts!.judge!.pValue).to.be.lessThan(0.05);
    expect(judge.lastValue).to.equal(judge.cohorts!.judge!.pValue);
    // The overall revert rate is measured as before (a dry run here), over both cohorts' calls.
    expect(run.metrics["revert-rate"]!.lastValue).to.equal((greens.length - 3) / callers.length);

    const scheduled = lines.find((l) => l.event === "rollback-scheduled");
    expect(scheduled?.reason).to.match(/canary-(revert-rate|reverts-judge)/);

    const exposition = await metrics.registry.metrics();
    expect(exposition).to.match(/bluegreen_canary_metric_value\{wave="release",metric="canary-revert-rate",cohort="green",release="meter-v2"\} [0-9.]+/);
    expect(exposition).to.match(/bluegreen_canary_samples\{wave="release",metric="canary-revert-rate",cohort="blue",release="meter-v2"\} /);
    expect(exposition).to.match(/bluegreen_canary_judge_p_value\{wave="release",metric="canary-reverts-judge",release="meter-v2"\} /);

    // The guardian's rollback executes once its delay has passed in chain time: the proxy runs blue again, not the router.
    await increaseTime(w, ROLLBACK_DELAY + 1);
    await mine(w, 2);
    const second = await monitorRelease({
      provider: monitorProvider(w.node.url),
      store,
      chainId: w.chainId,
      releaseId: "meter-v2",
      config,
      autoRollback: { guardian: w.guardian },
      once: true,
      log,
    });
    expect(second.verdict).to.equal("rolled-back");
    const slot = await w.provider.getStorage(w.proxies[0]!, IMPLEMENTATION_SLOT);
    expect(getAddress("0x" + slot.slice(-40))).to.equal(w.blue);
    expect((await store.get(w.chainId, "meter-v2")).state).to.equal("rolled-back");
    const cp = await readCheckpoint(store, w.chainId, "meter-v2");
    expect(cp?.runs.release?.canary?.router).to.equal(router);
  });
});

describe("bg:monitor follows a canary step by step: each call in the cohort of the router that ran it", function () {
  this.timeout(180_000);
  let w: MonitorWorld;

  before(async function () {
    w = await startWorld(1);
  });
  after(async () => w?.stop());

  async function tick(callers: string[]): Promise<void> {
    for (const from of callers) {
      await w.provider.send("hardhat_impersonateAccount", [from]);
      await w.provider.send("hardhat_setBalance", [from, "0x56bc75e2d63100000"]);
      await w.provider.send("eth_sendTransaction", [{ from, to: w.proxies[0], data: w.meter.encodeFunctionData("tick"), gas: "0x30d40" }]);
    }
  }

  async function step(green: string, expectedBlue: string, bps: number): Promise<number> {
    const routerCodehash = bps === 10_000 ? ZeroHash : await canaryRouterCodehash({ blue: w.blue, green, bps, salt: SALT, cohortByOrigin: true });
    const greenCodehash = keccak256(await w.provider.getCode(green));
    const tx = await w.sw.getFunction("promoteCanary")({ proxy: w.proxies[0]!, green, greenCodehash, expectedBlue, bps, salt: SALT, cohortByOrigin: true, routerCodehash, evidenceHash: EVIDENCE });
    return (await tx.wait()).blockNumber as number;
  }

  it("reads the 10% step's calls with its router and the 50% step's with the new one, in one run", async function () {
    const green = await deployGreen(w, "MonitorMeterV2");
    const store = await releaseStore(w, green, "MonitorMeterV2");
    await step(green, w.blue, 1_000);
    await markLive(store, w);
    const interval = "200 blocks";
    const config = testConfig({
      probes: [],
      metrics: [{ name: "revert-rate", kind: "revertRate", interval, dryRun: true, failureCondition: "result > 0.2" }],
      canary: { metrics: [{ name: "canary-revert-rate", kind: "revertRate", interval, minSamples: 1, failureCondition: "result > baseline + 0.02" }] },
    });
    const { log, lines } = memoryLog();
    const monitor = () => monitorRelease({ provider: monitorProvider(w.node.url), store, chainId: w.chainId, releaseId: "meter-v2", config, once: true, log });

    // The monitor follows the canary as it goes: once during the 10% step, once after the 50% step.
    const first = Array.from({ length: 30 }, () => Wallet.createRandom().address.toLowerCase());
    await tick(first);
    await mine(w, 3);
    await monitor();
    const secondStep = await step(green, w.blue, 5_000);
    const second = Array.from({ length: 30 }, () => Wallet.createRandom().address.toLowerCase());
    await tick(second);
    await mine(w, 3);

    // What each call really ran, from the chain's own routing at each step.
    const onGreen = first.filter((c) => cohortOf(SALT, c, 1_000) === "green").length + second.filter((c) => cohortOf(SALT, c, 5_000) === "green").length;
    // Had the run kept the first step's router, the second batch would be read at 10%.
    const asIfOneStep = [...first, ...second].filter((c) => cohortOf(SALT, c, 1_000) === "green").length;
    expect(onGreen).to.not.equal(asIfOneStep);

    const outcome = await monitor();
    const run = outcome.runs[0]!;
    const routers = await Promise.all([1_000, 5_000].map((bps) => w.sw.getFunction("canaryRouterFor")(w.blue, green, bps, SALT, true) as Promise<string>));
    expect(run.canary?.router).to.equal(getAddress(routers[0]!));
    expect(run.canary?.steps).to.deep.equal([{ fromBlock: secondStep, router: getAddress(routers[1]!), bps: 5_000, salt: SALT, cohortByOrigin: true }]);
    expect(lines.some((l) => l.event === "canary-step" && l.bps === 5_000)).to.equal(true);
    // The run's cohorts over every call of both steps, from the checkpoint's ledger.
    const cp = await readCheckpoint(store, w.chainId, "meter-v2");
    // The users' own calls (the switch's upgrade of the proxy shows as an internal call too).
    const ledger = cp!.ledger.map((b) => ({ ...b, calls: (b.calls ?? []).filter((c) => c.direct) }));
    expect(ledger.flatMap((b) => b.calls).length).to.equal(first.length + second.length);
    const counts = cohortCounts(cp!.runs.release!.canary!, ledger, new Set([w.proxies[0]!.toLowerCase()]));
    expect(counts.green.calls).to.equal(onGreen);
    expect(counts.blue.calls).to.equal(first.length + second.length - onGreen);
  });
});
