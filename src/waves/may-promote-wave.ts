/**
 * "May wave N be promoted now?" — a pure decision from the release record
 * (its wave plan and the monitor's analysis) and chain facts (where each
 * proxy's release stands on the switch, and the chain's time).
 *
 * Waves go in order. Wave N may be promoted once every earlier wave is live
 * and wave N-1 has baked healthy: its bake time has passed since its
 * promotion, and the monitor has analysed it up to at least the end of the
 * bake with a Running or Successful analysis based on real measurements.
 *
 * The approver may override the bake and health rules (recorded, with the
 * reason, in `steps.waves`); nothing overrides a rollback under way, a
 * skipped wave or an unknown wave.
 */
import { getAddress } from "ethers";

import { iso } from "../common/format.js";
import type { ReleaseRecord } from "../release/record.js";
import type { SwitchStatus } from "../switch/read-switch.js";
import { readMonitorStep } from "../monitor/monitor-step.js";
import { type WaveOverride, readWavesStep } from "./waves-step.js";

/** What the switch says about one fleet proxy, and the chain's time. */
export interface WaveChainFacts {
  /** Timestamp of the latest block (unix seconds): bake times are chain time. */
  now: number;
  proxies: Record<string, { status: SwitchStatus; green: string; promotedAt: number; /** End of its latest release's rollback window (unix seconds), when read. */ windowEnd?: number }>;
}

export type WaveRefusalKind =
  | "no-plan"
  | "unknown-wave"
  | "release-closed"
  | "rollback"
  | "other-release-open"
  | "already-promoted"
  | "previous-not-promoted"
  | "baking"
  | "no-analysis"
  | "analysis-behind"
  | "no-evidence"
  | "unhealthy";

export interface WaveRefusal {
  kind: WaveRefusalKind;
  message: string;
  /** True when an explicit approver override may bypass it. */
  overridable: boolean;
}

export interface WaveDecision {
  wave: string;
  /** Position in the plan (0 = first wave); -1 when unknown. */
  index: number;
  allowed: boolean;
  /** True when allowed only because the approver overrode refusals. */
  overridden: boolean;
  refusals: WaveRefusal[];
  /** The wave's proxies still to promote. */
  proxies: string[];
  /** The previous wave's bake, when there is one. */
  previous?: {
    wave: string;
    promotedAt: number;
    bakeEndsAt: number;
    analysisPhase?: string;
    measuredUntil?: number;
  };
  /** To store with the promotion (`recordWavePromotion`) when overridden. */
  override?: WaveOverride;
}

export interface WaveRequest {
  wave: string;
  /** An approver's explicit override of the bake and health rules. */
  override?: { by: string; reason: string };
  /** Wall-clock time of the decision, for the override's record. */
  at?: Date;
}

const LIVE: readonly SwitchStatus[] = ["live", "finalized"];

