/**
 * proposal.json: the one document every approver call is proposed,
 * signed, executed and recorded from, and what the approval path needs
 * from the network to act on it.
 */
import type { FunctionFragment, Interface } from "ethers";
import { z } from "zod";

import type { Eip1193Provider } from "../chain/eip1193.js";
import { addressSchema, bytes32Schema, hexSchema, isoTimeSchema } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";
import { factSchema, type FactQuery } from "./facts.js";
import type { ExecutionJournal } from "./journal.js";
import { PROPOSAL_FILE, type ProposalFolder } from "./proposal-folder.js";
import { safeTransactionSchema } from "./safe-transaction.js";
import type { SafeServiceLink } from "./safe-service.js";
import { timelockOperationSchema } from "./timelock.js";

export const PROPOSAL_SCHEMA_VERSION = 1;

export const actorSchema = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("safe"),
      address: addressSchema,
      version: z.string(),
      threshold: z.number().int().positive(),
      owners: z.array(addressSchema),
    })
    .strict(),
  z.object({ kind: z.literal("account"), address: addressSchema }).strict(),
]);

export type Actor = z.infer<typeof actorSchema>;

export const proposalSchema = z
  .object({
    schemaVersion: z.literal(PROPOSAL_SCHEMA_VERSION),
    id: z.string(),
    chainId: z.number().int().positive(),
    createdAt: isoTimeSchema,
    /** Block the proposal was made at: where searches for its execution start. */
    blockNumber: z.number().int().nonnegative(),
    title: z.string(),
    /** What people check, row by row (proxy, blue, green, codehashes, evidence...). */
    details: z.array(z.object({ label: z.string(), value: z.string() }).strict()),
    call: z
      .object({
        to: addressSchema,
        value: z.literal("0"),
        data: hexSchema,
        /** Full signature, e.g. `promote(address proxy, ...)`. */
        function: z.string(),
        functionName: z.string(),
        args: z.array(z.string()),
      })
      .strict(),
    actor: actorSchema,
    safe: z
      .object({
        tx: safeTransactionSchema,
        safeTxHash: bytes32Schema,
        domainHash: bytes32Schema,
        messageHash: bytes32Schema,
      })
      .strict()
      .optional(),
    facts: z.array(factSchema),
    /** Off-chain values the proposal rests on (e.g. the evidence hash); the caller re-checks them. */
    pinned: z.record(z.string()),
    builderFile: z.string().optional(),
    /**
     * Set when the switch's approver is a TimelockController: `call` is what the
     * timelock will make, and the actor (its proposer) calls `schedule(...)`.
     */
    timelock: timelockOperationSchema.optional(),
  })
  .strict();

export type Proposal = z.infer<typeof proposalSchema>;

/** What the approval path needs from the network. */
export interface ApprovalEnv {
  /** The chain. The approval modules adapt it to ethers themselves (chain.ts). */
  provider: Eip1193Provider;
  chainId: number;
  /** The called contract's ABI, to name its custom errors when a simulation reverts. */
  errors?: Interface;
  /** For a TimelockController approver: who proposes on it (blueGreen.approval.timelockProposer). */
  timelockProposer?: string;
  /** The Safe Transaction Service, when blueGreen.approval.safeService is set. */
  safeService?: SafeServiceLink;
}

/** An approver call to propose. */
export interface ApproverCallSpec {
  /** The release id, or the call id for calls outside releases. */
  id: string;
  to: string;
  fragment: FunctionFragment;
  args: readonly unknown[];
  /** The account that must make the call (the switch's approver, or its pending approver). */
  actor: string;
  title: string;
  details: Array<{ label: string; value: string }>;
  /** On-chain facts the call rests on; re-checked before signing and executing. */
  facts: readonly FactQuery[];
  pinned?: Record<string, string>;
}

/**
 * What the actor itself calls: the approver call, or for a timelock approver
 * the timelock's `schedule(...)` of it. The Safe transaction, the journal and
 * the simulation are all about this call.
 */
export function actorCall(proposal: Pick<Proposal, "call" | "timelock">): { to: string; data: string } {
  if (proposal.timelock !== undefined) return { to: proposal.timelock.address, data: proposal.timelock.scheduleData };
  return { to: proposal.call.to, data: proposal.call.data };
}

/** True when a journal belongs to this proposal (same Safe transaction, or same call data for an account). */
export function journalMatches(journal: ExecutionJournal, proposal: Proposal): boolean {
  if (proposal.safe !== undefined) return journal.safeTxHash?.toLowerCase() === proposal.safe.safeTxHash.toLowerCase();
  return journal.data.toLowerCase() === actorCall(proposal).data.toLowerCase() && journal.safeTxHash === undefined;
}

/** Reads the proposal of a folder, or says how to make one. */
export async function requireProposal(folder: ProposalFolder): Promise<Proposal> {
  const proposal = await folder.read(PROPOSAL_FILE, proposalSchema);
  if (proposal === undefined) {
    throw new BlueGreenError("BG_APPROVAL_NO_PROPOSAL", `There is no proposal in ${folder.where}. Propose first (bg:propose ${folder.option}, or bg:call propose).`);
  }
  return proposal;
}
