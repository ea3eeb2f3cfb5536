/**
 * Proposing an approver call: the call is built, simulated from the
 * approver, the facts it rests on are pinned, and (for a Safe) the Safe
 * transaction, its safeTxHash, the EIP-712 domain and message hashes and a
 * Transaction Builder file are written with a summary for people.
 */
import { FunctionFragment, type Signer } from "ethers";

import { BlueGreenError } from "../errors.js";
import { resolveApprover } from "./approver.js";
import { buildBuilderFile } from "./builder-file.js";
import { pinFacts } from "./facts.js";
import { executionJournalSchema } from "./journal.js";
import { type ApprovalEnv, type ApproverCallSpec, PROPOSAL_SCHEMA_VERSION, type Proposal, actorCall, journalMatches, proposalSchema } from "./proposal-schema.js";
import { proposedCall, safeProposal } from "./proposal-match.js";
import {
  BUILDER_FILE,
  EXECUTION_FILE,
  PROPOSAL_FILE,
  type ProposalFolder,
  SIGNATURES_FILE,
  SUMMARY_FILE,
  TYPED_DATA_FILE,
} from "./proposal-folder.js";
import { assertSafeAgreesOnHash, readSafeState, safeTxTypedData } from "./safe-transaction.js";
import { type ServicePosting, postToService } from "./service-signatures.js";
import { type SignatureSet, signatureSetSchema } from "./signatures.js";
import { simulateCall } from "./simulate.js";
import { renderProposalSummary } from "./summary.js";
import { type TimelockOperation, readOperationState } from "./timelock.js";
import { ethersProvider } from "./chain.js";

export interface ProposeOutcome {
  proposal: Proposal;
  proposalFile: string;
  summaryFile: string;
  builderFile?: string;
  /** Signatures still valid from an identical earlier proposal. */
  signaturesKept: number;
  /** Signatures dropped because the proposal changed (new nonce, new values). */
  signaturesDropped: number;
  /** The Safe Transaction Service, when one is configured. */
  service?: ServicePosting;
}

export interface ProposeOptions {
  nonce?: bigint;
  now?: Date;
  proposer?: Signer;
}

/**
 * Proposes an approver call: simulates it from the approver, pins its facts,
 * and writes the proposal files. Re-proposing the same call at the same Safe
 * nonce gives the same safeTxHash and keeps the signatures collected so far.
 */
