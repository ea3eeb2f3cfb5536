/**
 * The execution journal (`execution.json` beside the proposal): written
 * before the transaction is sent and updated once it is mined, so a process
 * that dies in between can be re-run and find the transaction instead of
 * sending a second one.
 */
import { z } from "zod";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);

export const executionJournalSchema = z
  .object({
    /** sending: about to send; sent: the hash is known; done: mined and checked. */
    status: z.enum(["sending", "sent", "done"]),
    /** For a Safe: the Safe transaction being executed, and its nonce. */
    safeTxHash: bytes32.optional(),
    safeNonce: z.string().regex(/^\d+$/).optional(),
    to: address,
    data: z.string().regex(/^0x[0-9a-fA-F]*$/),
    /** Who makes the call: the Safe, or the plain-account approver. */
    actor: address,
    /** Who sends the Ethereum transaction (any account for a Safe; the approver itself otherwise). */
    executor: address,
    /** Block number before sending: searches for the mined transaction start here. */
    fromBlock: z.number().int().nonnegative(),
    txHash: bytes32.optional(),
    blockNumber: z.number().int().nonnegative().optional(),
    startedAt: z.string().datetime({ offset: true }),
    doneAt: z.string().datetime({ offset: true }).optional(),
    /** True when the mined transaction was sent by someone else (the Safe web app, another owner): found, not sent. */
    elsewhere: z.boolean().optional(),
  })
  .strict();

export type ExecutionJournal = z.infer<typeof executionJournalSchema>;
