/**
 * The schema of `record.steps.gates` (and `steps.gatesRecheck`), apart from
 * the gates themselves so that the release store can check a record's steps
 * without loading every gate. gates-step.ts re-exports it.
 */
import { z } from "zod";

import { bytes32Schema, isoTimeSchema } from "../common/schema.js";
import { registerRecordStep } from "../release/step-catalogue.js";
import { evidenceFileSchema, gateResultSchema } from "./gate-result.js";

export const gatesStepSchema = z
  .object({
    version: z.literal(1),
    /** True when every required gate passed. */
    ok: z.boolean(),
    evidenceHash: bytes32Schema,
    greenCodehash: bytes32Schema,
    results: z.array(gateResultSchema),
    evidenceFiles: z.array(evidenceFileSchema),
    /** The config's explicit waiver, when no gate was configured (hashed with the evidence). */
    waiver: z.object({ reason: z.string().min(1) }).strict().optional(),
    at: isoTimeSchema,
  })
  .strict();
export type GatesStep = z.infer<typeof gatesStepSchema>;

// bg:gates records steps.gates while a release is being prepared, and steps.gatesRecheck after.
registerRecordStep("gates", { schema: gatesStepSchema, recordedBy: { command: "bg:gates", states: ["staged", "replayed", "gated", "proposed"] } });
registerRecordStep("gatesRecheck", { schema: gatesStepSchema, recordedBy: { command: "bg:gates" } });
