/**
 * What a canary measurement holds besides Argo's fields: each cohort's value
 * over the same blocks and, for a judge, Kayenta's verdict and p-value; and
 * the routing of the CanaryRouter a run analyses. Schemas, because both live
 * in the checkpoint and the record's summary.
 */
import { z } from "zod";

import { addressSchema, bytes32Schema } from "../common/schema.js";

const count = z.number().int().nonnegative();

const cohortValueSchema = z
  .object({
    /** The metric over this cohort's calls (a judge: the revert rate, or the median gas); absent without calls. */
    value: z.number().optional(),
    samples: count,
  })
  .strict();

export const cohortMeasurementSchema = z
  .object({
    green: cohortValueSchema,
    blue: cohortValueSchema,
    /** A Mann–Whitney judge's outcome. */
    judge: z
      .object({
        verdict: z.enum(["high", "low", "pass"]),
        pValue: z.number(),
        alpha: z.number(),
        /** U of green's sample. */
        u: z.number(),
        z: z.number(),
        /** P(green > blue) + ½·P(green = blue). */
        effect: z.number(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type CohortMeasurement = z.infer<typeof cohortMeasurementSchema>;

/** The CanaryRouter the proxy runs during the analysed step, read from its code. */
export const canaryRoutingSchema = z
  .object({
    router: addressSchema,
    blue: addressSchema,
    green: addressSchema,
    bps: z.number().int().min(0).max(10_000),
    salt: bytes32Schema,
    cohortByOrigin: z.boolean(),
    /**
     * The later steps the run saw (a new router with a larger share, or green
     * itself at 10,000), each from the block it went live in: a call is put in
     * the cohort of the router that ran it.
     */
    steps: z
      .array(z.object({ fromBlock: count, router: addressSchema, bps: z.number().int().min(0).max(10_000), salt: bytes32Schema, cohortByOrigin: z.boolean() }).strict())
      .optional(),
  })
  .strict();

export type CanaryRun = z.infer<typeof canaryRoutingSchema>;
