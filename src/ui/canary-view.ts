/**
 * What the canary step commands print: `bg:propose --step`, `bg:switch
 * --step`. The --json documents extend the release's ones with the step:
 * - propose: ProposeJson + { step, bps, router, routerCodehash }
 * - switch:  { ok, txHash, implementation, step, bps, windowEnd }
 */
import type { ProposeCanaryStepOutcome, SwitchCanaryStepOutcome } from "../approval/canary-switch.js";
import { type ProposeJson, nextAfterPropose, proposeJson, renderPropose } from "./approval-view.js";
import { style } from "./output.js";

export function canaryProposeJson(outcome: ProposeCanaryStepOutcome): ProposeJson & { step: string; bps: number; router: string | null; routerCodehash: string | null } {
  return { ...proposeJson(outcome), step: outcome.step, bps: outcome.bps, router: outcome.router ?? null, routerCodehash: outcome.routerCodehash ?? null };
}

export function renderCanaryPropose(outcome: ProposeCanaryStepOutcome): string {
  const option = `--release ${outcome.record.id} --step ${outcome.step}`;
  const lines = [renderPropose(outcome, nextAfterPropose(outcome.proposal, option, `npx hardhat bg:switch ${option}`))];
  lines.push(
    outcome.router !== undefined
      ? `  router          ${outcome.router} (code hash ${outcome.routerCodehash}), ${outcome.bps / 100}% of callers on green`
      : "  every caller on green: the canary ends",
  );
  return lines.join("\n");
}

export function canarySwitchJson(outcome: SwitchCanaryStepOutcome): { ok: boolean; [field: string]: unknown } {
  if (outcome.status === "waiting") {
    return { ok: false, txHash: null, implementation: null, step: outcome.step, missing: outcome.missing, error: `${outcome.missing} signature(s) missing (${outcome.signatures} of ${outcome.threshold}); nothing was sent. Owners sign with bg:approve --step ${outcome.step}.` };
  }
  return { ok: true, txHash: outcome.txHash, implementation: outcome.implementation, step: outcome.step, bps: outcome.bps, windowEnd: outcome.windowEnd };
}

export function renderCanarySwitch(outcome: SwitchCanaryStepOutcome): string {
  if (outcome.status === "waiting") {
    return style.warn(
      outcome.timelock !== undefined
        ? `Scheduled on the timelock ${outcome.timelock.timelock}; run the same command again after ${outcome.timelock.etaIso}.`
        : `${outcome.missing} signature(s) missing (${outcome.signatures} of ${outcome.threshold}); nothing was sent. Owners sign with bg:approve --step ${outcome.step}.`,
    );
  }
  const what = outcome.bps === 10_000 ? `${style.green(outcome.implementation)} (green, every caller)` : `${outcome.implementation} (canary router: ${outcome.bps / 100}% of callers on green)`;
  return [
    `${style.ok("✔")} canary step ${outcome.step} of release ${outcome.record.id} ${outcome.alreadyLive ? "was already live" : "is live"}`,
    `  proxy           ${outcome.record.proxy}`,
    `  implementation  ${what}`,
    `  tx              ${outcome.txHash}`,
    `  rollback window open until ${outcome.windowEnd}; roll back to blue from any step with bg:rollback --release ${outcome.record.id}`,
  ].join("\n");
}
