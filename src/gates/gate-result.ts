/**
 * What every gate returns: data first (status, evidence), text second
 * (detail, fix). The evidence is what gets hashed; the text is for people.
 */
import { z } from "zod";

import type { ErrorCode } from "../errors.js";

export const GATE_STATUSES = ["pass", "fail", "inconclusive", "not-configured", "not-applicable"] as const;
export type GateStatus = (typeof GATE_STATUSES)[number];

/** A file the verdict rests on, by its path relative to the project root (forward slashes). */
export interface EvidenceFile {
  path: string;
  /** 0x-prefixed hex sha256 of the file's bytes. */
  sha256: string;
}

export interface GateResult {
  name: string;
  /** True only for "pass". */
  ok: boolean;
  status: GateStatus;
  /** A required gate that is not "pass" blocks the release. */
  required: boolean;
  /** One line for people. May mention facts that change from run to run. */
  detail: string;
  /** What to do about a failure. */
  fix?: string;
  /**
   * The stable code of a failure (also leading its detail as `[BG_…]`), for
   * scripts. Not hashed: the evidence hash is unchanged by it.
   */
  code?: ErrorCode;
  /** Stable facts the verdict rests on (JSON, no volatile observations). Hashed. */
  evidence: Record<string, unknown>;
  /** Files the verdict rests on. Hashed by content. */
  files?: EvidenceFile[];
  /** Things worth a look that do not decide the verdict (e.g. an unknown signer's file). */
  notes?: string[];
}

// Lowercase only, unlike the shared bytes32 fragment: evidence records file hashes exactly as sha256Hex writes them.
const sha256Hex = z.string().regex(/^0x[0-9a-f]{64}$/, "must be a 0x-prefixed lowercase sha256");

export const evidenceFileSchema = z.object({ path: z.string().min(1), sha256: sha256Hex }).strict();

export const gateResultSchema = z
  .object({
    name: z.string().min(1),
    ok: z.boolean(),
    status: z.enum(GATE_STATUSES),
    required: z.boolean(),
    detail: z.string(),
    fix: z.string().optional(),
    code: z
      .string()
      .regex(/^BG_[A-Z0-9_]+$/, "must be an error code (BG_ and upper-case words)")
      .transform((c) => c as ErrorCode)
      .optional(),
    evidence: z.record(z.unknown()),
    files: z.array(evidenceFileSchema).optional(),
    notes: z.array(z.string()).optional(),
  })
  .strict();

/** Builds a result whose `ok` always agrees with its status. */
export function gateResult(
  name: string,
  status: GateStatus,
  required: boolean,
  detail: string,
  extra: { fix?: string; code?: ErrorCode; evidence?: Record<string, unknown>; files?: EvidenceFile[]; notes?: string[] } = {},
): GateResult {
  return {
    name,
    ok: status === "pass",
    status,
    required,
    detail,
    ...(extra.fix !== undefined && status !== "pass" ? { fix: extra.fix } : {}),
    ...(extra.code !== undefined && status !== "pass" ? { code: extra.code } : {}),
    evidence: extra.evidence ?? {},
    ...(extra.files !== undefined && extra.files.length > 0 ? { files: extra.files } : {}),
    ...(extra.notes !== undefined && extra.notes.length > 0 ? { notes: extra.notes } : {}),
  };
}

/** The listing of a gate the config leaves out: never evaluated, never blocking. */
export function notConfigured(name: string, hint: string): GateResult {
  return gateResult(name, "not-configured", false, `not configured (${hint})`);
}
