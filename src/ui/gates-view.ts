/** Every string a person reads from bg:gates and bg:attest, and their JSON documents. */
import path from "node:path";

import { formatTable, type TableItem } from "@nomicfoundation/hardhat-utils/format";

import { style } from "./output.js";
import { recordKind } from "../release/record.js";
import type { AttestReleaseResult } from "../gates/attest-release.js";
import { anyGateConfigured, noGatesReason, type EvidenceDrift, type RecordedGates } from "../gates/gates-step.js";
import type { GateResult, GateStatus } from "../gates/gate-result.js";

export interface GatesOutcome {
  ok: boolean;
  release: string;
  chainId: number;
  /** The release's proxy kind (transparent, uups, beacon): what the gates were evaluated for. */
  kind: string;
  /** The address the switch upgrades: the proxy, or a beacon. */
  proxy: string;
  evidenceHash: string;
  state: string;
  stateNote: string;
  storedAs: string;
  evidenceFile?: string;
  previousEvidenceHash?: string;
  /** Drift of the evidence recorded before this run (undefined when there was none). */
  driftBefore?: Pick<EvidenceDrift, "ok" | "problems">;
  /** The recorded waiver, when no gate is configured and the config waives them. */
  waiver?: { reason: string };
  /** Set when no gate is configured and nothing waives them: the run fails closed. */
  noGates?: string;
  /** Files bg:gates wrote into the release folder (runbook, alert rules, dashboard, build info). */
  wrote?: string[];
  gates: Array<Pick<GateResult, "name" | "ok" | "status" | "required" | "detail" | "fix" | "code" | "evidence" | "notes">>;
}

/** The JSON document of bg:gates: `{ ok, release, evidenceHash, gates: [...] }` plus context. */
export function gatesJson(recorded: RecordedGates, extra: { evidenceFile?: string; driftBefore?: EvidenceDrift; wrote?: string[] }): GatesOutcome {
  const { record, step } = recorded;
  return {
    ok: step.ok,
    release: record.id,
    chainId: record.chainId,
    kind: recordKind(record),
    proxy: record.proxy,
    evidenceHash: step.evidenceHash,
    state: record.state,
    stateNote: recorded.stateNote,
    storedAs: `steps.${recorded.storedAs}`,
    ...(extra.evidenceFile !== undefined ? { evidenceFile: extra.evidenceFile } : {}),
    ...(recorded.previousEvidenceHash !== undefined ? { previousEvidenceHash: recorded.previousEvidenceHash } : {}),
    ...(extra.driftBefore?.checked === true ? { driftBefore: { ok: extra.driftBefore.ok, problems: extra.driftBefore.problems } } : {}),
    ...(step.waiver !== undefined ? { waiver: step.waiver } : {}),
    ...(!anyGateConfigured(step.results) && step.waiver === undefined ? { noGates: noGatesReason(record.id) } : {}),
    ...(extra.wrote !== undefined && extra.wrote.length > 0 ? { wrote: extra.wrote } : {}),
    gates: step.results.map((r) => ({
      name: r.name,
      ok: r.ok,
      status: r.status,
      required: r.required,
      detail: r.detail,
      ...(r.fix !== undefined ? { fix: r.fix } : {}),
      ...(r.code !== undefined ? { code: r.code } : {}),
      evidence: r.evidence,
      ...(r.notes !== undefined ? { notes: r.notes } : {}),
    })),
  };
}

function statusCell(status: GateStatus, required: boolean): string {
  switch (status) {
    case "pass":
      return style.ok("pass");
    case "fail":
      return required ? style.bad("FAIL") : style.warn("fail (advisory)");
    case "inconclusive":
      return required ? style.bad("inconclusive") : style.warn("inconclusive (advisory)");
    case "not-configured":
      return style.dim("not configured");
    case "not-applicable":
      return style.dim("not applicable");
  }
}

