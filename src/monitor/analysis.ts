/**
 * Argo Rollouts' analysis, carried over faithfully (argo-rollouts
 * `analysis/analysis.go` and `utils/evaluate`), as pure functions:
 *
 * - A measurement's phase comes from its conditions: the failure condition
 *   true → Failed; the success condition true → Successful; neither →
 *   Inconclusive. With only a success condition, not meeting it is a
 *   failure; with only a failure condition, not meeting it is a success;
 *   with neither, every measurement succeeds. A condition that cannot be
 *   evaluated is an Error.
 * - A metric is Failed once failed > failureLimit, Inconclusive once
 *   inconclusive > inconclusiveLimit, Error once consecutive errors >
 *   consecutiveErrorLimit (default 4); Successful once `count` measurements
 *   were taken; Running otherwise. Completed phases stick.
 * - The run is terminating as soon as one metric (not a dry run) is Failed,
 *   Error or Inconclusive: every other metric then counts as Successful and
 *   the run takes the worst phase. Failed and Error abort the release
 *   (rollback); Inconclusive pauses it and alerts a person.
 *
 * One addition for contracts: a condition that reads `baseline` when blue's
 * baseline is unknown gives Inconclusive (there is nothing to compare with),
 * never Failed.
 */
import type { CohortMeasurement } from "./canary-measurement.js";
import { MissingBaselineError } from "./condition.js";
import type { ConditionContext, ResolvedMetric } from "./config.js";

export type AnalysisPhase = "Pending" | "Running" | "Successful" | "Failed" | "Error" | "Inconclusive";
export type MeasurementPhase = "Successful" | "Failed" | "Error" | "Inconclusive";
export type MetricValue = number | boolean | string;

export const COMPLETED_PHASES: readonly AnalysisPhase[] = ["Successful", "Failed", "Error", "Inconclusive"];
export const isCompleted = (phase: AnalysisPhase) => COMPLETED_PHASES.includes(phase);

/** Worse phases later: a run takes the worst of its metrics. */
const ORDER: readonly AnalysisPhase[] = ["Pending", "Running", "Successful", "Inconclusive", "Error", "Failed"];
export const isWorse = (current: AnalysisPhase, next: AnalysisPhase) => ORDER.indexOf(next) > ORDER.indexOf(current);

export interface Measurement {
  phase: MeasurementPhase;
  value?: MetricValue;
  baseline?: MetricValue;
  samples: number;
  /** Blocks the window spans (inclusive). */
  fromBlock: number;
  toBlock: number;
  /** Chain time of the window (unix seconds). */
  startedAt: number;
  finishedAt: number;
  /** For probes of several proxies: the proxy this (worst) value is from. */
  proxy?: string;
  /** Why the measurement has its phase, for logs. */
  message: string;
  /** A canary metric: each cohort's value, and the judge's verdict. */
  cohorts?: CohortMeasurement;
}

/** Counters of Argo's MetricResult. */
export interface Tally {
  count: number;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  consecutiveError: number;
}

export interface MetricResult {
  name: string;
  phase: AnalysisPhase;
  dryRun: boolean;
  /** Kept measurements, oldest first. */
  measurements: Measurement[];
  /** Tally of measurements no longer kept (retention). */
  archived: Tally;
  message?: string;
}

export const emptyTally = (): Tally => ({ count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0, consecutiveError: 0 });

/** Argo's counters over everything measured: archived plus kept. Errors do not count toward `count`. */
export function tally(result: MetricResult): Tally {
  const t = { ...result.archived };
  let trailingErrors = 0;
  let allErrors = true;
  for (const m of result.measurements) {
    if (m.phase === "Error") {
      t.error++;
      trailingErrors++;
    } else {
      allErrors = false;
      trailingErrors = 0;
      t.count++;
      if (m.phase === "Successful") t.successful++;
      else if (m.phase === "Failed") t.failed++;
      else t.inconclusive++;
    }
  }
  t.consecutiveError = allErrors ? result.archived.consecutiveError + trailingErrors : trailingErrors;
  return t;
}

