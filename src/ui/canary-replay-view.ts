/**
 * What people read of a `bg:replay --canary` run: the split the live canary
 * would make, and the router's gas overhead (terminal and Markdown).
 */
import path from "node:path";

import type { CanaryReplaySummary } from "../replay/canary-replay.js";
import { style } from "./output.js";

const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.01 ? 2 : 1)}%`;

function overheadText(s: CanaryReplaySummary): string {
  const o = s.routerOverhead;
  return o.txs === 0 ? "not measured (no successful call of blue's cohort)" : `median ${o.median} gas (min ${o.min}, max ${o.max}) over ${o.txs} call(s) of blue's cohort`;
}

/** Lines for the terminal, after the replay's own summary. */
export function renderCanaryReplay(s: CanaryReplaySummary, files?: { reportPath: string; markdownPath: string }): string {
  const lines = [
    "",
    style.bold(`Canary at ${s.bps / 100}% (cohort by ${s.cohortBy}, salt ${s.salt}):`),
    `  green's cohort: ${s.cohorts.green.txs} tx(s), ${s.cohorts.green.diverged} diverged from blue`,
    `  blue's cohort:  ${s.cohorts.blue.txs} tx(s), ${s.cohorts.blue.diverged} differed (the router's gas, or worse)`,
    `  ran green behind the router: ${pct(s.observedShare)} of compared txs`,
    `  router overhead: ${overheadText(s)}`,
  ];
  if (s.mismatched.length > 0) lines.push(style.bad(`  ${s.mismatched.length} tx(s) ran on the side their cohort does not say: ${s.mismatched.slice(0, 3).join(", ")}`));
  if (files !== undefined) {
    const rel = (p: string) => path.relative(process.cwd(), p) || p;
    lines.push("", `Report: ${rel(files.reportPath)} (and ${path.basename(files.markdownPath)}). A canary replay is not the release's replay evidence: the record is unchanged.`);
  }
  return lines.join("\n");
}

/** A Markdown section for the report file. */
export function canaryMarkdown(s: CanaryReplaySummary): string[] {
  const out = [
    `## Canary at ${s.bps / 100}% (cohort by \`${s.cohortBy}\`)`,
    "",
    "| cohort | transactions | differed from blue |",
    "|---|---|---|",
    `| green | ${s.cohorts.green.txs} | ${s.cohorts.green.diverged} |`,
    `| blue | ${s.cohorts.blue.txs} | ${s.cohorts.blue.diverged} |`,
    "",
    `Ran green behind the router: ${pct(s.observedShare)} of compared transactions. Router overhead: ${overheadText(s)}.`,
    "",
  ];
  if (s.mismatched.length > 0) out.push(`**${s.mismatched.length} transaction(s) ran on the side their cohort does not say.**`, "");
  out.push("<details><summary>Cohort per transaction</summary>", "", "| tx | from | cohort | ran | gas blue | gas via router |", "|---|---|---|---|---|---|");
  for (const t of s.txs) out.push(`| \`${t.hash}\` | \`${t.from ?? "?"}\` | ${t.cohort ?? "unknown"} | ${t.ran} | ${t.blueGas} | ${t.routedGas} |`);
  out.push("", "</details>", "");
  return out;
}
