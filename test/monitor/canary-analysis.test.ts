/**
 * The canary analysis as pure functions over block digests: who a call's
 * caller is under each cohort mode, windows that wait for both cohorts,
 * green's value judged against blue's over the same blocks, and the
 * `monitor.canary` config.
 */
import { expect } from "chai";
import { Wallet, keccak256, toUtf8Bytes } from "ethers";

import type { BlockDigest, CallSample } from "../../src/monitor/block-digest.js";
import { cohortCounts, cohortOfSample, measureCanaryWindow } from "../../src/monitor/canary-analysis.js";
import type { CanaryRun } from "../../src/monitor/canary-measurement.js";
import { resolveMonitorConfig } from "../../src/monitor/config.js";
import { cohortOf } from "../../src/switch/canary-cohort.js";

const SALT = keccak256(toUtf8Bytes("unit canary"));
const PROXY = "0x00000000000000000000000000000000000000aa";
const routing = (cohortByOrigin: boolean, bps = 5000): CanaryRun => ({
  router: "0x00000000000000000000000000000000000000Bb",
  blue: "0x00000000000000000000000000000000000000B1",
  green: "0x00000000000000000000000000000000000000a2",
  bps,
  salt: SALT,
  cohortByOrigin,
});

/** Generated callers, split by the router's formula at 50%. */
function callersOf(cohort: "green" | "blue", count: number): string[] {
  const out: string[] = [];
  while (out.length < count) {
    const a = Wallet.createRandom().address.toLowerCase();
    if (cohortOf(SALT, a, 5000) === cohort) out.push(a);
  }
  return out;
}

const call = (from: string, ok: boolean, gas = 50_000, direct = true): CallSample => ({ proxy: PROXY, selector: direct ? "0x3eaf5d9f" : "internal", gas, ok, direct, from });
const block = (n: number, calls: CallSample[]): BlockDigest => ({ n, hash: keccak256(toUtf8Bytes(`b${n}`)), parent: keccak256(toUtf8Bytes(`b${n - 1}`)), t: 1000 + n * 12, calls });

describe("canary analysis over block digests", function () {
  const config = resolveMonitorConfig({
    canary: {
      metrics: [
        { name: "rate", kind: "revertRate", failureCondition: "result > baseline + 0.02" },
        { name: "judge", kind: "mannWhitney", of: "reverts", confidence: 0.95, minSamples: 5 },
      ],
    },
  });
  const [rate, judge] = config.canary.metrics;
  const proxies = new Set([PROXY]);

  it("puts a call from another contract in its sender's cohort by tx.origin, and in no cohort by msg.sender", function () {
    const [g] = callersOf("green", 1);
    const internal = call(g!, true, 0, false);
    expect(cohortOfSample(routing(true), internal)).to.equal("green");
    expect(cohortOfSample(routing(false), internal)).to.equal(undefined);
    expect(cohortOfSample(routing(false), call(g!, true))).to.equal("green");
    const counts = cohortCounts(routing(false), [block(1, [internal, call(g!, false)])], proxies);
    expect(counts).to.deep.equal({ green: { calls: 1, reverted: 1 }, blue: { calls: 0, reverted: 0 }, unknown: { calls: 1, reverted: 0 } });
  });

  it("keeps the window open until both cohorts have calls", function () {
    const greens = callersOf("green", 3);
    const blocks = [block(1, greens.map((g) => call(g, false)))];
    expect(measureCanaryWindow(routing(true), rate!, { fromBlock: 1, fromTime: 1000 }, blocks[0]!, blocks, proxies)).to.equal(undefined);
  });

  it("fails green's revert rate against blue's over the same blocks, and reports both", function () {
    const greens = callersOf("green", 10);
    const blues = callersOf("blue", 10);
    // Green: 3 of 10 calls revert; blue: 1 of 10.
    const blocks = [block(1, [...greens.map((g, i) => call(g, i >= 3)), ...blues.map((b, i) => call(b, i >= 1))])];
    const m = measureCanaryWindow(routing(true), rate!, { fromBlock: 1, fromTime: 1000 }, blocks[0]!, blocks, proxies)!;
    expect(m.phase).to.equal("Failed");
    expect(m.cohorts!.green).to.deep.equal({ value: 0.3, samples: 10 });
    expect(m.cohorts!.blue).to.deep.equal({ value: 0.1, samples: 10 });
    expect(m.value).to.equal(0.3);
    expect(m.baseline).to.equal(0.1);
  });

  it("judges revert indicators with Mann–Whitney: a green that reverts half its calls fails, an equal one passes", function () {
    const greens = callersOf("green", 20);
    const blues = callersOf("blue", 20);
    const bad = [block(1, [...greens.map((g, i) => call(g, i % 2 === 0)), ...blues.map((b) => call(b, true))])];
    const failed = measureCanaryWindow(routing(true), judge!, { fromBlock: 1, fromTime: 1000 }, bad[0]!, bad, proxies)!;
    expect(failed.phase).to.equal("Failed");
    expect(failed.cohorts!.judge!.verdict).to.equal("high");
    expect(failed.value).to.be.lessThan(0.05);
    const same = [block(1, [...greens.map((g) => call(g, true)), ...blues.map((b) => call(b, true))])];
    const passed = measureCanaryWindow(routing(true), judge!, { fromBlock: 1, fromTime: 1000 }, same[0]!, same, proxies)!;
    expect(passed.phase).to.equal("Successful");
    expect(passed.cohorts!.judge).to.include({ verdict: "pass", pValue: 1 });
  });

  it("resolves the default canary metrics and refuses what cannot be split or judged", function () {
    expect(resolveMonitorConfig({}).canary.metrics.map((m) => [m.name, m.kind, m.dryRun])).to.deep.equal([
      ["canary-revert-rate", "revertRate", false],
      ["canary-reverts-judge", "mannWhitney", false],
      ["canary-gas-judge", "mannWhitney", true],
    ]);
    expect(() => resolveMonitorConfig({ canary: { metrics: [{ name: "e", kind: "events", event: "X()" } as never] } })).to.throw(/blueGreen\.monitor\.canary\.metrics\.0/);
    expect(() => resolveMonitorConfig({ canary: { metrics: [{ name: "j", kind: "mannWhitney", of: "gas", failureCondition: "result > 1" } as never] } })).to.throw(/failureCondition|Unrecognized/);
    expect(() => resolveMonitorConfig({ canary: { metrics: [{ name: "j", kind: "mannWhitney", of: "gas", confidence: 1 }] } })).to.throw(/confidence/);
  });
});
