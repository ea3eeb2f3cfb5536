/**
 * `blueGreen.canary` in hardhat.config.ts: the steps one proxy's canary goes
 * through (a growing share of its callers on green, by cohort), the cohort
 * salt and who counts as the caller. The last step is green itself: when the
 * configured steps stop short of 100%, a final step named "green" is added.
 */
import { id as keccakText } from "ethers";
import { z } from "zod";

import { parseSection } from "../monitor/config.js";

/** A step's name is typed on the command line and names its proposal folder. */
export const CANARY_STEP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.%-]{0,31}$/;
/** The implicit last step, when the configured ones stop short of every caller. */
export const GREEN_STEP = "green";
export const ALL_CALLERS_BPS = 10_000;

const stepSchema = z
  .object({
    name: z.string().regex(CANARY_STEP_NAME, "must be 1-32 letters, digits, '_', '.', '%' or '-', starting with a letter or digit"),
    /** Share of callers on green, in basis points (100 = 1%). */
    bps: z.number().int().min(1).max(ALL_CALLERS_BPS),
  })
  .strict();

export const canaryUserConfigSchema = z
  .object({
    steps: z.array(stepSchema).min(1),
    /**
     * Cohort salt: a 0x-prefixed 32-byte value, or any text (hashed). Default:
     * derived from the release id, so each release draws its own cohorts.
     */
    salt: z.string().min(1).optional(),
    /** Who the caller is: "origin" (tx.origin, the default) or "sender" (msg.sender). */
    cohort: z.enum(["origin", "sender"]).optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    const names = config.steps.map((s) => s.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["steps"], message: `step names must be unique; "${dup}" is used twice` });
    config.steps.forEach((s, i) => {
      if (i > 0 && s.bps <= config.steps[i - 1]!.bps) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["steps", i, "bps"], message: `steps must grow: "${s.name}" (${s.bps}) is not above "${config.steps[i - 1]!.name}" (${config.steps[i - 1]!.bps})` });
      }
      if (s.bps === ALL_CALLERS_BPS && i !== config.steps.length - 1) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["steps", i, "bps"], message: `"${s.name}" sends every caller to green, so it must be the last step` });
      }
    });
    const last = config.steps[config.steps.length - 1]!;
    if (last.bps !== ALL_CALLERS_BPS && names.includes(GREEN_STEP)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["steps"], message: `"${GREEN_STEP}" names the added last step (every caller on green); give your step another name` });
    }
  });

export type CanaryUserConfig = z.infer<typeof canaryUserConfigSchema>;

export interface CanaryStepConfig {
  name: string;
  bps: number;
}

export interface CanaryConfig {
  /** In order; the last one is always every caller (10000). */
  steps: CanaryStepConfig[];
  /** The configured salt as bytes32, or undefined for one derived from each release. */
  salt: string | undefined;
  cohortByOrigin: boolean;
}

/** Text becomes its keccak256; a 32-byte hex value is used as it is. */
export function saltFrom(text: string): string {
  return /^0x[0-9a-fA-F]{64}$/.test(text) ? text.toLowerCase() : keccakText(text);
}

export function resolveCanaryConfig(user: CanaryUserConfig | undefined): CanaryConfig | undefined {
  if (user === undefined) return undefined;
  const parsed = parseSection(canaryUserConfigSchema, user, "blueGreen.canary", "BG_CANARY_CONFIG_INVALID");
  const steps = parsed.steps.map((s) => ({ name: s.name, bps: s.bps }));
  if (steps[steps.length - 1]!.bps !== ALL_CALLERS_BPS) steps.push({ name: GREEN_STEP, bps: ALL_CALLERS_BPS });
  return { steps, salt: parsed.salt !== undefined ? saltFrom(parsed.salt) : undefined, cohortByOrigin: parsed.cohort !== "sender" };
}

/** The salt of a release's canary: the configured one, or one derived from the release id. */
export function canarySalt(config: CanaryConfig, releaseId: string): string {
  return config.salt ?? keccakText(`hardhat-bluegreen canary ${releaseId}`);
}
