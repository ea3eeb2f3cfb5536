/**
 * What a monitor run ends with: one verdict over every analysis run and
 * every proxy's release on the switch, and the document bg:monitor prints.
 */
import { getAddress } from "ethers";

import type { SwitchStatus } from "../switch/read-switch.js";
import type { AnalysisPhase } from "./analysis.js";
import { runSummary } from "./analysis-run.js";
import type { CanaryRun } from "./canary-measurement.js";
import type { MonitorCheckpoint } from "./checkpoint.js";

export type Verdict = "healthy" | "pending" | "paused" | "inconclusive" | "failed" | "rolling-back" | "rolled-back";

/**
 * The exit code of `bg:monitor` for a verdict, as bg:replay's: 0 nothing
 * wrong was seen on every block due, 1 something is wrong (or being rolled
 * back), 2 the monitor could not look at enough of the chain to say.
 */
export const VERDICT_EXIT_CODES: Readonly<Record<Verdict, number>> = {
  healthy: 0,
  pending: 0,
  paused: 1,
  failed: 1,
  "rolling-back": 1,
  "rolled-back": 1,
  inconclusive: 2,
};

/**
 * Blocks since the promotion: `due` up to the confirmed head the monitor
 * last read, `analysed` up to the last block it processed. Nothing after
 * `analysed` was looked at.
 */
export interface BlockCoverage {
  analysed: number;
  due: number;
}

/** Why the monitor stopped. */
export type StopReason = "once" | "duration" | "release-closed" | "signal";

export interface MonitorOutcome {
  ok: boolean;
  release: string;
  chainId: number;
  verdict: Verdict;
  /** Why the monitor stopped. */
  stopped: StopReason;
  blocks: BlockCoverage;
  lastBlock?: number;
  head?: number;
  runs: Array<{
    wave: string;
    phase: AnalysisPhase;
    proxies: string[];
    baselineSource: string;
    cause?: { metric: string; reason: string };
    /** The CanaryRouter of a canary step (its canary metrics compare green's cohort with blue's). */
    canary?: CanaryRun;
    metrics: ReturnType<typeof runSummary>;
  }>;
  proxies: Array<{ proxy: string; wave: string; status: SwitchStatus; promotedBlock: number }>;
  autoRollback?: MonitorCheckpoint["autoRollback"];
  /** What this run changed in the release record to match the switch (a reorg removed a rollback, an approver vetoed it). */
  reconciled?: Reconciliation[];
  checkpoint: string;
}

export interface Reconciliation {
  proxy: string;
  from: string;
  to: string;
  reason: string;
  txHash?: string;
}

/** Blocks due and analysed, from the checkpoint and the confirmed head last read. */
export function coverageOf(cp: MonitorCheckpoint, confirmed: number | undefined): BlockCoverage {
  const promoted = Object.values(cp.proxies).map((p) => p.promotedBlock);
  if (promoted.length === 0 || cp.tip === undefined) return { analysed: 0, due: 0 };
  const first = Math.min(...promoted) + 1;
  const analysed = Math.max(0, cp.tip.n - first + 1);
  const due = confirmed === undefined ? analysed : Math.max(analysed, confirmed - first + 1);
  return { analysed, due };
}

/**
 * A rollback on chain outranks the analysis: it is what happened, the
 * analysis only what was seen. A failure seen stands however little was
 * read; "nothing wrong" needs every block due to have been read (`looked`:
 * this run read the head, and `coverage` is complete up to it), else the
 * verdict is inconclusive.
 */
export function verdictOf(cp: MonitorCheckpoint, proxyStatus: Record<string, SwitchStatus>, seen: { coverage: BlockCoverage; looked: boolean }): Verdict {
  const statuses = Object.values(proxyStatus);
  if (statuses.some((s) => s === "rolled-back")) return "rolled-back";
  if (statuses.some((s) => s === "rollback-scheduled")) return "rolling-back";
  const phases = Object.values(cp.runs).map((r) => r.phase);
  if (phases.some((p) => p === "Failed" || p === "Error")) return "failed";
  if (phases.some((p) => p === "Inconclusive")) return "paused";
  if (!seen.looked || seen.coverage.analysed < seen.coverage.due) return "inconclusive";
  if (phases.some((p) => p === "Running" || p === "Successful")) return "healthy";
  return "pending";
}

export function outcomeOf(
  cp: MonitorCheckpoint,
  proxyStatus: Record<string, SwitchStatus>,
  at: {
    release: string;
    chainId: number;
    stopped: StopReason;
    head: number | undefined;
    confirmed: number | undefined;
    looked: boolean;
    reconciled: Reconciliation[];
    checkpoint: string;
  },
): MonitorOutcome {
  const blocks = coverageOf(cp, at.confirmed);
  const verdict = verdictOf(cp, proxyStatus, { coverage: blocks, looked: at.looked });
  return {
    ok: verdict === "healthy" || verdict === "pending",
    release: at.release,
    chainId: at.chainId,
    verdict,
    stopped: at.stopped,
    blocks,
    ...(cp.tip !== undefined ? { lastBlock: cp.tip.n } : {}),
    ...(at.head !== undefined ? { head: at.head } : {}),
    runs: Object.values(cp.runs).map((run) => ({
      wave: run.subject,
      phase: run.phase,
      proxies: run.proxies.map((p) => getAddress(p)),
      baselineSource: run.baselineSource,
      ...(run.cause !== undefined ? { cause: run.cause } : {}),
      ...(run.canary !== undefined ? { canary: run.canary } : {}),
      metrics: runSummary(run),
    })),
    proxies: Object.entries(cp.proxies).map(([p, v]) => ({ proxy: getAddress(p), wave: v.subject, status: proxyStatus[p] ?? "none", promotedBlock: v.promotedBlock })),
    ...(cp.autoRollback !== undefined ? { autoRollback: cp.autoRollback } : {}),
    ...(at.reconciled.length > 0 ? { reconciled: at.reconciled } : {}),
    checkpoint: at.checkpoint,
  };
}
