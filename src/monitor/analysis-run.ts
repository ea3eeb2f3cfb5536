/**
 * One analysis run: the metrics of one subject (the release's proxy, or one
 * wave's proxies) measured window by window as confirmed blocks arrive.
 *
 * A window opens where the previous one closed (the first at the promotion,
 * after `initialDelay`) and closes at the first block that is `interval`
 * later in chain time (or in blocks) and, for traffic metrics, has seen
 * `minSamples` calls. Windows are cut by block data only, so the same chain
 * gives the same measurements, whether followed live, resumed after a
 * restart, or re-read after a reorg.
 */
import {
  type AnalysisPhase,
  type Measurement,
  type MetricResult,
  type MetricValue,
  assessRun,
  emptyTally,
  evaluateMeasurement,
  isCompleted,
  isWorse,
  tally,
} from "./analysis.js";
import type { BlockDigest } from "./block-digest.js";
import { measureCanaryWindow } from "./canary-analysis.js";
import type { CanaryRun } from "./canary-measurement.js";
import type { ResolvedMetric } from "./config.js";
import type { ProbeOutcome } from "./probes.js";
import { measurePerProxy } from "./per-proxy.js";
import { measureTraffic } from "./traffic-metrics.js";

export interface MetricWindow {
  fromBlock: number;
  /** Chain time the window opened (unix seconds). */
  fromTime: number;
}

export interface MetricState extends MetricResult {
  window: MetricWindow;
}

export interface AnalysisRunState {
  subject: string;
  /** Lower-case proxy addresses measured together. */
  proxies: string[];
  /** First block of green traffic, and the promotion's chain time. */
  startBlock: number;
  startTime: number;
  phase: AnalysisPhase;
  cause?: { metric: string; reason: string };
  metrics: Record<string, MetricState>;
  /** Blue's values: metric → proxy (or "*" for traffic over all proxies) → value. */
  baseline: Record<string, Record<string, MetricValue>>;
  baselineSource: string;
  /** Last block this run has seen. */
  measuredUntil?: { block: number; time: number };
  /** When the run completed (its phase then stopped changing). */
  completedAt?: { block: number; time: number };
  /** The CanaryRouter the proxy runs, when the analysed step is a canary (its canary metrics split by cohort). */
  canary?: CanaryRun;
}

/** What happened while advancing, for logs, metrics and actions. */
export type RunEvent =
  | { kind: "measurement"; subject: string; metric: string; dryRun: boolean; measurement: Measurement }
  | { kind: "metric-phase"; subject: string; metric: string; from: AnalysisPhase; to: AnalysisPhase; reason?: string }
  | { kind: "run-phase"; subject: string; from: AnalysisPhase; to: AnalysisPhase; cause?: { metric: string; reason: string } };

export type ProbeCall = (metric: ResolvedMetric, proxy: string, block: number) => Promise<ProbeOutcome>;

/** Measurements kept per metric (older ones are folded into the tally). */
export const measurementRetention = (reorgDepth: number) => Math.max(100, reorgDepth + 1);

export function newRun(subject: string, proxies: string[], startBlock: number, startTime: number, metrics: ResolvedMetric[]): AnalysisRunState {
  const run: AnalysisRunState = {
    subject,
    proxies: proxies.map((p) => p.toLowerCase()),
    startBlock,
    startTime,
    phase: "Pending",
    metrics: {},
    baseline: {},
    baselineSource: "none",
  };
  ensureMetrics(run, metrics);
  return run;
}

/** Adds state for metrics the config gained since the run started (a restart with a new config). */
export function ensureMetrics(run: AnalysisRunState, metrics: ResolvedMetric[]): void {
  for (const metric of metrics) {
    if (run.metrics[metric.name] !== undefined) continue;
    run.metrics[metric.name] = {
      name: metric.name,
      phase: "Pending",
      dryRun: metric.dryRun,
      measurements: [],
      archived: emptyTally(),
      window: { fromBlock: run.startBlock, fromTime: run.startTime + metric.initialDelay },
    };
  }
}

/**
 * Feeds `blocks` (new confirmed blocks, in order) to the run. `ledger`
 * returns the digests of a block range (for a window's content). Probes are
 * called at the block that closes their window.
 */
