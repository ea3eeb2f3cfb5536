/**
 * The schema of `record.steps.replay` (and `steps.replayRecheck`), apart from
 * the replay so that the release store can check a record's steps without
 * loading it. record-step.ts re-exports it.
 */
import { z } from "zod";

import { isoTimeSchema } from "../common/schema.js";
import { registerRecordStep } from "../release/step-catalogue.js";

// Lower-case only, unlike the shared bytes32: the replay writes these hashes lower-case, and a step spelled otherwise was not written by it.
const bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/);
const count = z.number().int().min(0);

/** `record.steps.replay` (and `steps.replayRecheck`). The gates read exactly these fields. */
export const replayStepSchema = z
  .object({
    reportFile: z.string().min(1),
    reportHash: bytes32,
    greenCodehash: bytes32,
    txs: count,
    divergences: count,
    expected: count,
    propagated: count,
    fidelity: z.object({ matched: count, total: count }).strict(),
    mode: z.string().min(1),
    /** Absent in records written before verdicts existed. */
    verdict: z.enum(["clean", "divergent", "inconclusive"]).optional(),
    fromBlock: count,
    toBlock: count,
    /** A beacon release: how many proxies of the beacon the replay covered. */
    proxies: count.optional(),
    at: isoTimeSchema,
  })
  .strict();
export type ReplayStep = z.infer<typeof replayStepSchema>;

// bg:replay records steps.replay until the release is proposed (EVIDENCE_STATES), and steps.replayRecheck after.
registerRecordStep("replay", { schema: replayStepSchema, recordedBy: { command: "bg:replay", states: ["staged", "replayed", "gated"] } });
registerRecordStep("replayRecheck", { schema: replayStepSchema, recordedBy: { command: "bg:replay" } });
