/**
 * One owner's signature added to a proposal, after the same checks as an
 * execution: the proposal still stands, and the signer is an owner.
 */
import { type Signer, getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import { type SignatureTally, assertNotStale, checkProposal, tallySignatures } from "./check.js";
import { executionJournalSchema } from "./journal.js";
import { type ApprovalEnv, type Proposal, journalMatches, requireProposal } from "./proposal-schema.js";
import { EXECUTION_FILE, type ProposalFolder, SIGNATURES_FILE } from "./proposal-folder.js";
import { pullServiceSignatures, pushServiceSignature, signaturesOf } from "./service-signatures.js";
import { type SignatureSet, addOwnerSignature, signSafeTransaction } from "./signatures.js";

export interface ApproveOutcome extends SignatureTally {
  proposal: Proposal;
  /** The owner whose signature was added. */
  added: string;
}

export interface ApproveInput {
  signer?: Signer;
  signature?: string;
  now?: Date;
}

/**
 * Adds one owner's signature to a proposal: made by `signer` (EIP-712 typed
 * data), or given ready-made (e.g. from a hardware wallet). Refuses
 * non-owners, a second signature of an owner, and stale proposals.
 * `checked` is the folder's proposal as the pipeline checked it (pipeline.ts):
 * what is signed is exactly that, not the file read again.
 */
export async function approveProposal(env: ApprovalEnv, folder: ProposalFolder, input: ApproveInput, checked?: Proposal): Promise<ApproveOutcome> {
  const proposal = checked ?? (await requireProposal(folder));
  if (proposal.actor.kind === "account") {
    throw new BlueGreenError(
      "BG_APPROVAL_NOTHING_TO_SIGN",
      `The approver ${proposal.actor.address} is a plain account: there is nothing to sign. It executes the call itself (execute step, ${folder.option}).`,
    );
  }
  const journal = await folder.read(EXECUTION_FILE, executionJournalSchema);
  if (journal?.status === "done" && journalMatches(journal, proposal)) {
    throw new BlueGreenError("BG_APPROVAL_ALREADY_EXECUTED", `This proposal was already executed (tx ${journal.txHash}); no more signatures are needed.`);
  }
  const check = await checkProposal(env, proposal);
  assertNotStale(check, proposal, folder, "sign");
  const safe = check.safe!;
  await pullServiceSignatures(env, folder, proposal, safe.owners);

  let signature: string;
  if (input.signature !== undefined && input.signature !== "") {
    signature = input.signature;
  } else if (input.signer !== undefined) {
    const who = getAddress(await input.signer.getAddress());
    if (!safe.owners.includes(who)) {
      throw new BlueGreenError(
        "BG_APPROVAL_NOT_OWNER",
        `${who} is not an owner of the Safe ${safe.address}. Owners: ${safe.owners.join(", ")}. Pick an owner's account with --signer.`,
      );
    }
    signature = await signSafeTransaction(input.signer, env.chainId, safe.address, proposal.safe!.tx);
  } else {
    throw new BlueGreenError("BG_APPROVAL_NOTHING_TO_SIGN", "Nothing to add: give a signer (--signer) or a signature (--signature).");
  }

  const set = await signaturesOf(folder, proposal);
  let next: SignatureSet;
  try {
    next = addOwnerSignature(set, signature, safe.owners, input.now);
  } catch (error) {
    if (input.signature !== undefined && BlueGreenError.is(error, "BG_APPROVAL_NOT_OWNER")) {
      throw new BlueGreenError(
        "BG_APPROVAL_NOT_OWNER",
        `${error.shortMessage} If the owner signed an earlier proposal, their signature does not fit this safeTxHash (${proposal.safe!.safeTxHash}): have them sign again.`,
      );
    }
    throw error;
  }
  await folder.write(SIGNATURES_FILE, next);
  const added = next.signatures[next.signatures.length - 1]!;
  await pushServiceSignature(env, proposal, added.owner, added.signature);
  const tally = await tallySignatures(folder, proposal, safe);
  return { ...tally, proposal, added: added.owner };
}
