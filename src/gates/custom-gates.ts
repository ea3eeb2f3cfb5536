/**
 * Custom gates: a user's async function from the config. It gets the
 * release and a connection and says pass or fail. A throw, a timeout or an
 * answer of the wrong shape is "inconclusive": nothing was proven either way.
 */
import { z } from "zod";

import { jsonSafe } from "../common/format.js";
import type { ReleaseRecord } from "../release/record.js";
import type { CustomGateConfig } from "./config.js";
import { gateResult, type GateResult } from "./gate-result.js";

const verdictSchema = z
  .object({
    ok: z.boolean(),
    detail: z.string(),
    evidence: z.record(z.unknown()).optional(),
  })
  .passthrough();

/** How long a custom check may take before it is called inconclusive. */
export const CUSTOM_GATE_TIMEOUT_MS = 120_000;

/** Runs one custom gate. `connection` is whatever the task passes (a Hardhat network connection). */
export async function evaluateCustomGate<C>(
  gate: Pick<CustomGateConfig, "name" | "required"> & { check: (release: ReleaseRecord, connection: C) => unknown },
  record: ReleaseRecord,
  connection: C,
  timeoutMs = CUSTOM_GATE_TIMEOUT_MS,
): Promise<GateResult> {
  let answer: unknown;
  let timer: NodeJS.Timeout | undefined;
  try {
    answer = await Promise.race([
      Promise.resolve().then(() => gate.check(structuredClone(record), connection)),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    return gateResult(gate.name, "inconclusive", gate.required, `the check threw: ${(e as Error)?.message ?? String(e)}`, {
      fix: `Fix the custom gate "${gate.name}" in blueGreen.gates.custom so that it returns { ok, detail }.`,
    });
  } finally {
    clearTimeout(timer);
  }
  const parsed = verdictSchema.safeParse(answer);
  if (!parsed.success) {
    return gateResult(gate.name, "inconclusive", gate.required, `the check returned ${describe(answer)}, not { ok: boolean, detail: string }`, {
      fix: `Make the custom gate "${gate.name}" return { ok: true | false, detail: "..." }.`,
    });
  }
  let evidence: Record<string, unknown>;
  try {
    evidence = jsonSafe(parsed.data.evidence ?? {});
  } catch (e) {
    return gateResult(gate.name, "inconclusive", gate.required, `the check's evidence is not JSON (${(e as Error).message})`, {
      fix: `Return only JSON values (strings, numbers, booleans, arrays, objects) as the evidence of "${gate.name}".`,
    });
  }
  return gateResult(gate.name, parsed.data.ok ? "pass" : "fail", gate.required, parsed.data.detail, {
    evidence,
    ...(parsed.data.ok ? {} : { fix: `See the custom gate "${gate.name}" in hardhat.config.ts for what it expects.` }),
  });
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? s.slice(0, 77) + "..." : s;
  } catch {
    return typeof value;
  }
}