export function mayPromoteWave(record: ReleaseRecord, facts: WaveChainFacts, request: WaveRequest): WaveDecision {
  const refusals: WaveRefusal[] = [];
  const refuse = (kind: WaveRefusalKind, message: string, overridable: boolean) => refusals.push({ kind, message, overridable });
  const base = { wave: request.wave, overridden: false, refusals };

  const plan = readWavesStep(record);
  if (plan === undefined) {
    refuse("no-plan", `Release "${record.id}" has no wave plan. Plan it first: npx hardhat bg:waves --release ${record.id} --proxies <a,b,...>`, false);
    return { ...base, index: -1, allowed: false, proxies: [] };
  }
  const index = plan.waves.findIndex((w) => w.name === request.wave);
  if (index < 0) {
    refuse("unknown-wave", `Release "${record.id}" has no wave "${request.wave}". Its waves, in order: ${plan.waves.map((w) => w.name).join(", ")}.`, false);
    return { ...base, index, allowed: false, proxies: [] };
  }
  const wave = plan.waves[index]!;
  const green = getAddress(record.green.address);
  const fact = (p: string) => facts.proxies[getAddress(p)];
  const runsGreen = (p: string) => {
    const f = fact(p);
    return f !== undefined && getAddress(f.green) === green && f.promotedAt > 0 && LIVE.includes(f.status);
  };

  if (record.state === "rolled-back" || record.state === "rollback-scheduled" || record.state === "finalized") {
    refuse("release-closed", `Release "${record.id}" is ${record.state}; no further wave can be promoted. Stage a new release.`, false);
  }
  for (const p of plan.fleet) {
    const f = fact(p);
    if (f !== undefined && getAddress(f.green) === green && (f.status === "rollback-scheduled" || f.status === "rolled-back")) {
      refuse(
        "rollback",
        `Proxy ${getAddress(p)} of this release is ${f.status === "rolled-back" ? "rolled back" : "scheduled for rollback"}; the rollout stops there. ` +
          "Find out why (bg:status, the monitor's log) before anything else.",
        false,
      );
    }
  }

  // The switch refuses to promote a proxy whose latest release (another one) is still open (ReleaseStillOpen).
  for (const p of wave.proxies) {
    const f = fact(p);
    if (f === undefined || f.promotedAt === 0 || getAddress(f.green) === green) continue;
    if (f.status === "live" || f.status === "rollback-scheduled") {
      const until = f.windowEnd !== undefined && f.windowEnd > 0 ? ` (its rollback window is open until ${iso(f.windowEnd)})` : "";
      refuse(
        "other-release-open",
        `Proxy ${getAddress(p)} of wave "${wave.name}" is still in an open release of green ${getAddress(f.green)} on the switch${until}` +
          `${f.status === "rollback-scheduled" ? ", with a rollback scheduled" : ""}; the switch would refuse the promote (ReleaseStillOpen). ` +
          "Finalize that release (or roll it back) first: npx hardhat bg:finalize --release <its id> (bg:status lists it).",
        false,
      );
    }
  }

  const remaining = wave.proxies.filter((p) => !runsGreen(p));
  if (remaining.length === 0) refuse("already-promoted", `Wave "${wave.name}" is already live on all its ${wave.proxies.length} proxies.`, false);

  for (const earlier of plan.waves.slice(0, index)) {
    const notLive = earlier.proxies.filter((p) => !runsGreen(p));
    if (notLive.length > 0) {
      refuse(
        "previous-not-promoted",
        `Wave "${earlier.name}" comes first and is not live on ${notLive.length} of its proxies (${notLive.join(", ")}). Promote waves in order.`,
        false,
      );
    }
  }

  let previous: WaveDecision["previous"];
  const monitor = readMonitorStep(record);
  if (index > 0 && !refusals.some((r) => r.kind === "previous-not-promoted")) {
    const prev = plan.waves[index - 1]!;
    const promotedAt = Math.max(...prev.proxies.map((p) => fact(p)?.promotedAt ?? 0));
    const bakeEndsAt = promotedAt + prev.bakeSeconds;
    const run = monitor?.runs[prev.name];
    const measuredUntil = run?.measuredUntil !== undefined ? Math.floor(Date.parse(run.measuredUntil) / 1000) : undefined;
    previous = {
      wave: prev.name,
      promotedAt,
      bakeEndsAt,
      ...(run !== undefined ? { analysisPhase: run.phase } : {}),
      ...(measuredUntil !== undefined ? { measuredUntil } : {}),
    };
    if (facts.now < bakeEndsAt) {
      refuse("baking", `Wave "${prev.name}" is still baking until ${iso(bakeEndsAt)} (${bakeEndsAt - facts.now}s of its ${prev.bakeSeconds}s bake left).`, true);
    }
    if (run === undefined) {
      refuse("no-analysis", `The monitor has not analysed wave "${prev.name}". Run npx hardhat bg:monitor --release ${record.id} (or --once) over its bake.`, true);
    } else {
      if (measuredUntil === undefined || measuredUntil < bakeEndsAt) {
        refuse(
          "analysis-behind",
          `The monitor has analysed wave "${prev.name}" up to ${measuredUntil === undefined ? "no block yet" : iso(measuredUntil)}, not to the end of its bake at ${iso(bakeEndsAt)}. ` +
            `Let bg:monitor catch up (or run it with --once).`,
          true,
        );
      }
      if (run.phase !== "Running" && run.phase !== "Successful") {
        refuse("unhealthy", `The analysis of wave "${prev.name}" is ${run.phase}${run.cause !== undefined ? `: ${run.cause.metric}: ${run.cause.reason}` : ""}.`, true);
      } else if (run.measurements === 0) {
        refuse("no-evidence", `The analysis of wave "${prev.name}" has no measurement yet (no traffic or probe judged it), so its health is unproven.`, true);
      }
    }
  }
  for (const earlier of plan.waves.slice(0, Math.max(0, index - 1))) {
    const run = monitor?.runs[earlier.name];
    if (run !== undefined && (run.phase === "Failed" || run.phase === "Error" || run.phase === "Inconclusive")) {
      refuse("unhealthy", `The analysis of wave "${earlier.name}" is ${run.phase}${run.cause !== undefined ? `: ${run.cause.metric}: ${run.cause.reason}` : ""}.`, true);
    }
  }

  const blocking = refusals.filter((r) => !r.overridable);
  const overridable = refusals.filter((r) => r.overridable);
  const overridden = request.override !== undefined && blocking.length === 0 && overridable.length > 0;
  const allowed = blocking.length === 0 && (overridable.length === 0 || overridden);
  return {
    wave: wave.name,
    index,
    allowed,
    overridden,
    refusals,
    proxies: remaining,
    ...(previous !== undefined ? { previous } : {}),
    ...(overridden
      ? {
          override: {
            by: request.override!.by,
            reason: request.override!.reason,
            at: (request.at ?? new Date()).toISOString(),
            refusals: overridable.map((r) => r.message),
            kinds: [...new Set(overridable.map((r) => r.kind))],
          },
        }
      : {}),
  };
}

/** One sentence for people: why the wave may or may not go now. */
export function explainWaveDecision(decision: WaveDecision): string {
  if (decision.allowed && !decision.overridden) return `Wave "${decision.wave}" may be promoted now (${decision.proxies.length} proxies).`;
  if (decision.allowed) {
    return `Wave "${decision.wave}" may be promoted only through the approver's override, which will be recorded: ${decision.refusals.map((r) => r.message).join(" ")}`;
  }
  const hint = decision.refusals.every((r) => r.overridable) ? " The approver can override this explicitly (the override is recorded)." : "";
  return `Wave "${decision.wave}" may not be promoted now. ${decision.refusals.map((r) => r.message).join(" ")}${hint}`;
}
