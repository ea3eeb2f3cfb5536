/**
 * The monitor's canary analysis on a separate Hardhat node: a real
 * CanaryRouter behind a real TransparentUpgradeableProxy, promoted through
 * the real switch, and generated callers. Green (a meter that reverts once
 * it ran three times) fails in its cohort while blue's cohort passes over
 * the same blocks; the verdict is failure with the judge's p-value, and
 * --auto-rollback puts the proxy back on exactly blue through the guardian.
 */
import { expect } from "chai";
import { ContractFactory, Wallet, getAddress, keccak256, toUtf8Bytes } from "ethers";

import { monitorRelease } from "../../src/monitor/monitor-release.js";
import { readCheckpoint } from "../../src/monitor/checkpoint.js";
import { MonitorMetrics } from "../../src/monitor/prometheus.js";
import { cohortOf } from "../../src/switch/canary-cohort.js";
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
    const routerArtifact = await readArtifact("contracts/canary/CanaryRouter.sol", "CanaryRouter");
    const routerContract = await new ContractFactory(routerArtifact.abi, routerArtifact.bytecode, w.deployer).deploy(w.blue, green, BPS, SALT, true);
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
