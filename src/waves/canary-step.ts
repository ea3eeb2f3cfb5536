/**
 * `record.steps.canary`: one proxy's canary, step by step (a growing share
 * of callers on green through a CanaryRouter, then green itself). Written
 * when a step is proposed, approved and switched; the salt and cohort mode
 * are fixed by the first proposal and never change within the release.
 */
import { z } from "zod";

import { addressSchema as address, bytes32Schema as bytes32, isoTimeSchema as isoTime } from "../common/schema.js";
import type { ReleaseRecord } from "../release/record.js";
import { parseRecordStep } from "../release/steps.js";
import { ALL_CALLERS_BPS } from "./canary-config.js";

const stepPlanSchema = z.object({ name: z.string().min(1), bps: z.number().int().min(1).max(ALL_CALLERS_BPS) }).strict();

export const canaryProposalSchema = z
  .object({
    bps: z.number().int().min(1).max(ALL_CALLERS_BPS),
    /** The step's router and its pinned code hash; absent for the last step (green itself). */
    router: address.optional(),
    routerCodehash: bytes32.optional(),
    folder: z.string().min(1),
    approver: z.object({ kind: z.enum(["safe", "account"]), address }).strict(),
    safeTxHash: bytes32.optional(),
    nonce: z.string().optional(),
    evidenceHash: bytes32,
    blockNumber: z.number().int().nonnegative(),
    by: z.string().min(1),
    at: isoTime,
    approval: z
      .object({ signers: z.array(address), threshold: z.number().int().positive(), missing: z.number().int().nonnegative(), at: isoTime })
      .strict()
      .optional(),
  })
  .strict();

export const canaryPromotionSchema = z
  .object({
    step: z.string().min(1),
    bps: z.number().int().min(1).max(ALL_CALLERS_BPS),
    router: address.optional(),
    routerCodehash: bytes32.optional(),
    txHash: bytes32,
    blockNumber: z.number().int().nonnegative(),
    windowEnd: isoTime,
    by: z.string().min(1),
    at: isoTime,
  })
  .strict();

export const canaryStepSchema = z
  .object({
    salt: bytes32,
    cohortByOrigin: z.boolean(),
    /** The steps as configured when the canary started, the last one 10000. */
    steps: z.array(stepPlanSchema).min(1),
    proposals: z.record(canaryProposalSchema),
    promotions: z.array(canaryPromotionSchema),
  })
  .strict();

export type CanaryStepRecord = z.infer<typeof canaryStepSchema>;
export type CanaryProposal = z.infer<typeof canaryProposalSchema>;
export type CanaryPromotion = z.infer<typeof canaryPromotionSchema>;

/** The release's canary; undefined for a release promoted at once or in waves. */
export function readCanaryStep(record: ReleaseRecord): CanaryStepRecord | undefined {
  return parseRecordStep(record, "canary", canaryStepSchema);
}

export function withCanaryStep(record: ReleaseRecord, step: CanaryStepRecord): ReleaseRecord {
  return { ...record, steps: { ...record.steps, canary: canaryStepSchema.parse(step) as Record<string, unknown> } };
}

/** The latest step switched on chain, if any. */
export function latestPromotion(step: CanaryStepRecord | undefined): CanaryPromotion | undefined {
  return step?.promotions[step.promotions.length - 1];
}

/**
 * The router the proxy runs while the release's canary is between steps:
 * the latest switched step's router, or undefined (no canary, or it ended on
 * green, whose router is none).
 */
export function liveCanaryRouter(record: ReleaseRecord): string | undefined {
  return latestPromotion(readCanaryStep(record))?.router;
}

/** A canary step as bg:status shows it. */
export interface CanaryStepStatus {
  name: string;
  bps: number;
  /** passed: a later step is live; live: the proxy runs it now; proposed: awaits signatures or its switch; pending: not proposed. */
  state: "passed" | "live" | "proposed" | "pending";
  router?: string;
}

/** Where each step of the release's canary stands, from the record (bg:status compares the chain separately). */
export function canaryStatus(record: ReleaseRecord): { cohort: "origin" | "sender"; salt: string; steps: CanaryStepStatus[] } | undefined {
  const canary = readCanaryStep(record);
  if (canary === undefined) return undefined;
  const latest = latestPromotion(canary);
  const ended = record.state === "rolled-back";
  return {
    cohort: canary.cohortByOrigin ? "origin" : "sender",
    salt: canary.salt,
    steps: canary.steps.map((s) => {
      const promoted = canary.promotions.find((p) => p.step === s.name);
      const state = promoted !== undefined ? (promoted === latest && !ended ? "live" : "passed") : canary.proposals[s.name] !== undefined && !ended ? "proposed" : "pending";
      return { name: s.name, bps: s.bps, state, ...(promoted?.router !== undefined ? { router: promoted.router } : {}) };
    }),
  };
}
