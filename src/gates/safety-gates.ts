/**
 * The safety gates read what `bg:stage` found with OpenZeppelin's upgrade
 * validation: blue→green (upgrade safety) and the reverse check green→blue
 * (rollback safety: can the rollback window really return to blue?).
 */
import type { ReleaseRecord } from "../release/record.js";
import type { SafetyGateConfig } from "./config.js";
import { gateResult, type GateResult } from "./gate-result.js";

/** Upgrade safety: stage's blue→green validation passed. */
export function evaluateUpgradeSafetyGate(record: ReleaseRecord, config: SafetyGateConfig): GateResult {
  const safety = record.upgradeSafety;
  const evidence = {
    ok: safety.ok,
    blueLayoutFrom: safety.blueLayoutFrom,
    ...(safety.reference !== undefined ? { reference: safety.reference } : {}),
    warnings: safety.warnings,
  };
  const from = safety.blueLayoutFrom === "reference" ? `reference ${safety.reference ?? "contract"}` : "OpenZeppelin manifest";
  const warnings = safety.warnings.length > 0 ? `, ${safety.warnings.length} warning(s): ${safety.warnings.join("; ")}` : "";
  if (safety.ok) {
    return gateResult("upgradeSafety", "pass", config.required, `blue→green validated against blue's layout from the ${from}${warnings}`, { evidence });
  }
  return gateResult("upgradeSafety", "fail", config.required, `blue→green failed OpenZeppelin's upgrade validation (blue's layout from the ${from})${warnings}`, {
    fix: "Fix green's storage layout or unsafe patterns, then stage again with `npx hardhat bg:stage`.",
    evidence,
  });
}

/** Rollback safety: the reverse validation green→blue found no risk. */
export function evaluateRollbackSafetyGate(record: ReleaseRecord, config: SafetyGateConfig): GateResult {
  const risks = record.rollbackRisks;
  const evidence = { risks: risks.map((r) => ({ kind: r.kind, message: r.message })) };
  if (risks.length === 0) {
    return gateResult("rollbackSafety", "pass", config.required, "green→blue validates: rolling back to blue keeps storage readable", { evidence });
  }
  return gateResult(
    "rollbackSafety",
    "fail",
    config.required,
    `${risks.length} rollback risk(s): ${risks.map((r) => `${r.kind}: ${r.message}`).join("; ")}`,
    {
      fix: "Rolling back to blue may misread state green wrote. Make green's changes append-only (new variables at the end, no retyping), or accept the risk knowingly by keeping rollbackSafety advisory (required: false).",
      evidence,
    },
  );
}
