/**
 * Argo's canary analysis with a live baseline: during a canary step every
 * call to the proxy is put in the cohort the CanaryRouter put it in, and a
 * canary metric compares green's cohort with blue's over the same blocks,
 * not green with blue's history.
 *
 * - A traffic metric (revert rate, request rate, gas quantile) is measured
 *   on each cohort; its conditions read green's value as `result` and
 *   blue's as `baseline`, so `result > baseline + 0.02` fails a green that
 *   reverts two points more than blue does right now.
 * - A judge (`kind: "mannWhitney"`, Kayenta's) tests green's per-call
 *   samples against blue's: gasUsed of successful calls, or a 1/0 revert
 *   indicator per call. The measurement's value is the p-value; it fails
 *   when the difference is significant at the configured confidence and
 *   goes the failing way.
 *
 * Who the caller is: the transaction's sender. That is exactly the
 * router's caller when it cohorts by tx.origin, for direct and internal
 * calls alike. When it cohorts by msg.sender, only a call sent straight to
 * the proxy has its sender as msg.sender; a call from another contract
 * (seen through the proxy's logs) is left out of both cohorts.
 */
import type { BlockDigest, CallSample } from "./block-digest.js";
import { type Cohort, cohortOf } from "../switch/canary-cohort.js";
import { type Measurement, evaluateMeasurement } from "./analysis.js";
import type { CanaryRun, CohortMeasurement } from "./canary-measurement.js";
import type { ResolvedMetric } from "./config.js";
import { judgeCohorts } from "./mann-whitney.js";
import { measureTraffic, quantile } from "./traffic-metrics.js";

/** The routing the proxy ran at `block`: the run's first step, or the last later step live by then. */
export function routingAt(run: CanaryRun, block: number): CanaryRun {
  const step = (run.steps ?? []).filter((s) => s.fromBlock <= block).at(-1);
  return step === undefined ? run : { ...run, router: step.router, bps: step.bps, salt: step.salt, cohortByOrigin: step.cohortByOrigin };
}

/** The cohort of a call; undefined when its caller cannot be known from blocks and receipts. */
export function cohortOfSample(routing: CanaryRun, call: CallSample): Cohort | undefined {
  if (call.from === undefined) return undefined;
  if (!routing.cohortByOrigin && !call.direct) return undefined;
  return cohortOf(routing.salt, call.from, routing.bps);
}

/** The blocks with only one cohort's calls (events are not split: see the module's note). */
export function cohortBlocks(routing: CanaryRun, blocks: BlockDigest[], cohort: Cohort): BlockDigest[] {
  return blocks.map((b) => {
    const live = routingAt(routing, b.n);
    return { ...b, calls: (b.calls ?? []).filter((c) => cohortOfSample(live, c) === cohort) };
  });
}

/** Calls per cohort (direct and internal) and reverted direct calls, for reports and metrics. */
export function cohortCounts(routing: CanaryRun, blocks: BlockDigest[], proxies: Set<string>) {
  const counts = { green: { calls: 0, reverted: 0 }, blue: { calls: 0, reverted: 0 }, unknown: { calls: 0, reverted: 0 } };
  for (const b of blocks) {
    const live = routingAt(routing, b.n);
    for (const c of b.calls ?? []) {
      if (!proxies.has(c.proxy)) continue;
      const side = counts[cohortOfSample(live, c) ?? "unknown"];
      side.calls++;
      if (!c.ok) side.reverted++;
    }
  }
  return counts;
}

interface Window {
  fromBlock: number;
  fromTime: number;
}

/**
 * One canary measurement over `blocks` (the window's digests, closing at
 * `block`); undefined while either cohort has fewer than `minSamples`
 * samples (the window then stays open, as for any traffic metric).
 */
export function measureCanaryWindow(
  routing: CanaryRun,
  metric: ResolvedMetric,
  window: Window,
  block: BlockDigest,
  blocks: BlockDigest[],
  proxies: Set<string>,
): Measurement | undefined {
  const span = { fromBlock: window.fromBlock, toBlock: block.n, startedAt: window.fromTime, finishedAt: block.t };
  const green = cohortBlocks(routing, blocks, "green");
  const blue = cohortBlocks(routing, blocks, "blue");
  const judge = metric.cohorts?.judge;
  if (judge !== undefined) {
    const samples = (side: BlockDigest[]) => {
      const direct = side.flatMap((b) => b.calls ?? []).filter((c) => proxies.has(c.proxy) && c.direct && (metric.selector === undefined || c.selector === metric.selector));
      return judge.of === "gas" ? direct.filter((c) => c.ok).map((c) => c.gas) : direct.map((c) => (c.ok ? 0 : 1));
    };
    const g = samples(green);
    const b = samples(blue);
    if (g.length < metric.minSamples || b.length < metric.minSamples) return undefined;
    const j = judgeCohorts(g, b, judge)!;
    const summary = (xs: number[]) => (judge.of === "gas" ? quantile(xs, 0.5) : xs.reduce((a, x) => a + x, 0) / xs.length);
    const cohorts: CohortMeasurement = {
      green: { value: summary(g), samples: g.length },
      blue: { value: summary(b), samples: b.length },
      judge: { verdict: j.verdict, pValue: j.pValue, alpha: j.alpha, u: j.test.u1, z: j.test.z, effect: j.test.effect },
    };
    const what = judge.of === "gas" ? "median gas" : "revert rate";
    const shown =
      `Mann–Whitney on ${judge.of}: green ${what} ${fmt(cohorts.green.value!)} (${g.length}) vs blue ${fmt(cohorts.blue.value!)} (${b.length}), ` +
      `U ${j.test.u1}, p ${fmt(j.pValue)}, verdict ${j.verdict} at ${judge.confidence * 100}% confidence`;
    return {
      phase: j.failed ? "Failed" : "Successful",
      value: j.pValue,
      samples: g.length,
      ...span,
      message: j.failed ? `${shown}: green differs (${judge.direction === "either" ? "either way" : judge.direction} fails)` : shown,
      cohorts,
    };
  }
  const seconds = block.t - window.fromTime;
  const g = measureTraffic(metric, green, proxies, seconds);
  const b = measureTraffic(metric, blue, proxies, seconds);
  const cohorts: CohortMeasurement = {
    green: { ...(g.value !== undefined ? { value: g.value } : {}), samples: g.samples },
    blue: { ...(b.value !== undefined ? { value: b.value } : {}), samples: b.samples },
  };
  if (g.value === undefined || b.value === undefined || g.samples < metric.minSamples || b.samples < metric.minSamples) return undefined;
  const { phase, message } = evaluateMeasurement(metric, g.value, { baseline: b.value, samples: g.samples, block: block.n });
  return { phase, value: g.value, baseline: b.value, samples: g.samples, ...span, message: `green's cohort against blue's: ${message}`, cohorts };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

/**
 * What the switch may record as this release's green on a proxy: green
 * itself, or the CanaryRouter of a canary step that routes to it.
 */
export function isReleaseGreen(cp: { green: string; runs: Record<string, { canary?: CanaryRun }> }, onSwitch: string): boolean {
  const address = onSwitch.toLowerCase();
  const routers = (run: CanaryRun) => [run.router, ...(run.steps ?? []).map((s) => s.router)].map((r) => r.toLowerCase());
  return address === cp.green.toLowerCase() || Object.values(cp.runs).some((r) => r.canary !== undefined && routers(r.canary).includes(address));
}
