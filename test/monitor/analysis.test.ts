/**
 * The Argo analysis model, unit by unit: conditions, a measurement's phase,
 * a metric's phase under its limits, a run's phase, and the windows of an
 * analysis run over block digests (with a reorg).
 */
import { expect } from "chai";

import { type MetricResult, assessMetric, assessRun, emptyTally, evaluateMeasurement, tally } from "../../src/monitor/analysis.js";
import { advanceRun, newRun, rewindRun } from "../../src/monitor/analysis-run.js";
import type { BlockDigest } from "../../src/monitor/block-digest.js";
import { compileCondition, MissingBaselineError } from "../../src/monitor/condition.js";
import { type ResolvedMetric, monitorUserConfigSchema, parseInterval, resolveMonitorConfig } from "../../src/monitor/config.js";
import { wavesUserConfigSchema } from "../../src/waves/config.js";
import { quantile } from "../../src/monitor/traffic-metrics.js";

const P = "0x00000000000000000000000000000000000000aa";

function metric(overrides: Record<string, unknown> = {}): ResolvedMetric {
  const config = resolveMonitorConfig({
    interval: "2 blocks",
    metrics: [{ name: "revert-rate", kind: "revertRate", failureCondition: "result > 0.2", ...overrides } as never],
  });
  return config.analysis.metrics[0]!;
}

function result(phases: Array<"Successful" | "Failed" | "Error" | "Inconclusive">): MetricResult {
  return {
    name: "m",
    phase: "Running",
    dryRun: false,
    archived: emptyTally(),
    measurements: phases.map((phase, i) => ({ phase, samples: 1, fromBlock: i, toBlock: i, startedAt: i, finishedAt: i, message: "" })),
  };
}

describe("monitor analysis: conditions", function () {
  it("evaluates arithmetic, comparisons, boolean operators and functions", function () {
    const c = compileCondition("result > max(0.05, baseline * 2) || (samples >= 10 and not (result == 0))");
    expect(c.evaluate({ result: 0.2, baseline: 0.05, samples: 1 })).to.equal(true);
    expect(c.evaluate({ result: 0.07, baseline: 0.05, samples: 1 })).to.equal(false);
    expect(c.evaluate({ result: 0.07, baseline: 0.05, samples: 10 })).to.equal(true);
    expect(compileCondition("result == true").evaluate({ result: true, baseline: undefined, samples: 1 })).to.equal(true);
    expect(compileCondition("result == '0xABC'").evaluate({ result: "0xabc", baseline: undefined, samples: 1 })).to.equal(true);
    expect(compileCondition("abs(result - baseline) <= 1e3").evaluate({ result: 1500, baseline: 1000, samples: 1 })).to.equal(true);
  });

  it("reads baseline lazily: hasBaseline guards it, and a missing one is its own error", function () {
    const guarded = compileCondition("hasBaseline && result > baseline");
    expect(guarded.evaluate({ result: 1, baseline: undefined, samples: 1 })).to.equal(false);
    expect(() => compileCondition("result > baseline").evaluate({ result: 1, baseline: undefined, samples: 1 })).to.throw(MissingBaselineError);
  });

  it("refuses unknown names, functions and trailing tokens, saying where", function () {
    expect(() => compileCondition("reslt > 1")).to.throw(/unknown name "reslt".*character 1/);
    expect(() => compileCondition("avg(result) > 1")).to.throw(/unknown function "avg"/);
    expect(() => compileCondition("result > 1 )")).to.throw(/unexpected "\)"/);
    expect(() => compileCondition("")).to.throw(/is empty/);
  });

  it("rejects a bad condition when the config is checked, naming the field", function () {
    const parsed = monitorUserConfigSchema.safeParse({ metrics: [{ name: "r", kind: "revertRate", failureCondition: "result >> 1" }] });
    expect(parsed.success).to.equal(false);
    expect(parsed.error!.issues[0]!.path.join(".")).to.equal("metrics.0.failureCondition");
    expect(() => resolveMonitorConfig({ confirmations: -1 })).to.throw(/blueGreen\.monitor\.confirmations in hardhat\.config\.ts is invalid/);
  });

  it("parses intervals in chain time or blocks, and checks wave shares", function () {
    expect(parseInterval("5m")).to.deep.equal({ seconds: 300 });
    expect(parseInterval(30)).to.deep.equal({ seconds: 30 });
    expect(parseInterval("20 blocks")).to.deep.equal({ blocks: 20 });
    expect(parseInterval("0 blocks")).to.equal(undefined);
    expect(wavesUserConfigSchema.safeParse({ waves: [{ name: "canary", proxies: "125%", bake: "1h" }] }).success).to.equal(false);
    expect(wavesUserConfigSchema.safeParse({ waves: [{ name: "a", proxies: 1, bake: "1h" }, { name: "a", proxies: "100%", bake: 0 }] }).success).to.equal(false);
  });
});