export async function advanceRun(
  run: AnalysisRunState,
  metrics: ResolvedMetric[],
  blocks: BlockDigest[],
  ledger: (from: number, to: number) => BlockDigest[],
  probe: ProbeCall,
  retention: number,
): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  const proxies = new Set(run.proxies);
  for (const block of blocks) {
    if (block.n < run.startBlock) continue;
    run.measuredUntil = { block: block.n, time: block.t };
    if (isCompleted(run.phase)) continue;
    let measured = false;
    for (const metric of metrics) {
      const state = run.metrics[metric.name];
      if (state === undefined || isCompleted(state.phase) || block.n < state.window.fromBlock) continue;
      // initialDelay: blocks before the window's opening time belong to no window.
      if (block.t < state.window.fromTime) {
        state.window = { fromBlock: block.n + 1, fromTime: state.window.fromTime };
        continue;
      }
      const elapsed =
        "seconds" in metric.interval
          ? block.t - state.window.fromTime >= metric.interval.seconds
          : block.n - state.window.fromBlock + 1 >= metric.interval.blocks;
      if (!elapsed) continue;
      const measurement =
        metric.kind === "probe"
          ? await measureProbe(run, metric, state.window, block, probe)
          : metric.cohorts !== undefined
            ? run.canary === undefined
              ? undefined
              : measureCanaryWindow(run.canary, metric, state.window, block, ledger(state.window.fromBlock, block.n), proxies)
            : measureWindow(run, metric, state.window, block, ledger(state.window.fromBlock, block.n), proxies);
      if (measurement === undefined) continue; // too few samples: the window stays open
      state.measurements.push(measurement);
      foldOld(state, retention);
      state.window = { fromBlock: block.n + 1, fromTime: block.t };
      events.push({ kind: "measurement", subject: run.subject, metric: metric.name, dryRun: metric.dryRun, measurement });
      measured = true;
    }
    if (measured) events.push(...reassess(run, metrics, block));
  }
  return events;
}

function measureWindow(
  run: AnalysisRunState,
  metric: ResolvedMetric,
  window: MetricWindow,
  block: BlockDigest,
  blocks: BlockDigest[],
  proxies: Set<string>,
): Measurement | undefined {
  if (metric.perProxy === true) return measurePerProxy(run, metric, window, block, blocks);
  const { value, samples } = measureTraffic(metric, blocks, proxies, block.t - window.fromTime);
  if (samples < metric.minSamples || value === undefined) return undefined;
  const baseline = run.baseline[metric.name]?.["*"];
  const { phase, message } = evaluateMeasurement(metric, value, { baseline, samples, block: block.n });
  return {
    phase,
    value,
    ...(baseline !== undefined ? { baseline } : {}),
    samples,
    fromBlock: window.fromBlock,
    toBlock: block.n,
    startedAt: window.fromTime,
    finishedAt: block.t,
    message,
  };
}

/** Probes every proxy of the run; the measurement is the worst of them. */
async function measureProbe(run: AnalysisRunState, metric: ResolvedMetric, window: MetricWindow, block: BlockDigest, probe: ProbeCall): Promise<Measurement> {
  const targets = metric.probe?.to !== undefined ? [metric.probe.to.toLowerCase()] : run.proxies;
  let worst: Measurement | undefined;
  for (const proxy of targets) {
    const outcome = await probe(metric, proxy, block.n);
    const baseline = run.baseline[metric.name]?.[proxy];
    const base = { samples: 1, fromBlock: window.fromBlock, toBlock: block.n, startedAt: window.fromTime, finishedAt: block.t, proxy };
    let m: Measurement;
    if (outcome.kind === "value") {
      const { phase, message } = evaluateMeasurement(metric, outcome.value, { baseline, samples: 1, proxy, block: block.n });
      m = { ...base, phase, value: outcome.value, ...(baseline !== undefined ? { baseline } : {}), message: `${proxy}: ${message}` };
    } else if (outcome.kind === "reverted") {
      m = { ...base, phase: metric.probe?.revertIs === "error" ? "Error" : "Failed", message: `${proxy}: the probe call reverted (${outcome.message})` };
    } else {
      m = { ...base, phase: "Error", message: `${proxy}: ${outcome.message}` };
    }
    if (worst === undefined || isWorse(worst.phase, m.phase)) worst = m;
  }
  return worst!;
}

