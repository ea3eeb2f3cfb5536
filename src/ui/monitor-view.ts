/**
 * What bg:monitor prints at the end: the verdict, each analysis run with its
 * metrics, and any rollback. Pure functions from the outcome to text / JSON.
 */
import path from "node:path";

import { iso } from "../common/format.js";
import type { MonitorOutcome } from "../monitor/outcome.js";
import { style } from "./output.js";

export function monitorJson(outcome: MonitorOutcome): MonitorOutcome {
  return { ...outcome, checkpoint: path.relative(process.cwd(), outcome.checkpoint) || outcome.checkpoint };
}

const VERDICT_TEXT: Record<MonitorOutcome["verdict"], string> = {
  healthy: "healthy",
  pending: "nothing judged yet (no measurement so far)",
  paused: "paused: the analysis is inconclusive",
  inconclusive: "inconclusive: too few blocks analysed to judge",
  failed: "failing",
  "rolling-back": "rolling back (scheduled, waiting for the delay)",
  "rolled-back": "rolled back to blue",
};

const STOPPED_TEXT: Record<MonitorOutcome["stopped"], string> = {
  once: "one pass (--once)",
  duration: "--duration reached",
  "release-closed": "the release is closed",
  signal: "interrupted",
};

export function renderMonitor(outcome: MonitorOutcome): string {
  const mark = outcome.ok ? style.ok("✓") : style.bad("✗");
  const lines = [
    `${mark} Release ${style.bold(outcome.release)} on chain ${outcome.chainId}: ${outcome.ok ? style.ok(VERDICT_TEXT[outcome.verdict]) : style.bad(VERDICT_TEXT[outcome.verdict])}` +
      style.dim(`  (stopped: ${STOPPED_TEXT[outcome.stopped]}; block ${outcome.lastBlock ?? "-"} of ${outcome.head ?? "-"})`),
    `  blocks analysed: ${blocksText(outcome)}`,
  ];
  for (const run of outcome.runs) {
    lines.push(`  ${run.wave === "release" ? "analysis" : `wave ${run.wave}`}: ${phaseText(run.phase)}   ${style.dim(`proxies ${run.proxies.join(", ")}; baseline: ${run.baselineSource}`)}`);
    if (run.cause !== undefined) lines.push(`    ${style.bad("cause")} ${run.cause.metric}: ${run.cause.reason}`);
    for (const [name, m] of Object.entries(run.metrics)) {
      const counts = `${m.successful} ok, ${m.failed} failed, ${m.inconclusive} inconclusive, ${m.error} errors`;
      const value = m.lastValue !== undefined ? `last ${typeof m.lastValue === "number" ? round(m.lastValue) : String(m.lastValue)}` : "no measurement yet";
      lines.push(`    ${name.padEnd(18)} ${phaseText(m.phase).padEnd(12)} ${value.padEnd(22)} ${style.dim(counts)}${m.dryRun ? style.dim(" (dry run)") : ""}`);
    }
  }
  const ar = outcome.autoRollback;
  if (ar !== undefined) {
    lines.push(`  ${style.bold("auto-rollback")} by guardian ${ar.guardian}: ${ar.reason}`);
    for (const [proxy, s] of Object.entries(ar.scheduled)) {
      lines.push(`    ${proxy}: scheduled${s.txHash !== undefined ? ` (tx ${s.txHash})` : ""}, executable from ${iso(s.readyAt)}`);
    }
    for (const [proxy, tx] of Object.entries(ar.executed)) lines.push(`    ${proxy}: ${style.ok("rolled back")} (tx ${tx})`);
    for (const proxy of ar.vetoed) lines.push(`    ${proxy}: ${style.warn("not rolled back (vetoed by the approver, or the window closed)")}`);
  }
  for (const r of outcome.reconciled ?? []) {
    lines.push(`  ${style.warn("record reconciled")} ${r.proxy}: ${r.from} → ${r.to} (${RECONCILED_TEXT[r.reason] ?? r.reason}${r.txHash !== undefined ? `: ${r.txHash}` : ""})`);
  }
  lines.push(style.dim(`  checkpoint ${outcome.checkpoint}`));
  return lines.join("\n");
}

const RECONCILED_TEXT: Record<string, string> = {
  "rollback-orphaned": "a reorg removed the rollback transaction",
};

/** "412 of 412 due", flagged when short: the verdict covers only what was read. */
function blocksText(outcome: MonitorOutcome): string {
  const { analysed, due } = outcome.blocks;
  if (outcome.proxies.length === 0) return "none yet (no promotion found)";
  const text = `${analysed} of ${due} due since the promotion`;
  return analysed < due ? style.bad(`${text} (${due - analysed} not analysed)`) : text;
}

function phaseText(phase: string): string {
  if (phase === "Successful" || phase === "Running") return style.ok(phase);
  if (phase === "Pending") return style.dim(phase);
  if (phase === "Inconclusive") return style.warn(phase);
  return style.bad(phase);
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}