describe("monitor analysis: Argo's measurement and metric rules", function () {
  it("a measurement's phase follows EvaluateResult for each combination of conditions", function () {
    const ctx = { baseline: undefined, samples: 5, block: 1 };
    expect(evaluateMeasurement(metric({ failureCondition: "result > 0.2" }), 0.5, ctx).phase).to.equal("Failed");
    expect(evaluateMeasurement(metric({ failureCondition: "result > 0.2" }), 0.1, ctx).phase).to.equal("Successful");
    expect(evaluateMeasurement(metric({ failureCondition: undefined, successCondition: "result < 0.1" }), 0.15, ctx).phase).to.equal("Failed");
    expect(evaluateMeasurement(metric({ successCondition: "result < 0.1", failureCondition: "result > 0.2" }), 0.15, ctx).phase).to.equal("Inconclusive");
    expect(evaluateMeasurement(metric({ failureCondition: undefined }), 0.9, ctx).phase).to.equal("Successful");
    expect(evaluateMeasurement(metric({ failureCondition: "result > baseline" }), 0.5, ctx).phase).to.equal("Inconclusive");
    expect(evaluateMeasurement(metric({ failureCondition: "result && true" }), 0.5, ctx).phase).to.equal("Error");
    const failed = evaluateMeasurement(metric({ failureCondition: "result > 0.2" }), 0.5, { ...ctx, baseline: 0 });
    expect(failed.message).to.equal("failureCondition `result > 0.2` is true (result 0.5, baseline 0, 5 sample(s))");
  });

  it("a metric fails only past its failure limit, and pauses past its inconclusive limit", function () {
    expect(assessMetric(metric({ failureLimit: 1 }), result(["Failed"]), false).phase).to.equal("Running");
    expect(assessMetric(metric({ failureLimit: 1 }), result(["Failed", "Successful", "Failed"]), false).phase).to.equal("Failed");
    expect(assessMetric(metric(), result(["Inconclusive"]), false).phase).to.equal("Inconclusive");
    expect(assessMetric(metric({ inconclusiveLimit: 2 }), result(["Inconclusive", "Inconclusive"]), false).phase).to.equal("Running");
  });

  it("errors count only when consecutive past consecutiveErrorLimit (default 4), and not toward count", function () {
    expect(assessMetric(metric(), result(["Error", "Error", "Error", "Error"]), false).phase).to.equal("Running");
    expect(assessMetric(metric(), result(["Error", "Error", "Error", "Error", "Error"]), false).phase).to.equal("Error");
    expect(assessMetric(metric(), result(["Error", "Error", "Successful", "Error", "Error", "Error"]), false).phase).to.equal("Running");
    expect(tally(result(["Error", "Successful", "Error"]))).to.deep.include({ count: 1, error: 2, consecutiveError: 1 });
    expect(assessMetric(metric({ count: 2 }), result(["Successful", "Error", "Successful"]), false).phase).to.equal("Successful");
  });

  it("a failed metric terminates the run: the others count as Successful and the run takes the worst phase", function () {
    const a = metric({ name: "a" });
    const b = metric({ name: "b" });
    const dry = metric({ name: "dry", dryRun: true });
    const results = new Map<string, MetricResult>([
      ["a", { ...result(["Failed"]), name: "a" }],
      ["b", { ...result(["Successful"]), name: "b" }],
      ["dry", { ...result(["Failed", "Failed"]), name: "dry", dryRun: true }],
    ]);
    const run = assessRun([a, b, dry], results);
    expect(run.phase).to.equal("Failed");
    expect(run.cause?.metric).to.equal("a");
    expect(results.get("b")!.phase).to.equal("Successful");
    // A dry run never decides the run, whatever it measures.
    const onlyDry = new Map<string, MetricResult>([["dry", { ...result(["Failed", "Failed"]), name: "dry", dryRun: true }]]);
    expect(assessRun([dry], onlyDry).phase).to.equal("Running");
  });

  it("quantiles are nearest-rank over the values really seen", function () {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).to.equal(3);
    expect(quantile([5, 1, 3, 2, 4], 0.95)).to.equal(5);
    expect(quantile([7], 0.95)).to.equal(7);
  });
});

