/**
 * What a monitor run ends with: one verdict over every analysis run and
 * every proxy's release on the switch, and the document bg:monitor prints.
 */
import { getAddress } from "ethers";

import type { SwitchStatus } from "../switch/read-switch.js";
import type { AnalysisPhase } from "./analysis.js";
import { runSummary } from "./analysis-run.js";
import type { MonitorCheckpoint } from "./checkpoint.js";

export type Verdict = "healthy" | "pending" | "paused" | "failed" | "rolling-back" | "rolled-back";

/** Why the monitor stopped. */
export type StopReason = "once" | "duration" | "release-closed" | "signal";

export interface MonitorOutcome {
  ok: boolean;
  release: string;
  chainId: number;
  verdict: Verdict;
  /** Why the monitor stopped. */
  stopped: StopReason;
  lastBlock?: number;
  head?: number;
  runs: Array<{
    wave: string;
    phase: AnalysisPhase;
    proxies: string[];
    baselineSource: string;
    cause?: { metric: string; reason: string };
    metrics: ReturnType<typeof runSummary>;
  }>;
  proxies: Array<{ proxy: string; wave: string; status: SwitchStatus; promotedBlock: number }>;
  autoRollback?: MonitorCheckpoint["autoRollback"];
  checkpoint: string;
}

/** A rollback on chain outranks the analysis: it is what happened, the analysis only what was seen. */
export function verdictOf(cp: MonitorCheckpoint, proxyStatus: Record<string, SwitchStatus>): Verdict {
  const statuses = Object.values(proxyStatus);
  if (statuses.some((s) => s === "rolled-back")) return "rolled-back";
  if (statuses.some((s) => s === "rollback-scheduled")) return "rolling-back";
  const phases = Object.values(cp.runs).map((r) => r.phase);
  if (phases.some((p) => p === "Failed" || p === "Error")) return "failed";
  if (phases.some((p) => p === "Inconclusive")) return "paused";
  if (phases.some((p) => p === "Running" || p === "Successful")) return "healthy";
  return "pending";
}

export function outcomeOf(
  cp: MonitorCheckpoint,
  proxyStatus: Record<string, SwitchStatus>,
  at: { release: string; chainId: number; stopped: StopReason; head: number | undefined; checkpoint: string },
): MonitorOutcome {
  const verdict = verdictOf(cp, proxyStatus);
  return {
    ok: verdict === "healthy" || verdict === "pending",
    release: at.release,
    chainId: at.chainId,
    verdict,
    stopped: at.stopped,
    ...(cp.tip !== undefined ? { lastBlock: cp.tip.n } : {}),
    ...(at.head !== undefined ? { head: at.head } : {}),
    runs: Object.values(cp.runs).map((run) => ({
      wave: run.subject,
      phase: run.phase,
      proxies: run.proxies.map((p) => getAddress(p)),
      baselineSource: run.baselineSource,
      ...(run.cause !== undefined ? { cause: run.cause } : {}),
      metrics: runSummary(run),
    })),
    proxies: Object.entries(cp.proxies).map(([p, v]) => ({ proxy: getAddress(p), wave: v.subject, status: proxyStatus[p] ?? "none", promotedBlock: v.promotedBlock })),
    ...(cp.autoRollback !== undefined ? { autoRollback: cp.autoRollback } : {}),
    checkpoint: at.checkpoint,
  };
}
