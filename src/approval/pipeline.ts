/**
 * The one approval pipeline: propose → approve → execute → record, for every
 * approver call. A release's promote, a wave's promoteBatch, a veto, an
 * immediate rollback or an early finalize, and any other approver call are
 * each a flow: the folder its proposal lives in, how to tell that the
 * proposal there is its call, and the off-chain checks it rests on. The
 * flows record their own outcome; the drift checks, the stale-proposal
 * handling and the crash journal live here and below (execute.ts), once.
 */
import { Interface, type Signer } from "ethers";

import type { ReleaseStore } from "../release/store.js";
import { type ApproveInput, type ApproveOutcome, approveProposal } from "./approve.js";
import { checkProposal, tallySignatures } from "./check.js";
import { type ExecuteOptions, type ExecuteOutcome, type TimelockWait, executeProposal } from "./execute.js";
import { executionJournalSchema } from "./journal.js";
import { type ApprovalEnv, type ApproverCallSpec, type Proposal, proposalSchema, requireProposal } from "./proposal-schema.js";
import { EXECUTION_FILE, PROPOSAL_FILE, type ProposalFolder, callProposalFolder } from "./proposal-folder.js";
import { type ProposeOptions, type ProposeOutcome, proposeApproverCall } from "./propose.js";

export interface ApprovalFlow {
  folder: ProposalFolder;
  /** The chain's records folder: sends from one account take turns under its per-account lock (chain/send-once.ts). */
  senderLockDir: string;
  /** Refuses a proposal in the folder that is not this flow's call (hand-edited, re-planned, another call). */
  verify?(proposal: Proposal): void;
  /**
   * Off-chain checks the call rests on (the evidence, the wave rules), run
   * before a signature and before a fresh send; not when resuming a mined one.
   */
  recheck?(proposal: Proposal, verb: "sign" | "switch"): Promise<void>;
}

/** Any approver call outside a release (adopt, a role change, a veto...): its own folder, nothing off-chain to re-check. */
export function callFlow(store: ReleaseStore, chainId: number, callId: string): ApprovalFlow {
  return { folder: callProposalFolder(store, chainId, callId), senderLockDir: store.chainDir(chainId) };
}

/** Proposes the flow's call (see propose.ts). */
export function proposeFlow(env: ApprovalEnv, flow: ApprovalFlow, spec: ApproverCallSpec, options: ProposeOptions = {}): Promise<ProposeOutcome> {
  return proposeApproverCall(env, flow.folder, spec, options);
}

/** Adds one owner's signature to the flow's proposal, once it is checked to be the flow's call and still valid. */
export async function approveFlow(env: ApprovalEnv, flow: ApprovalFlow, input: ApproveInput): Promise<ApproveOutcome> {
  const proposal = await requireProposal(flow.folder);
  flow.verify?.(proposal);
  await flow.recheck?.(proposal, "sign");
  return approveProposal(env, flow.folder, input);
}

/** Executes the flow's proposal once it has its signatures, or says what it waits for. */
export async function executeFlow(env: ApprovalEnv, flow: ApprovalFlow, options: Omit<ExecuteOptions, "beforeSend">): Promise<ExecuteOutcome> {
  const proposal = await requireProposal(flow.folder);
  flow.verify?.(proposal);
  const recheck = flow.recheck;
  return executeProposal(env, flow.folder, { senderLockDir: flow.senderLockDir, ...options, ...(recheck !== undefined ? { beforeSend: () => recheck(proposal, "switch") } : {}) });
}

export type AdvanceOutcome =
  | { status: "proposed"; folder: ProposalFolder; signatures: number; threshold: number; missing: number; timelock?: TimelockWait }
  | Extract<ExecuteOutcome, { status: "executed" }>;

/**
 * Moves an approver call one step on, whatever step it is at: proposes it if
 * there is no current proposal (or the one there went stale), executes it
 * once it has enough signatures (at once for a plain-account approver), or
 * says how many signatures are missing. Used by `bg:rollback --cancel/--now`
 * and an early `bg:finalize`, which users simply re-run.
 */
export async function advanceFlow(env: ApprovalEnv, flow: ApprovalFlow, spec: ApproverCallSpec, executor: Signer): Promise<AdvanceOutcome> {
  const { folder } = flow;
  const existing = await folder.read(PROPOSAL_FILE, proposalSchema);
  const journal = await folder.read(EXECUTION_FILE, executionJournalSchema);
  const data = new Interface([spec.fragment]).encodeFunctionData(spec.fragment, spec.args);
  let current = existing !== undefined && existing.call.data.toLowerCase() === data.toLowerCase();
  if (current && journal === undefined) {
    const check = await checkProposal(env, existing!);
    current = !check.nonceUsed && check.drifts.length === 0;
  }
  if (!current) await proposeFlow(env, flow, spec);
  const outcome = await executeFlow(env, flow, { executor });
  if (outcome.status === "executed") return outcome;
  if (outcome.timelock !== undefined) {
    return { status: "proposed", folder, signatures: 0, threshold: 0, missing: 0, timelock: outcome.timelock };
  }
  const proposal = await requireProposal(folder);
  const check = await checkProposal(env, proposal);
  const tally = await tallySignatures(folder, proposal, check.safe!);
  return { status: "proposed", folder, signatures: tally.signatures.length, threshold: tally.threshold, missing: tally.missing };
}
