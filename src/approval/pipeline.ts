/**
 * The one approval pipeline: propose → approve → execute → record, for every
 * approver call. A release's promote, a wave's promoteBatch, a canary step,
 * a veto, an immediate rollback or an early finalize, and any other approver
 * call are each a flow: the folder its proposal lives in, the call it makes
 * rebuilt from what it rests on, and the off-chain checks it rests on. The
 * flows record their own outcome; the check that the proposal is the flow's
 * call (proposal-match.ts), the drift checks, the stale-proposal handling and
 * the crash journal live here and below (execute.ts), once.
 */
import { Interface, type Signer } from "ethers";

import { BlueGreenError } from "../errors.js";
import type { ReleaseStore } from "../release/store.js";
import { type SwitchRef, switchCallSpec } from "./approver-call.js";
import { type ApproveInput, type ApproveOutcome, approveProposal } from "./approve.js";
import { checkProposal, tallySignatures } from "./check.js";
import { type ExecuteOptions, type ExecuteOutcome, type TimelockWait, executeProposal } from "./execute.js";
import { executionJournalSchema } from "./journal.js";
import { assertProposalIsCall, proposalDifferences } from "./proposal-match.js";
import { type ApprovalEnv, type ApproverCallSpec, type Proposal, proposalSchema, requireProposal } from "./proposal-schema.js";
import { EXECUTION_FILE, PROPOSAL_FILE, type ProposalFolder, callProposalFolder } from "./proposal-folder.js";
import { type ProposeOptions, type ProposeOutcome, proposeApproverCall } from "./propose.js";

export interface ApprovalFlow {
  folder: ProposalFolder;
  /** The chain's records folder: sends from one account take turns under its per-account lock (chain/send-once.ts). */
  senderLockDir: string;
  /**
   * The call this flow proposes, rebuilt from what it rests on (the release
   * record, a wave's or a canary step's entry in it, the switch's ABI) the
   * way its propose step builds it. Before a signature and before a send, the
   * proposal in the folder must be exactly this call (proposal-match.ts).
   */
  expected(proposal: Proposal, env: ApprovalEnv): Promise<ApproverCallSpec>;
  /** What `expected` is rebuilt from, for messages, e.g. `release.json of vault-v2`. */
  source: string;
  /** How to make the proposal again, e.g. `npx hardhat bg:propose --release vault-v2` (the default, from the folder's option). */
  again?: string;
  /**
   * Off-chain checks the call rests on (the evidence, the wave rules), run
   * before a signature and before a fresh send; not when resuming a mined one.
   */
  recheck?(proposal: Proposal, verb: "sign" | "switch"): Promise<void>;
}

/**
 * Any approver call outside a release (adopt, a role change...): its own
 * folder, and the call rebuilt from its own function and arguments through
 * the switch's ABI, the way `bg:call propose` builds it (`spec`, when the
 * caller knows the call, as the rollback window's calls do).
 */
export function callFlow(
  store: ReleaseStore,
  chainId: number,
  callId: string,
  sw: SwitchRef,
  known?: { spec: ApproverCallSpec; source: string; again: string },
): ApprovalFlow {
  const folder = callProposalFolder(store, chainId, callId);
  return {
    folder,
    senderLockDir: store.chainDir(chainId),
    source: known?.source ?? `the switch ${sw.address}'s ABI`,
    again: known?.again ?? `npx hardhat bg:call propose --id ${callId} --function <name> --args '<json array>'`,
    expected: async (proposal, env) => known?.spec ?? switchCallOf(env, sw, proposal, callId, folder),
  };
}

/** Proposes the flow's call (see propose.ts). */
export function proposeFlow(env: ApprovalEnv, flow: ApprovalFlow, spec: ApproverCallSpec, options: ProposeOptions = {}): Promise<ProposeOutcome> {
  return proposeApproverCall(env, flow.folder, spec, options);
}

/** Adds one owner's signature to the flow's proposal, once it is checked to be the flow's call and still valid. */
export async function approveFlow(env: ApprovalEnv, flow: ApprovalFlow, input: ApproveInput): Promise<ApproveOutcome> {
  const proposal = await requireProposal(flow.folder);
  await flow.recheck?.(proposal, "sign");
  await assertFlowCall(env, flow, proposal);
  return approveProposal(env, flow.folder, input, proposal);
}

/** Executes the flow's proposal once it has its signatures, or says what it waits for. */
export async function executeFlow(env: ApprovalEnv, flow: ApprovalFlow, options: Omit<ExecuteOptions, "beforeSend" | "verifyProposal">): Promise<ExecuteOutcome> {
  return executeProposal(env, flow.folder, {
    senderLockDir: flow.senderLockDir,
    ...options,
    ...(flow.recheck !== undefined ? { beforeSend: (proposal: Proposal) => flow.recheck!(proposal, "switch") } : {}),
    verifyProposal: (proposal) => assertFlowCall(env, flow, proposal),
  });
}

/** Refuses a proposal that is not the flow's call, rebuilt from what the flow rests on. */
async function assertFlowCall(env: ApprovalEnv, flow: ApprovalFlow, proposal: Proposal): Promise<void> {
  await assertProposalIsCall(env, flow.folder, proposal, await flow.expected(proposal, env), flow.source, flow.again ?? `npx hardhat bg:propose ${flow.folder.option}`);
}

export type AdvanceOutcome =
  | { status: "proposed"; folder: ProposalFolder; signatures: number; threshold: number; missing: number; timelock?: TimelockWait }
  | Extract<ExecuteOutcome, { status: "executed" }>;

/**
 * Moves an approver call one step on, whatever step it is at: proposes it if
 * there is no current proposal (none, one that is not this call, or one that
 * went stale), executes it once it has enough signatures (at once for a
 * plain-account approver), or says how many signatures are missing. Used by
 * `bg:rollback --cancel/--now` and an early `bg:finalize`, which users simply re-run.
 */
export async function advanceFlow(env: ApprovalEnv, flow: ApprovalFlow, spec: ApproverCallSpec, executor: Signer): Promise<AdvanceOutcome> {
  const { folder } = flow;
  const existing = await folder.read(PROPOSAL_FILE, proposalSchema);
  const journal = await folder.read(EXECUTION_FILE, executionJournalSchema);
  let current = existing !== undefined && (await proposalDifferences(env, existing, spec)).length === 0;
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

/**
 * A standalone call rebuilt from its own data: a call of the switch (this
 * chain's, from switch.json) to one of its approver functions, with the
 * facts and approver bg:call propose would give it.
 */
async function switchCallOf(env: ApprovalEnv, sw: SwitchRef, proposal: Proposal, callId: string, folder: ProposalFolder): Promise<ApproverCallSpec> {
  let parsed: ReturnType<Interface["parseTransaction"]> = null;
  try {
    parsed = sw.iface.parseTransaction({ data: proposal.call.data });
  } catch {
    parsed = null;
  }
  if (parsed === null) {
    throw new BlueGreenError(
      "BG_APPROVAL_PROPOSAL_MISMATCH",
      `The proposal in ${folder.where} is not a call of the switch: its data (selector ${proposal.call.data.slice(0, 10)}) is no function of the switch. Nothing was signed or sent.`,
      { hint: `Do not sign it. Propose the call again: npx hardhat bg:call propose --id ${callId} --function <name> --args '<json array>'.` },
    );
  }
  return switchCallSpec(env, sw, parsed.name, [...parsed.args], { id: callId });
}
