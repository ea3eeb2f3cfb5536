/**
 * `record.steps.monitor`: what the monitor has concluded so far, per
 * analysis run (the release, or each wave), written into the release record
 * whenever it changes. `bg:status` shows it, and the waves decision
 * ("may the next wave be promoted?") reads it.
 *
 * The detail (every measurement, the block ledger) stays in the checkpoint
 * file beside the record; this is the summary people and other steps read.
 */
import { z } from "zod";

import { addressSchema as address, bytes32Schema as bytes32, isoTimeSchema as isoTime } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import { canaryRoutingSchema, cohortMeasurementSchema } from "./canary-measurement.js";

/** An analysis phase, as Argo Rollouts names them (the checkpoint stores them too). */
export const analysisPhaseSchema = z.enum(["Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"]);
/** A measured value, or a baseline. */
export const metricValueSchema = z.union([z.number(), z.boolean(), z.string()]);
const phase = analysisPhaseSchema;
const value = metricValueSchema;

export const monitorRunSummarySchema = z
  .object({
    phase,
    proxies: z.array(address),
    /** First block of green traffic. */
    startBlock: z.number().int().nonnegative(),
    /** Chain time of the promotion. */
    promotedAt: isoTime,
    /** Last block analysed, and its chain time. */
    measuredUntilBlock: z.number().int().nonnegative().optional(),
    measuredUntil: isoTime.optional(),
    /** Measurements of metrics that count (not dry runs). */
    measurements: z.number().int().nonnegative(),
    cause: z.object({ metric: z.string(), reason: z.string() }).strict().optional(),
    baselineSource: z.string(),
    /** The CanaryRouter of a canary step. */
    canary: canaryRoutingSchema.optional(),
    metrics: z.record(
      z
        .object({
          phase,
          dryRun: z.boolean(),
          count: z.number().int().nonnegative(),
          successful: z.number().int().nonnegative(),
          failed: z.number().int().nonnegative(),
          inconclusive: z.number().int().nonnegative(),
          error: z.number().int().nonnegative(),
          lastValue: value.optional(),
          lastMessage: z.string().optional(),
          message: z.string().optional(),
          /** Canary metrics: the last measurement's cohorts (and judge). */
          cohorts: cohortMeasurementSchema.optional(),
        })
        .strict(),
    ),
  })
  .strict();

export const monitorStepSchema = z
  .object({
    updatedAt: isoTime,
    lastBlock: z.number().int().nonnegative(),
    runs: z.record(monitorRunSummarySchema),
    autoRollback: z
      .object({
        reason: z.string(),
        subject: z.string(),
        guardian: address,
        scheduled: z.record(z.object({ txHash: bytes32.optional(), readyAt: isoTime }).strict()),
        executed: z.record(bytes32),
        vetoed: z.array(address),
        at: isoTime,
      })
      .strict()
      .optional(),
    acknowledgements: z
      .array(z.object({ subject: z.string(), phase, at: isoTime, block: z.number().int().nonnegative(), reason: z.string().optional() }).strict())
      .optional(),
  })
  .strict();

export type MonitorStep = z.infer<typeof monitorStepSchema>;
export type MonitorRunSummary = z.infer<typeof monitorRunSummarySchema>;

/** The monitor's summary in a record; undefined if the monitor never ran on it. */
export function readMonitorStep(record: ReleaseRecord): MonitorStep | undefined {
  const raw = record.steps.monitor;
  if (raw === undefined) return undefined;
  const parsed = monitorStepSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BlueGreenError(
      "BG_RECORD_STEP_INVALID",
      `Release "${record.id}" has an unreadable steps.monitor.${issue.path.join(".")}: ${issue.message.toLowerCase()}. ` +
        `Restore release.json from git, or run bg:monitor again to rewrite it.`,
    );
  }
  return parsed.data;
}

export function withMonitorStep(record: ReleaseRecord, step: MonitorStep): ReleaseRecord {
  return { ...record, steps: { ...record.steps, monitor: monitorStepSchema.parse(step) as Record<string, unknown> } };
}
