/**
 * What the monitor tells people about its analysis: each run event as a log
 * line, one alert per run that failed or paused (remembered in the
 * checkpoint, so a restart does not repeat it), and a person's
 * acknowledgement, which starts a fresh run where the ended one stopped.
 */
import type { AnalysisPhase } from "./analysis.js";
import { type RunEvent, newRun } from "./analysis-run.js";
import type { MonitorCheckpoint } from "./checkpoint.js";
import type { ResolvedMetric } from "./config.js";
import type { MonitorLog } from "./json-log.js";

const ENDED: readonly AnalysisPhase[] = ["Inconclusive", "Failed", "Error"];

export function logRunEvent(log: MonitorLog, event: RunEvent): void {
  if (event.kind === "measurement") {
    const m = event.measurement;
    log(m.phase === "Successful" ? "info" : "warn", "measurement", {
      wave: event.subject,
      metric: event.metric,
      dryRun: event.dryRun,
      phase: m.phase,
      value: m.value,
      baseline: m.baseline,
      samples: m.samples,
      fromBlock: m.fromBlock,
      toBlock: m.toBlock,
      message: m.message,
    });
  } else if (event.kind === "metric-phase") {
    log("info", "metric-phase", { wave: event.subject, metric: event.metric, from: event.from, to: event.to, reason: event.reason });
  } else {
    const bad = event.to === "Failed" || event.to === "Error" || event.to === "Inconclusive";
    log(bad ? "alert" : "info", "analysis-phase", { wave: event.subject, from: event.from, to: event.to, cause: event.cause });
  }
}

/** Raises the alert of every run that ended Failed, Error or Inconclusive, once per run and phase. */
export function raiseAlerts(cp: MonitorCheckpoint, log: MonitorLog, release: { id: string; autoRollback: boolean }): void {
  for (const run of Object.values(cp.runs)) {
    const key = `${run.subject}:${run.phase}`;
    if (!ENDED.includes(run.phase) || cp.alerted.includes(key)) continue;
    cp.alerted.push(key);
    const why = run.cause !== undefined ? `${run.cause.metric}: ${run.cause.reason}` : run.phase;
    if (run.phase === "Inconclusive") {
      log("alert", "analysis-paused", {
        wave: run.subject,
        reason: why,
        message: `The analysis of ${run.subject} is inconclusive: it is paused and nothing is rolled back. Look at the metrics, then roll back (bg:rollback) or resume the analysis (bg:monitor --acknowledge).`,
      });
    } else {
      log("alert", "analysis-failed", {
        wave: run.subject,
        reason: why,
        message: release.autoRollback
          ? "Rolling back through the guardian path."
          : `Auto-rollback is off: roll back with npx hardhat bg:rollback --release ${release.id}, or acknowledge with bg:monitor --acknowledge.`,
      });
    }
  }
}

/**
 * A person looked at a paused or failed analysis and wants it to go on: a
 * new run starts where the old one stopped, keeping its baseline, and its
 * alerts may be raised again.
 */
export function acknowledgeRuns(
  cp: MonitorCheckpoint,
  reason: string | undefined,
  metricsFor: (subject: string) => ResolvedMetric[],
  log: MonitorLog,
): void {
  const ended = Object.values(cp.runs).filter((r) => ENDED.includes(r.phase));
  if (ended.length === 0) log("info", "nothing-to-acknowledge", { message: "no analysis run is paused or failed; --acknowledge changed nothing" });
  for (const run of ended) {
    const from = run.measuredUntil ?? { block: run.startBlock - 1, time: run.startTime };
    const fresh = newRun(run.subject, run.proxies, from.block + 1, from.time, metricsFor(run.subject));
    fresh.baseline = run.baseline;
    fresh.baselineSource = run.baselineSource;
    if (run.canary !== undefined) fresh.canary = run.canary;
    cp.acknowledgements.push({ subject: run.subject, phase: run.phase, at: new Date().toISOString(), block: from.block, ...(reason !== undefined ? { reason } : {}) });
    cp.alerted = cp.alerted.filter((a) => !isAlertOf(a, run.subject));
    cp.runs[run.subject] = fresh;
    log("info", "analysis-acknowledged", { subject: run.subject, previousPhase: run.phase, fromBlock: from.block + 1, reason });
  }
}

/** Alert keys are `${subject}:${phase}`. */
function isAlertOf(key: string, subject: string): boolean {
  return key.startsWith(`${subject}:`);
}
