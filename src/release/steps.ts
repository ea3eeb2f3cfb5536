/**
 * What the approval, switch and rollback steps write into a release record
 * (whoever writes them: an approver's flow or the monitor's auto-rollback):
 * `steps.proposal`, `steps.approval`, `steps.switch`, `steps.rollback` and
 * `steps.finalize`. Each is validated here, the module that owns it.
 */
import { z } from "zod";

import { addressSchema as address, bytes32Schema as bytes32, isoTimeSchema as isoTime } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";
import type { ReleaseRecord } from "./record.js";

export const proposalStepSchema = z
  .object({
    approver: z.object({ kind: z.enum(["safe", "account"]), address }).strict(),
    switch: address,
    to: address,
    data: z.string(),
    safeTxHash: bytes32.optional(),
    nonce: z.string().optional(),
    domainHash: bytes32.optional(),
    messageHash: bytes32.optional(),
    evidenceHash: bytes32,
    /** A TimelockController approver: the operation the promote becomes. */
    timelock: z.object({ address, operationId: bytes32, delay: z.string() }).strict().optional(),
    /** The Safe Transaction Service, when configured: posted, already there, or left for the first bg:approve. */
    service: z.object({ url: z.string(), status: z.enum(["posted", "already", "deferred"]), reason: z.string().optional() }).strict().optional(),
    proposalFile: z.string(),
    summaryFile: z.string(),
    builderFile: z.string().optional(),
    blockNumber: z.number().int().nonnegative(),
    at: isoTime,
  })
  .strict();

export const approvalStepSchema = z
  .object({
    signers: z.array(address),
    threshold: z.number().int().positive(),
    missing: z.number().int().nonnegative(),
    at: isoTime,
  })
  .strict();

export const switchStepSchema = z
  .object({
    txHash: bytes32,
    blockNumber: z.number().int().nonnegative(),
    executor: address,
    implementation: address,
    evidenceHash: bytes32,
    promotedAt: isoTime,
    windowEnd: isoTime,
    /** True when the transaction was found mined on a re-run rather than sent by that run. */
    resumed: z.boolean(),
    /** True when someone else sent it (the Safe web app, another owner): the chain showed it, this tool recorded it. */
    executedElsewhere: z.boolean().optional(),
    /** A timelock approver: the timelock and the operation that made the promote. */
    timelock: address.optional(),
    operationId: bytes32.optional(),
    at: isoTime,
  })
  .strict();

export const rollbackStepSchema = z
  .object({
    scheduledBy: address.optional(),
    scheduleTx: bytes32.optional(),
    readyAt: isoTime.optional(),
    cancelledTx: bytes32.optional(),
    rolledBackTx: bytes32.optional(),
    rolledBackBy: address.optional(),
    immediate: z.boolean().optional(),
    implementation: address.optional(),
    at: isoTime,
  })
  .strict();

/** A timelock approver's promote, scheduled and waiting for its delay: what bg:status shows. */
export const timelockStepSchema = z
  .object({
    timelock: address,
    operationId: bytes32,
    eta: z.number().int().nonnegative(),
    etaIso: isoTime,
    ready: z.boolean(),
    scheduleTxHash: bytes32.optional(),
    at: isoTime,
  })
  .strict();

export const finalizeStepSchema = z
  .object({
    txHash: bytes32,
    by: address,
    early: z.boolean(),
    at: isoTime,
  })
  .strict();

export type ProposalStep = z.infer<typeof proposalStepSchema>;
export type ApprovalStep = z.infer<typeof approvalStepSchema>;
export type SwitchStep = z.infer<typeof switchStepSchema>;
export type RollbackStep = z.infer<typeof rollbackStepSchema>;
export type FinalizeStep = z.infer<typeof finalizeStepSchema>;

const SCHEMAS = {
  proposal: proposalStepSchema,
  approval: approvalStepSchema,
  switch: switchStepSchema,
  rollback: rollbackStepSchema,
  finalize: finalizeStepSchema,
  timelock: timelockStepSchema,
} as const;

type StepName = keyof typeof SCHEMAS;

/**
 * Reads any step of a record with the schema of the module that owns it;
 * undefined when it was never written. A step that does not parse is an
 * error naming the field; `unreadable` lets the owner say how to repair it.
 */
export function parseRecordStep<T>(
  record: ReleaseRecord,
  name: string,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  unreadable: (field: string, problem: string) => BlueGreenError = (field, problem) =>
    new BlueGreenError("BG_RECORD_STEP_INVALID", `Release "${record.id}" has an unreadable ${field}: ${problem}. Restore release.json from git.`),
): T | undefined {
  const raw = record.steps[name];
  if (raw === undefined) return undefined;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw unreadable(`steps.${name}.${issue.path.join(".")}`, issue.message.toLowerCase());
}

/** Reads one of these steps from a record; undefined when it was never written. */
export function readStep<N extends StepName>(record: ReleaseRecord, name: N): z.infer<(typeof SCHEMAS)[N]> | undefined {
  return parseRecordStep(record, name, SCHEMAS[name] as z.ZodType<z.infer<(typeof SCHEMAS)[N]>, z.ZodTypeDef, unknown>);
}

/** The record with one step replaced (validated first). */
export function withStep<N extends StepName>(record: ReleaseRecord, name: N, value: z.infer<(typeof SCHEMAS)[N]>): ReleaseRecord {
  return { ...record, steps: { ...record.steps, [name]: SCHEMAS[name].parse(value) as Record<string, unknown> } };
}

/** Unix seconds as ISO 8601. */
export function isoFromUnix(seconds: number | bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}