export async function proposeApproverCall(env: ApprovalEnv, folder: ProposalFolder, spec: ApproverCallSpec, options: ProposeOptions = {}): Promise<ProposeOutcome> {
  const journal = await folder.read(EXECUTION_FILE, executionJournalSchema);
  const previous = await folder.read(PROPOSAL_FILE, proposalSchema);
  // A timelock operation cancelled after it was scheduled may be proposed again: nothing of it will ever run.
  const cancelled =
    journal?.status === "done" && previous?.timelock !== undefined && (await readOperationState(ethersProvider(env), previous.timelock)).kind === "unset";
  if (journal !== undefined && previous !== undefined && journalMatches(journal, previous) && !cancelled) {
    throw journal.status === "done"
      ? new BlueGreenError("BG_APPROVAL_ALREADY_EXECUTED", `This proposal in ${folder.where} was already executed (tx ${journal.txHash}). Nothing to propose.`)
      : new BlueGreenError(
          "BG_APPROVAL_EXECUTION_PENDING",
          `An execution of the proposal in ${folder.where} was started and not confirmed. ` +
            `Finish it first by running the execute step again (${folder.option}); it finds the transaction if it was mined.`,
        );
  }

  // Built here exactly as the pipeline rebuilds it before each signature and send (proposal-match.ts).
  const call = proposedCall(spec);
  const { data } = call;
  const { actor, timelock } = await resolveApprover(env, spec.actor, spec.id, call);
  // The approver call itself must pass as the switch will see it: from the timelock, or from the actor.
  await simulateCall(env, { from: timelock?.address ?? actor.address, to: spec.to, data }, spec.title);
  const outer = actorCall({ call, timelock });
  if (timelock !== undefined) await simulateCall(env, { from: actor.address, ...outer }, `Scheduling on the timelock ${timelock.address}`);
  const facts = await pinFacts(ethersProvider(env), spec.facts);
  const blockNumber = await ethersProvider(env).getBlockNumber();
  const now = options.now ?? new Date();

  let safe: Proposal["safe"];
  if (actor.kind === "safe") {
    const state = await readSafeState(ethersProvider(env), actor.address);
    const nonce = options.nonce ?? state.nonce;
    if (nonce < state.nonce) {
      throw new BlueGreenError(
        "BG_APPROVAL_NONCE_USED",
        `Safe nonce ${nonce} is already used (the Safe is at ${state.nonce}). Leave --nonce out, or give ${state.nonce} or more.`,
      );
    }
    safe = safeProposal(env.chainId, actor.address, outer, nonce);
    await assertSafeAgreesOnHash(ethersProvider(env), actor.address, safe.tx, safe.safeTxHash);
  }

  const proposal: Proposal = {
    schemaVersion: PROPOSAL_SCHEMA_VERSION,
    id: spec.id,
    chainId: env.chainId,
    createdAt: now.toISOString(),
    blockNumber,
    title: spec.title,
    details: spec.details,
    call,
    actor,
    ...(safe !== undefined ? { safe, builderFile: BUILDER_FILE } : {}),
    facts,
    pinned: spec.pinned ?? {},
    ...(timelock !== undefined ? { timelock } : {}),
  };

  let builderFile: string | undefined;
  if (safe !== undefined) {
    const file = buildBuilderFile({
      chainId: env.chainId,
      safe: actor.address,
      name: spec.title,
      description: `${spec.title}. Safe nonce ${safe.tx.nonce}, safeTxHash ${safe.safeTxHash}.`,
      calls: [
        timelock !== undefined
          ? { to: timelock.address, data: timelock.scheduleData, fragment: TIMELOCK_SCHEDULE, args: scheduleArgs(timelock) }
          : { to: spec.to, data, fragment: spec.fragment, args: spec.args },
      ],
      createdAt: now,
    });
    builderFile = await folder.write(BUILDER_FILE, file);
    await folder.write(TYPED_DATA_FILE, safeTxTypedData(env.chainId, actor.address, safe.tx));
  } else {
    await folder.remove(BUILDER_FILE);
    await folder.remove(TYPED_DATA_FILE);
  }

  // Signatures survive only if they are over this very safeTxHash.
  const existing = await folder.read(SIGNATURES_FILE, signatureSetSchema);
  let kept = 0;
  let dropped = 0;
  if (safe !== undefined) {
    if (existing !== undefined && existing.safeTxHash.toLowerCase() === safe.safeTxHash.toLowerCase()) {
      kept = existing.signatures.length;
    } else {
      dropped = existing?.signatures.length ?? 0;
      await folder.write(SIGNATURES_FILE, { safeTxHash: safe.safeTxHash, signatures: [] } satisfies SignatureSet);
    }
  } else if (existing !== undefined) {
    dropped = existing.signatures.length;
    await folder.remove(SIGNATURES_FILE);
  }
  if (journal !== undefined) await folder.remove(EXECUTION_FILE);

  const proposalFile = await folder.write(PROPOSAL_FILE, proposal);
  const summaryFile = await folder.write(SUMMARY_FILE, renderProposalSummary(proposal, folder));
  const service = safe !== undefined && actor.kind === "safe" ? await postToService(env, folder, proposal, actor.owners, options.proposer, now) : undefined;
  return {
    proposal,
    proposalFile,
    summaryFile,
    ...(builderFile !== undefined ? { builderFile } : {}),
    signaturesKept: kept,
    signaturesDropped: dropped,
    ...(service !== undefined ? { service } : {}),
  };
}

const TIMELOCK_SCHEDULE = FunctionFragment.from(
  "function schedule(address target, uint256 value, bytes data, bytes32 predecessor, bytes32 salt, uint256 delay)",
);

function scheduleArgs(op: TimelockOperation): unknown[] {
  return [op.target, 0n, op.data, op.predecessor, op.salt, BigInt(op.delay)];
}