describe("monitor analysis: windows over blocks", function () {
  const revertRate = metric();
  const block = (n: number, calls: Array<{ ok: boolean }>): BlockDigest => ({
    n,
    hash: "0x" + n.toString(16).padStart(64, "0"),
    parent: "0x" + (n - 1).toString(16).padStart(64, "0"),
    t: 1000 + n * 12,
    ...(calls.length > 0 ? { calls: calls.map((c) => ({ proxy: P, selector: "0x3eaf5d9f", gas: 30_000, ok: c.ok, direct: true })) } : {}),
  });

  it("closes a window every interval, extends a window without calls, and fails past the limit", async function () {
    const blocks = [block(11, [{ ok: true }]), block(12, []), block(13, []), block(14, []), block(15, [{ ok: false }]), block(16, [{ ok: false }])];
    const run = newRun("release", [P], 11, 1000 + 10 * 12, [revertRate]);
    const ledger = (from: number, to: number) => blocks.filter((b) => b.n >= from && b.n <= to);
    const events = await advanceRun(run, [revertRate], blocks, ledger, async () => ({ kind: "value", value: true }), 100);
    const ms = run.metrics["revert-rate"]!.measurements;
    // 11-12: 1 call, ok. 13-14: no call, so the window is extended until 15 brings one (reverted).
    expect(ms.map((m) => [m.fromBlock, m.toBlock, m.value, m.phase])).to.deep.equal([
      [11, 12, 0, "Successful"],
      [13, 15, 1, "Failed"],
    ]);
    expect(run.phase).to.equal("Failed");
    expect(events.filter((e) => e.kind === "run-phase").map((e) => (e as { to: string }).to)).to.deep.equal(["Running", "Failed"]);
  });

  it("rewinding past a reorg drops the orphaned measurements, reopens their window and clears a failure they caused", async function () {
    const blocks = [block(11, [{ ok: true }]), block(12, []), block(13, [{ ok: false }]), block(14, [{ ok: false }])];
    const run = newRun("release", [P], 11, 1000 + 10 * 12, [revertRate]);
    const ledger = (from: number, to: number) => blocks.filter((b) => b.n >= from && b.n <= to);
    await advanceRun(run, [revertRate], blocks, ledger, async () => ({ kind: "value", value: true }), 100);
    expect(run.phase).to.equal("Failed");
    rewindRun(run, [revertRate], { n: 12, t: blocks[1]!.t });
    expect(run.phase).to.equal("Running");
    expect(run.metrics["revert-rate"]!.measurements).to.have.length(1);
    expect(run.metrics["revert-rate"]!.window).to.deep.equal({ fromBlock: 13, fromTime: blocks[1]!.t });
  });
});