/** Argo's EvaluateResult: the phase of one measured value, and why. */
export function evaluateMeasurement(metric: ResolvedMetric, value: MetricValue, context: ConditionContext): { phase: MeasurementPhase; message: string } {
  const shown = `result ${format(value)}${context.baseline !== undefined ? `, baseline ${format(context.baseline)}` : ""}, ${context.samples} sample(s)`;
  const { successCondition, failureCondition } = metric;
  let success = false;
  let failure = false;
  try {
    if (successCondition !== undefined) success = successCondition.evaluate(value, context);
    if (failureCondition !== undefined) failure = failureCondition.evaluate(value, context);
  } catch (error) {
    if (error instanceof MissingBaselineError) {
      return { phase: "Inconclusive", message: `no baseline of blue to compare with (${shown})` };
    }
    return { phase: "Error", message: `condition could not be evaluated: ${(error as Error).message} (${shown})` };
  }
  if (successCondition === undefined && failureCondition === undefined) {
    return { phase: "Successful", message: `no conditions (${shown})` };
  }
  if (successCondition !== undefined && failureCondition === undefined) failure = !success;
  if (successCondition === undefined && failureCondition !== undefined) success = !failure;
  if (failure) {
    return {
      phase: "Failed",
      message:
        failureCondition !== undefined
          ? `failureCondition \`${failureCondition.text}\` is true (${shown})`
          : `successCondition \`${successCondition!.text}\` is false (${shown})`,
    };
  }
  if (!success) {
    return { phase: "Inconclusive", message: `neither \`${successCondition!.text}\` nor \`${failureCondition!.text}\` holds (${shown})` };
  }
  return {
    phase: "Successful",
    message:
      successCondition !== undefined
        ? `successCondition \`${successCondition.text}\` holds (${shown})`
        : `failureCondition \`${failureCondition!.text}\` is false (${shown})`,
  };
}

/** Argo's assessMetricStatus. */
export function assessMetric(metric: ResolvedMetric, result: MetricResult, terminating: boolean): { phase: AnalysisPhase; reason?: string } {
  if (isCompleted(result.phase)) return { phase: result.phase, ...(result.message !== undefined ? { reason: result.message } : {}) };
  if (result.measurements.length === 0 && result.archived.count + result.archived.error === 0) {
    return terminating ? { phase: "Successful", reason: "run terminated before a measurement" } : { phase: "Pending" };
  }
  const t = tally(result);
  const last = result.measurements[result.measurements.length - 1];
  if (t.failed > metric.failureLimit) {
    return { phase: "Failed", reason: `failed (${t.failed}) > failureLimit (${metric.failureLimit}); last: ${last?.message ?? "-"}` };
  }
  if (t.inconclusive > metric.inconclusiveLimit) {
    return { phase: "Inconclusive", reason: `inconclusive (${t.inconclusive}) > inconclusiveLimit (${metric.inconclusiveLimit}); last: ${last?.message ?? "-"}` };
  }
  if (t.consecutiveError > metric.consecutiveErrorLimit) {
    return {
      phase: "Error",
      reason: `consecutive errors (${t.consecutiveError}) > consecutiveErrorLimit (${metric.consecutiveErrorLimit}); last: ${last?.message ?? "-"}`,
    };
  }
  if (metric.count !== undefined && t.count >= metric.count) return { phase: "Successful", reason: `count (${metric.count}) reached` };
  if (terminating) return { phase: "Successful", reason: "run terminated" };
  return { phase: "Running" };
}

/** Argo's IsTerminating: a metric that counts (not a dry run) completed badly. */
export function isTerminating(results: MetricResult[]): boolean {
  return results.some((r) => !r.dryRun && (r.phase === "Failed" || r.phase === "Error" || r.phase === "Inconclusive"));
}

/**
 * Argo's assessRunStatus: reassesses every metric (updating `phase` and
 * `message` in place) and returns the run's phase. Dry-run metrics are
 * assessed but never decide the run.
 */
export function assessRun(metrics: ResolvedMetric[], results: Map<string, MetricResult>): { phase: AnalysisPhase; cause?: { metric: string; reason: string } } {
  // First pass without termination: a metric may complete badly now.
  for (const metric of metrics) {
    const result = results.get(metric.name);
    if (result === undefined) continue;
    const { phase, reason } = assessMetric(metric, result, false);
    result.phase = phase;
    if (reason !== undefined && isCompleted(phase)) result.message = reason;
  }
  const terminating = isTerminating([...results.values()].filter((r) => metrics.some((m) => m.name === r.name)));
  let worst: AnalysisPhase | undefined;
  let cause: { metric: string; reason: string } | undefined;
  let everythingCompleted = true;
  let anyMeasured = false;
  for (const metric of metrics) {
    const result = results.get(metric.name);
    if (result === undefined) continue;
    const { phase, reason } = terminating ? assessMetric(metric, result, true) : { phase: result.phase, reason: result.message };
    if (terminating && !result.dryRun) {
      result.phase = phase;
      if (reason !== undefined) result.message = reason;
    }
    if (phase !== "Pending") anyMeasured = true;
    if (result.dryRun) continue;
    if (!isCompleted(phase)) {
      everythingCompleted = false;
    } else if (worst === undefined || isWorse(worst, phase)) {
      worst = phase;
      cause = { metric: metric.name, reason: reason ?? phase };
    }
  }
  if (!everythingCompleted || worst === undefined) return { phase: anyMeasured ? "Running" : "Pending" };
  return { phase: worst, ...(worst !== "Successful" && cause !== undefined ? { cause } : {}) };
}

function format(v: MetricValue): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, "");
  return JSON.stringify(v);
}
