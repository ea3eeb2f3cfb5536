/**
 * Whether a proposal still stands: its hashes are its own, the Safe has not
 * used its nonce, and nothing it rests on changed. Checked before every
 * signature and every send.
 */
import { getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import { type FactDrift, checkFacts } from "./facts.js";
import { type ApprovalEnv, type Proposal, actorCall } from "./proposal-schema.js";
import { type ProposalFolder, SIGNATURES_FILE } from "./proposal-folder.js";
import { type SafeState, hashSafeTransaction, readSafeState } from "./safe-transaction.js";
import { type OwnerSignature, signatureSetSchema, validSignatures } from "./signatures.js";
import { ethersProvider } from "./chain.js";

export interface ProposalCheck {
  /** The Safe as it is now (undefined for a plain-account approver). */
  safe?: SafeState;
  drifts: FactDrift[];
  /** Set when the Safe's nonce moved past the proposal's. */
  nonceUsed: boolean;
}

/**
 * Checks a proposal against the chain: its hashes recomputed from its own
 * fields, the Safe's nonce, and every pinned fact.
 */
export async function checkProposal(env: ApprovalEnv, proposal: Proposal): Promise<ProposalCheck> {
  assertProposalChain(env, proposal);
  const drifts = await checkFacts(ethersProvider(env), proposal.facts);
  if (proposal.actor.kind === "account") return { drifts, nonceUsed: false };
  assertHashesIntegral(proposal);
  const safe = await readSafeState(ethersProvider(env), proposal.actor.address);
  return { safe, drifts, nonceUsed: safe.nonce > BigInt(proposal.safe!.tx.nonce) };
}

/** A proposal is signed and executed only on the chain it was made for. */
export function assertProposalChain(env: Pick<ApprovalEnv, "chainId">, proposal: Pick<Proposal, "chainId">): void {
  if (proposal.chainId !== env.chainId) {
    throw new BlueGreenError(
      "BG_APPROVAL_WRONG_CHAIN",
      `The proposal is for chain ${proposal.chainId}, but the network is chain ${env.chainId}. Pass the --network it was proposed on.`,
    );
  }
}

/**
 * The stored hashes must be those of the stored transaction: a hand-edited
 * file is refused. This compares the file with itself; that it is the call
 * its flow makes, rebuilt from the records, is checked by the pipeline
 * before any signature or send (proposal-match.ts).
 */
export function assertHashesIntegral(proposal: Proposal): void {
  if (proposal.safe === undefined) {
    throw new BlueGreenError("BG_APPROVAL_TAMPERED", "The proposal's approver is a Safe but it has no Safe transaction. Propose again.");
  }
  const hashes = hashSafeTransaction(proposal.chainId, proposal.actor.address, proposal.safe.tx);
  if (
    hashes.safeTxHash !== proposal.safe.safeTxHash.toLowerCase() ||
    hashes.domainHash !== proposal.safe.domainHash.toLowerCase() ||
    hashes.messageHash !== proposal.safe.messageHash.toLowerCase() ||
    proposal.safe.tx.data.toLowerCase() !== actorCall(proposal).data.toLowerCase() ||
    getAddress(proposal.safe.tx.to) !== getAddress(actorCall(proposal).to)
  ) {
    throw new BlueGreenError(
      "BG_APPROVAL_TAMPERED",
      "The proposal's hashes do not match its own transaction fields: the file was changed after it was made. Do not sign it; propose again.",
    );
  }
}

/** Throws, saying what changed, when the proposal can no longer be executed as it stands. */
export function assertNotStale(check: ProposalCheck, proposal: Proposal, folder: ProposalFolder, verb: string): void {
  if (check.nonceUsed) {
    throw new BlueGreenError(
      "BG_APPROVAL_STALE",
      `Refusing to ${verb}: the Safe has moved to nonce ${check.safe!.nonce}, past this proposal's nonce ${proposal.safe!.tx.nonce}, ` +
        `so it can never execute. Propose again (${folder.option}) and collect new signatures.`,
    );
  }
  assertNoDrift(
    check.drifts,
    `Refusing to ${verb}: the chain changed since the proposal was made`,
    `Propose again (${folder.option}) so that signers see the chain as it is.`,
  );
}

/** Throws when a pinned fact changed: what is refused, each change, and what to do. */
export function assertNoDrift(drifts: readonly FactDrift[], refusal: string, then: string): void {
  if (drifts.length === 0) return;
  throw new BlueGreenError(
    "BG_APPROVAL_STALE",
    `${refusal}:\n` + drifts.map((d) => `  - ${d.label}: was ${d.expected}, now ${d.actual}`).join("\n") + `\n${then}`,
  );
}

export interface SignatureTally {
  signatures: OwnerSignature[];
  threshold: number;
  missing: number;
  owners: string[];
}

/** Counts the signatures that still count against the Safe's current owners and threshold. */
export async function tallySignatures(folder: ProposalFolder, proposal: Proposal, safe: SafeState): Promise<SignatureTally> {
  const set = await folder.read(SIGNATURES_FILE, signatureSetSchema);
  const valid = set === undefined ? [] : validSignatures(set, proposal.safe!.safeTxHash, safe.owners);
  return { signatures: valid, threshold: safe.threshold, missing: Math.max(0, safe.threshold - valid.length), owners: safe.owners };
}
