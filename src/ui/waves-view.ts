/**
 * What bg:waves prints (each wave's progress and whether the next may go),
 * and the wave forms of bg:propose and bg:switch.
 */
import type { ProposeWaveOutcome, SwitchWaveOutcome } from "../approval/wave-switch.js";
import { type WaveDecision, explainWaveDecision } from "../waves/may-promote-wave.js";
import type { WaveStatus } from "../waves/waves-status.js";
import { nextAfterPropose, proposeJson, renderPropose } from "./approval-view.js";
import { style } from "./output.js";

export function renderWaves(release: string, waves: WaveStatus[], decision: WaveDecision | undefined): string {
  const lines = [style.bold(`Waves of release ${release}`)];
  waves.forEach((w, i) => {
    const bake = w.bakeEndsAt !== undefined ? `bake until ${w.bakeEndsAt}` : `bake ${w.bakeSeconds}s`;
    const analysis = w.analysis !== undefined ? `analysis ${w.analysis}` : "not analysed";
    lines.push(`  ${i + 1}. ${w.name.padEnd(12)} ${String(w.live).padStart(3)}/${w.proxies.length} live   ${w.state.padEnd(11)} ${bake}   ${analysis}`);
    if (w.override !== undefined) lines.push(style.warn(`     promoted by override of ${w.override.by} at ${w.override.at}: ${w.override.reason}`));
  });
  if (decision !== undefined) lines.push("", decision.allowed && !decision.overridden ? style.ok(explainWaveDecision(decision)) : style.warn(explainWaveDecision(decision)));
  return lines.join("\n");
}

// ---------------------------------------------------------------------------
// bg:propose --wave and bg:switch --wave

/** bg:propose --wave's document: bg:propose's fields, plus the wave, its proxies and any override. */
export function waveProposeJson(outcome: ProposeWaveOutcome) {
  return {
    ...proposeJson(outcome),
    release: outcome.record.id,
    state: outcome.record.state,
    wave: outcome.wave,
    proxies: outcome.proxies,
    evidenceHash: outcome.evidenceHash,
    override: outcome.override ?? null,
  };
}

export function renderWavePropose(outcome: ProposeWaveOutcome): string {
  const option = `--release ${outcome.record.id}`;
  const next = nextAfterPropose(outcome.proposal, option, `npx hardhat bg:switch ${option} --wave ${outcome.wave}`);
  const lines = [
    renderPropose(outcome, next),
    "",
    `  wave            ${outcome.wave} (${outcome.position.index} of ${outcome.position.of}), one promoteBatch for ${outcome.proxies.length} ${outcome.proxies.length === 1 ? "proxy" : "proxies"}`,
    ...outcome.proxies.map((p) => `                  ${p}`),
  ];
  if (outcome.override !== undefined) {
    lines.push(style.warn(`  OVERRIDE of the bake rule by ${outcome.override.by}: ${outcome.override.reason}`));
    for (const r of outcome.override.refusals) lines.push(style.warn(`    bypasses: ${r}`));
    lines.push(style.warn("  Signers see it in summary.md; it is recorded in the release."));
  } else if (outcome.overrideUnneeded) {
    lines.push(style.dim("  --override-bake was not needed (the wave may go now), so no override was recorded."));
  }
  return lines.join("\n");
}

/** bg:switch --wave's document: bg:switch's fields, plus the wave and its proxies. */
export function waveSwitchJson(outcome: SwitchWaveOutcome) {
  if (outcome.status === "waiting") {
    return {
      ok: false,
      txHash: null,
      implementation: null,
      wave: outcome.wave,
      missing: outcome.missing,
      error: `${outcome.missing} signature(s) missing for wave ${outcome.wave} (${outcome.signatures} of ${outcome.threshold}); nothing was sent. Owners sign with bg:approve.`,
    };
  }
  return {
    ok: true,
    txHash: outcome.txHash,
    implementation: outcome.implementation,
    release: outcome.record.id,
    state: outcome.record.state,
    wave: outcome.wave,
    proxies: outcome.proxies,
    windowEnd: outcome.windowEnd,
    override: outcome.override ?? null,
  };
}

export function renderWaveSwitch(outcome: SwitchWaveOutcome): string {
  if (outcome.status === "waiting") return style.warn(waveSwitchJson(outcome).error!);
  const how = outcome.alreadyLive ? "was already live" : outcome.resumed ? "is live (its transaction was found mined)" : "is live";
  const lines = [
    `${style.ok("✔")} wave ${outcome.wave} of release ${outcome.record.id} ${how} on ${outcome.proxies.length} ${outcome.proxies.length === 1 ? "proxy" : "proxies"}`,
    ...outcome.proxies.map((p) => `  proxy           ${p}`),
    `  implementation  ${style.green(outcome.implementation)} (green)`,
    `  tx              ${outcome.txHash ?? "(recorded without a transaction)"}`,
    `  rollback window open until ${outcome.windowEnd}`,
  ];
  if (outcome.override !== undefined) lines.push(style.warn(`  promoted on the approver's override (${outcome.override.by}): ${outcome.override.reason}`));
  lines.push(style.dim(`  next            npx hardhat bg:monitor --release ${outcome.record.id}; bg:status shows every wave`));
  return lines.join("\n");
}