/** The table of gates, then fixes, notes and what happened to the release. */
export function renderGates(outcome: GatesOutcome): string {
  const rows: TableItem[] = [{ type: "header", cells: ["gate", "status", "required", "evidence"] }];
  for (const g of outcome.gates) {
    rows.push({
      type: "row",
      cells: [g.name, statusCell(g.status, g.required), g.status === "not-configured" || g.status === "not-applicable" ? "" : g.required ? "yes" : "advisory", clip(g.detail, 80)],
    });
  }
  const target = outcome.kind === "beacon" ? `beacon ${outcome.proxy}, every proxy of it` : `${outcome.kind === "uups" ? "UUPS" : "transparent"} proxy ${outcome.proxy}`;
  const lines = [style.bold(`Gates of release ${outcome.release} (chain ${outcome.chainId}, ${target})`), formatTable(rows)];
  const toFix = outcome.gates.filter((g) => g.fix !== undefined && g.status !== "pass");
  if (toFix.length > 0) {
    lines.push("", style.bold("How to fix"));
    for (const g of toFix) lines.push(`  ${g.required ? style.bad(g.name) : style.warn(g.name)}: ${g.detail}`, `    → ${g.fix}`);
  }
  const notes = outcome.gates.flatMap((g) => (g.notes ?? []).map((n) => `  ${g.name}: ${n}`));
  if (notes.length > 0) lines.push("", style.bold("Noticed"), ...notes.map((n) => style.warn(n)));
  if (outcome.driftBefore !== undefined && !outcome.driftBefore.ok) {
    lines.push("", style.warn("The evidence recorded before this run had drifted:"), ...outcome.driftBefore.problems.map((p) => style.warn(`  - ${p}`)));
  }
  if (outcome.waiver !== undefined) lines.push("", style.warn(`Gates WAIVED by blueGreen.gates.waive: ${outcome.waiver.reason}`), style.dim("  The waiver is recorded, hashed with the evidence, and shown to signers."));
  if (outcome.noGates !== undefined) lines.push("", style.bad(outcome.noGates));
  if (outcome.wrote !== undefined) lines.push("", style.bold("Written into the release folder (hashed with the evidence)"), ...outcome.wrote.map((f) => `  ${f}`));
  lines.push("");
  lines.push(`  evidence hash  ${outcome.evidenceHash}` + (outcome.previousEvidenceHash !== undefined && outcome.previousEvidenceHash !== outcome.evidenceHash ? style.warn(` (was ${outcome.previousEvidenceHash})`) : ""));
  if (outcome.evidenceFile !== undefined) lines.push(`  evidence file  ${outcome.evidenceFile} (keccak256 of its bytes is the evidence hash)`);
  lines.push(`  state          ${outcome.stateNote}`);
  lines.push(
    outcome.ok
      ? style.ok(outcome.waiver !== undefined ? "✔ no gate configured; waived" : `✔ every required gate passed`)
      : outcome.noGates !== undefined
        ? style.bad("✖ no gate configured: bg:propose will refuse this release")
        : style.bad(`✖ ${outcome.gates.filter((g) => g.required && g.status !== "pass").length} required gate(s) did not pass`),
  );
  return lines.join("\n");
}

export interface AttestOutcome {
  ok: true;
  release: string;
  file: string;
  auditor: string;
  greenCodehash: string;
  reportSha256: string;
  reportUri: string;
  findings: { critical: number; high: number; medium: number; low: number };
  date: string;
  signature: string;
  warnings: string[];
}

export function attestJson(result: AttestReleaseResult, release: string): AttestOutcome {
  const m = result.attestation.message;
  return {
    ok: true,
    release,
    file: path.relative(process.cwd(), result.file) || result.file,
    auditor: result.attestation.auditor,
    greenCodehash: m.greenCodehash,
    reportSha256: m.reportSha256,
    reportUri: m.reportUri,
    findings: { critical: m.critical, high: m.high, medium: m.medium, low: m.low },
    date: m.date,
    signature: result.attestation.signature,
    warnings: result.warnings,
  };
}

export function renderAttest(outcome: AttestOutcome): string {
  const f = outcome.findings;
  return [
    `${style.ok("✔")} ${style.bold(`Attested release ${outcome.release}`)} as ${outcome.auditor}`,
    `  green codehash  ${outcome.greenCodehash}`,
    `  report          sha256 ${outcome.reportSha256}`,
    `                  ${outcome.reportUri}`,
    `  open findings   ${f.critical} critical, ${f.high} high, ${f.medium} medium, ${f.low} low`,
    `  date            ${outcome.date}`,
    `  file            ${outcome.file}`,
    ...outcome.warnings.map((w) => style.warn(`  warning: ${w}`)),
    style.dim("  Commit the file; the audits gate of every chain counts it for this exact bytecode."),
  ].join("\n");
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}