/** Keeps the newest `retention` measurements; older ones live on in the tally. */
function foldOld(state: MetricState, retention: number): void {
  while (state.measurements.length > retention) {
    const old = state.measurements.shift()!;
    const a = state.archived;
    if (old.phase === "Error") {
      a.error++;
      a.consecutiveError++;
    } else {
      a.count++;
      a.consecutiveError = 0;
      if (old.phase === "Successful") a.successful++;
      else if (old.phase === "Failed") a.failed++;
      else a.inconclusive++;
    }
  }
}

function reassess(run: AnalysisRunState, metrics: ResolvedMetric[], block: BlockDigest): RunEvent[] {
  const events: RunEvent[] = [];
  const before = new Map(Object.values(run.metrics).map((m) => [m.name, m.phase]));
  const results = new Map(Object.entries(run.metrics) as Array<[string, MetricResult]>);
  const { phase, cause } = assessRun(metrics, results);
  for (const m of Object.values(run.metrics)) {
    const from = before.get(m.name)!;
    if (from !== m.phase) events.push({ kind: "metric-phase", subject: run.subject, metric: m.name, from, to: m.phase, ...(m.message !== undefined ? { reason: m.message } : {}) });
  }
  if (phase !== run.phase) {
    events.push({ kind: "run-phase", subject: run.subject, from: run.phase, to: phase, ...(cause !== undefined ? { cause } : {}) });
    run.phase = phase;
    if (cause !== undefined) run.cause = cause;
    else delete run.cause;
    if (isCompleted(phase)) run.completedAt = { block: block.n, time: block.t };
  }
  return events;
}

/**
 * Undoes everything the run learnt from blocks after `fork` (a reorg):
 * their measurements go, their windows reopen, and phases are assessed
 * afresh from what remains (a completed phase caused by an orphaned block
 * does not stick).
 */
export function rewindRun(run: AnalysisRunState, metrics: ResolvedMetric[], fork: { n: number; t: number }): void {
  for (const state of Object.values(run.metrics)) {
    const firstDropped = state.measurements.findIndex((m) => m.toBlock > fork.n);
    if (firstDropped >= 0) {
      const dropped = state.measurements[firstDropped]!;
      state.window = { fromBlock: dropped.fromBlock, fromTime: dropped.startedAt };
      state.measurements = state.measurements.slice(0, firstDropped);
    }
    state.phase = "Pending";
    delete state.message;
  }
  run.phase = "Pending";
  delete run.cause;
  delete run.completedAt;
  if (run.measuredUntil !== undefined && run.measuredUntil.block > fork.n) run.measuredUntil = { block: fork.n, time: fork.t };
  const results = new Map(Object.entries(run.metrics) as Array<[string, MetricResult]>);
  const { phase, cause } = assessRun(metrics, results);
  run.phase = phase;
  if (cause !== undefined) run.cause = cause;
}

/** Oldest block a run may still need (an open window, or a measurement a reorg could undo). */
export function oldestNeededBlock(run: AnalysisRunState, reorgFloor: number): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const state of Object.values(run.metrics)) {
    if (!isCompleted(state.phase)) oldest = Math.min(oldest, state.window.fromBlock);
    for (const m of state.measurements) if (m.toBlock > reorgFloor) oldest = Math.min(oldest, m.fromBlock);
  }
  return oldest;
}

/** The run's counters per metric, for reports. */
export function runSummary(run: AnalysisRunState) {
  return Object.fromEntries(
    Object.values(run.metrics).map((m) => {
      const t = tally(m);
      const last = m.measurements[m.measurements.length - 1];
      return [
        m.name,
        {
          phase: m.phase,
          dryRun: m.dryRun,
          count: t.count,
          successful: t.successful,
          failed: t.failed,
          inconclusive: t.inconclusive,
          error: t.error,
          ...(last?.value !== undefined ? { lastValue: last.value } : {}),
          ...(last !== undefined ? { lastMessage: last.message } : {}),
          ...(last?.cohorts !== undefined ? { cohorts: last.cohorts } : {}),
          ...(m.message !== undefined ? { message: m.message } : {}),
        },
      ];
    }),
  );
}
