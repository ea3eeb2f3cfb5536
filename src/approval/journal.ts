/**
 * The execution journal (`execution.json` beside the proposal): written
 * before the transaction is sent and updated once it is mined, so a process
 * that dies in between can be re-run and find the transaction instead of
 * sending a second one.
 */
import { z } from "zod";

import { sendJournalSchema } from "../chain/send-once.js";
import { addressSchema, bytes32Schema, hexSchema, isoTimeSchema } from "../common/schema.js";


export const executionJournalSchema = z
  .object({
    /** sending: about to send; sent: the hash is known; done: mined and checked. */
    status: z.enum(["sending", "sent", "done"]),
    /** For a Safe: the Safe transaction being executed, and its nonce. */
    safeTxHash: bytes32Schema.optional(),
    safeNonce: z.string().regex(/^\d+$/).optional(),
    to: addressSchema,
    data: hexSchema,
    /** Who makes the call: the Safe, or the plain-account approver. */
    actor: addressSchema,
    /** Who sends the Ethereum transaction (any account for a Safe; the approver itself otherwise). */
    executor: addressSchema,
    /** Block number before sending: searches for the mined transaction start here. */
    fromBlock: z.number().int().nonnegative(),
    txHash: bytes32Schema.optional(),
    blockNumber: z.number().int().nonnegative().optional(),
    startedAt: isoTimeSchema,
    doneAt: isoTimeSchema.optional(),
    /** True when the mined transaction was sent by someone else (the Safe web app, another owner): found, not sent. */
    elsewhere: z.boolean().optional(),
    /**
     * The Ethereum transaction itself (nonce, every signed version and its
     * hash), written before each broadcast: a re-run resumes it at its nonce
     * instead of sending a second one.
     */
    send: sendJournalSchema.optional(),
  })
  .strict();

export type ExecutionJournal = z.infer<typeof executionJournalSchema>;
