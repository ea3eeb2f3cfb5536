/**
 * What the monitor publishes from its checkpoint: the summary it writes into
 * the release record (`steps.monitor`) and the snapshot Prometheus scrapes.
 * Pure: the checkpoint stays the one source of both.
 */
import { type Interface, getAddress } from "ethers";

import { iso } from "../common/format.js";
import type { ReleaseState } from "../release/record.js";
import type { SwitchStatus } from "../switch/read-switch.js";
import { tally } from "./analysis.js";
import { runSummary } from "./analysis-run.js";
import type { MonitorCheckpoint } from "./checkpoint.js";
import { subjectsOf } from "./fleet.js";
import type { MonitorStep } from "./monitor-step.js";
import type { MetricsSnapshot } from "./prometheus.js";
import { addToTotals, emptyTotals, mergeTotals } from "./traffic-metrics.js";

/**
 * The record's `steps.monitor`. Acknowledgements are written once there are
 * any, and kept (even empty) once the record had them.
 */
export function monitorStepOf(cp: MonitorCheckpoint, previous: MonitorStep | undefined, now: Date = new Date()): MonitorStep {
  const runs: MonitorStep["runs"] = {};
  for (const run of Object.values(cp.runs)) {
    const counted = Object.values(run.metrics).filter((m) => !m.dryRun);
    runs[run.subject] = {
      phase: run.phase,
      proxies: run.proxies.map((p) => getAddress(p)),
      startBlock: run.startBlock,
      promotedAt: iso(run.startTime),
      ...(run.measuredUntil !== undefined ? { measuredUntilBlock: run.measuredUntil.block, measuredUntil: iso(run.measuredUntil.time) } : {}),
      measurements: counted.reduce((n, m) => n + tally(m).count, 0),
      ...(run.cause !== undefined ? { cause: run.cause } : {}),
      baselineSource: run.baselineSource,
      ...(run.canary !== undefined ? { canary: run.canary } : {}),
      metrics: runSummary(run),
    };
  }
  const ar = cp.autoRollback;
  return {
    updatedAt: now.toISOString(),
    lastBlock: cp.tip?.n ?? 0,
    runs,
    ...(ar !== undefined
      ? {
          autoRollback: {
            reason: ar.reason,
            subject: ar.subject,
            guardian: ar.guardian,
            scheduled: Object.fromEntries(
              Object.entries(ar.scheduled).map(([p, s]) => [getAddress(p), { ...(s.txHash !== undefined ? { txHash: s.txHash } : {}), readyAt: iso(s.readyAt) }]),
            ),
            executed: Object.fromEntries(Object.entries(ar.executed).map(([p, h]) => [getAddress(p), h])),
            vetoed: ar.vetoed.map((p) => getAddress(p)),
            at: ar.at,
          },
        }
      : {}),
    ...(cp.acknowledgements.length > 0 || previous?.acknowledgements !== undefined ? { acknowledgements: cp.acknowledgements } : {}),
  };
}

/** The numbers behind /metrics: traffic since the promotion, gas samples, runs and where each proxy stands. */
export function metricsSnapshotOf(
  cp: MonitorCheckpoint,
  chain: { releaseState: ReleaseState; proxyStatus: Record<string, SwitchStatus>; head: number | undefined },
  abi: Interface | undefined,
): MetricsSnapshot {
  const totals = emptyTotals();
  for (const block of cp.ledger) addToTotals(totals, block);
  return {
    release: cp.release,
    totals: mergeTotals(cp.archivedTotals, totals),
    subjectOf: subjectsOf(cp),
    gas: Object.fromEntries(Object.entries(cp.recentGas).map(([k, v]) => [k, v.map(([, g]) => g)])),
    runs: Object.values(cp.runs),
    releaseState: chain.releaseState,
    proxyStatus: { ...chain.proxyStatus },
    ...(chain.head !== undefined ? { head: chain.head } : {}),
    ...(cp.tip !== undefined ? { lastProcessed: cp.tip.n } : {}),
    selectorName: (s) => {
      try {
        return abi?.getFunction(s)?.format("sighash") ?? s;
      } catch {
        return s;
      }
    },
    eventName: (t) => {
      try {
        return abi?.getEvent(t)?.format("sighash") ?? t;
      } catch {
        return t;
      }
    },
  };
}
