/**
 * The monitor's checkpoint: `monitor-checkpoint.json` beside the release
 * record. Everything the monitor has learnt lives here, written atomically
 * (temp file, fsync, rename) after each step, so a restart resumes exactly
 * where the last completed step ended.
 *
 * No double counting: the block ledger, the traffic totals and the analysis
 * are one document. A step that crashes before its write leaves no trace,
 * and its blocks are read again; a step that wrote is never read again.
 */
import { z } from "zod";

import { addressSchema as address, bytes32Schema as hash, isoTimeSchema as isoTime } from "../common/schema.js";
import type { ReleaseStore } from "../release/store.js";
import type { AnalysisRunState } from "./analysis-run.js";
import type { BlockDigest } from "./block-digest.js";
import { analysisPhaseSchema as phase, metricValueSchema as value } from "./monitor-step.js";
import { type TrafficTotals, emptyTotals } from "./traffic-metrics.js";
import { canaryRoutingSchema, cohortMeasurementSchema } from "./canary-measurement.js";

export const CHECKPOINT_FILE = "monitor-checkpoint.json";
export const CHECKPOINT_SCHEMA_VERSION = 1;

const count = z.number().int().nonnegative();

const digestSchema = z
  .object({
    n: count,
    hash,
    parent: hash,
    t: count,
    calls: z
      .array(z.object({ proxy: z.string(), selector: z.string(), gas: count, ok: z.boolean(), direct: z.boolean(), from: z.string().optional() }).strict())
      .optional(),
    events: z.array(z.object({ proxy: z.string(), topic0: z.string(), count }).strict()).optional(),
  })
  .strict();

const measurementSchema = z
  .object({
    phase: z.enum(["Successful", "Failed", "Error", "Inconclusive"]),
    value: value.optional(),
    baseline: value.optional(),
    samples: count,
    fromBlock: count,
    toBlock: count,
    startedAt: z.number(),
    finishedAt: z.number(),
    proxy: z.string().optional(),
    message: z.string(),
    cohorts: cohortMeasurementSchema.optional(),
  })
  .strict();

const tallySchema = z.object({ count, successful: count, failed: count, inconclusive: count, error: count, consecutiveError: count }).strict();

const metricStateSchema = z
  .object({
    name: z.string(),
    phase,
    dryRun: z.boolean(),
    measurements: z.array(measurementSchema),
    archived: tallySchema,
    message: z.string().optional(),
    window: z.object({ fromBlock: count, fromTime: z.number() }).strict(),
  })
  .strict();

const at = z.object({ block: count, time: z.number() }).strict();

const runSchema = z
  .object({
    subject: z.string(),
    proxies: z.array(z.string()),
    startBlock: count,
    startTime: z.number(),
    phase,
    cause: z.object({ metric: z.string(), reason: z.string() }).strict().optional(),
    metrics: z.record(metricStateSchema),
    baseline: z.record(z.record(value)),
    baselineSource: z.string(),
    measuredUntil: at.optional(),
    completedAt: at.optional(),
    canary: canaryRoutingSchema.optional(),
  })
  .strict();

const totalsSchema = z.object({ calls: z.record(z.number()), events: z.record(z.number()) }).strict();

export const checkpointSchema = z
  .object({
    schemaVersion: z.literal(CHECKPOINT_SCHEMA_VERSION),
    release: z.string(),
    chainId: z.number().int().positive(),
    switch: address,
    green: address,
    /** Watched proxies (lower case) → the wave they belong to and their promotion. */
    proxies: z.record(z.object({ subject: z.string(), promotedBlock: count, promotedAt: z.number(), promoteTx: hash }).strict()),
    /** A beacon release: the beacon (lower case) → its proxies, each watched from its first block (see fleet.ts). */
    fleets: z.record(z.object({ proxies: z.record(count), scannedTo: count }).strict()).optional(),
    /** Last processed block. */
    tip: z.object({ n: count, hash, t: z.number() }).strict().optional(),
    /** Digests of the last blocks (reorg depth, open windows). */
    ledger: z.array(digestSchema),
    /** Traffic of blocks no longer in the ledger. */
    archivedTotals: totalsSchema,
    /** Recent gasUsed per `${proxy}|${selector}`: [block, gas] pairs, for the gas quantile gauges. */
    recentGas: z.record(z.array(z.tuple([count, count]))),
    runs: z.record(runSchema),
    autoRollback: z
      .object({
        reason: z.string(),
        subject: z.string(),
        guardian: address,
        scheduled: z.record(z.object({ txHash: hash.optional(), readyAt: z.number() }).strict()),
        executed: z.record(hash),
        vetoed: z.array(z.string()),
        at: isoTime,
      })
      .strict()
      .optional(),
    /** Alerts already raised (so a restart does not repeat them): `${subject}:${phase}`. */
    alerted: z.array(z.string()),
    acknowledgements: z.array(z.object({ subject: z.string(), phase, at: isoTime, block: count, reason: z.string().optional() }).strict()),
    startedAt: isoTime,
    updatedAt: isoTime,
  })
  .strict();

export type MonitorCheckpoint = Omit<z.infer<typeof checkpointSchema>, "ledger" | "runs" | "archivedTotals"> & {
  ledger: BlockDigest[];
  runs: Record<string, AnalysisRunState>;
  archivedTotals: TrafficTotals;
};

/** A checkpoint with nothing learnt yet: no proxy found live, no block read. */
export function freshCheckpoint(at: { release: string; chainId: number; switch: string; green: string }, now: Date = new Date()): MonitorCheckpoint {
  const time = now.toISOString();
  return {
    schemaVersion: CHECKPOINT_SCHEMA_VERSION,
    release: at.release,
    chainId: at.chainId,
    switch: at.switch,
    green: at.green,
    proxies: {},
    ledger: [],
    archivedTotals: emptyTotals(),
    recentGas: {},
    runs: {},
    alerted: [],
    acknowledgements: [],
    startedAt: time,
    updatedAt: time,
  };
}

export async function readCheckpoint(store: ReleaseStore, chainId: number, release: string): Promise<MonitorCheckpoint | undefined> {
  return (await store.readReleaseFile(chainId, release, CHECKPOINT_FILE, checkpointSchema)) as MonitorCheckpoint | undefined;
}

/** Validates and writes the checkpoint atomically into the release folder. */
export async function writeCheckpoint(store: ReleaseStore, checkpoint: MonitorCheckpoint): Promise<string> {
  const parsed = checkpointSchema.safeParse(checkpoint);
  if (!parsed.success) {
    // A bug, not a user error: never write a checkpoint that could not be read back.
    throw new Error(`refusing to write an invalid monitor checkpoint: ${parsed.error.issues[0]!.path.join(".")}: ${parsed.error.issues[0]!.message}`);
  }
  return store.writeReleaseFile(checkpoint.chainId, checkpoint.release, CHECKPOINT_FILE, parsed.data);
}
