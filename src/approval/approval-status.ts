/**
 * Where a release's proposal stands on chain, for bg:status: read-only, it
 * changes no file. It recognizes an execution made outside the plugin (the
 * Safe's execution event for the proposal's safeTxHash, or the timelock's own
 * state), a scheduled timelock operation with its id and ETA, and a proposal
 * made stale by a different transaction at its nonce.
 */
import { getAddress } from "ethers";

import { iso } from "../common/format.js";
import { findMinedExecution } from "./execute.js";
import { tallySignatures } from "./check.js";
import { type ApprovalEnv, proposalSchema } from "./proposal-schema.js";
import { PROPOSAL_FILE, type ProposalFolder } from "./proposal-folder.js";
import { readSafeState } from "./safe-transaction.js";
import { readOperationState } from "./timelock.js";
import { ethersProvider } from "./chain.js";

export type ApprovalStatus =
  | { status: "waiting-signatures"; signatures: number; threshold: number }
  | { status: "executed"; txHash: string; executor: string }
  | { status: "scheduled"; timelock: string; operationId: string; eta: string; ready: boolean }
  | { status: "cancelled"; timelock: string; operationId: string }
  | { status: "stale"; reason: string };

/** The on-chain state of the proposal in `folder`, or undefined when there is none. */
export async function approvalStatus(env: ApprovalEnv, folder: ProposalFolder): Promise<ApprovalStatus | undefined> {
  const proposal = await folder.read(PROPOSAL_FILE, proposalSchema);
  if (proposal === undefined || proposal.chainId !== env.chainId) return undefined;
  const scheduled = await findMinedExecution(env, proposal, proposal.blockNumber);
  if (proposal.timelock !== undefined) {
    const op = proposal.timelock;
    const state = await readOperationState(ethersProvider(env), op);
    if (state.kind === "pending") {
      return { status: "scheduled", timelock: op.address, operationId: op.operationId, eta: iso(Number(state.eta)), ready: state.ready };
    }
    if (state.kind === "done") {
      const logs = await ethersProvider(env).getLogs({
        address: op.address,
        topics: [null, op.operationId],
        fromBlock: proposal.blockNumber,
        toBlock: "latest",
      });
      const last = logs[logs.length - 1];
      const tx = last === undefined ? null : await ethersProvider(env).getTransaction(last.transactionHash);
      if (tx !== null) return { status: "executed", txHash: tx.hash, executor: getAddress(tx.from) };
    }
    if (state.kind === "unset" && scheduled !== undefined) return { status: "cancelled", timelock: op.address, operationId: op.operationId };
  } else if (scheduled !== undefined) {
    return { status: "executed", txHash: scheduled.hash, executor: getAddress(scheduled.from) };
  }
  if (proposal.safe === undefined || proposal.actor.kind !== "safe") return undefined;
  const safe = await readSafeState(ethersProvider(env), proposal.actor.address);
  if (safe.nonce > BigInt(proposal.safe.tx.nonce)) {
    return {
      status: "stale",
      reason: `the Safe's nonce ${proposal.safe.tx.nonce} was used by a different transaction (the Safe is at ${safe.nonce}); propose again`,
    };
  }
  const tally = await tallySignatures(folder, proposal, safe);
  return { status: "waiting-signatures", signatures: tally.signatures.length, threshold: tally.threshold };
}
