/**
 * The proposal's signatures kept in step with the Safe Transaction Service,
 * when blueGreen.approval.safeService is set: the proposal is posted there,
 * confirmations given in Safe{Wallet} are pulled in, and signatures added
 * here are pushed out. The proposal files stay the source of truth.
 */
import { type Signer, getAddress } from "ethers";

import type { ApprovalEnv, Proposal } from "./proposal-schema.js";
import { type ProposalFolder, SIGNATURES_FILE } from "./proposal-folder.js";
import { type SignatureSet, addOwnerSignature, signSafeTransaction, signatureSetSchema } from "./signatures.js";

/** What happened with the Safe Transaction Service when proposing. */
export interface ServicePosting {
  url: string;
  /** posted: now in the owners' queue; already: it was there; deferred: the first bg:approve posts it. */
  status: "posted" | "already" | "deferred";
  /** Why posting waits, when it does. */
  reason?: string;
}

/**
 * Posts the proposal's Safe transaction to the service. The service takes a
 * proposal only with a signature of an owner (or delegate), so the proposer
 * signs if they are an owner; otherwise the first owner to run bg:approve posts it.
 */
export async function postToService(
  env: ApprovalEnv,
  folder: ProposalFolder,
  proposal: Proposal,
  owners: readonly string[],
  proposer: Signer | undefined,
  now: Date,
): Promise<ServicePosting | undefined> {
  const service = env.safeService;
  if (service === undefined || proposal.safe === undefined) return undefined;
  if ((await service.transaction(proposal.safe.safeTxHash)) !== undefined) return { url: service.url, status: "already" };
  const who = proposer !== undefined ? getAddress(await proposer.getAddress()) : undefined;
  if (proposer === undefined || who === undefined || !owners.includes(who)) {
    return {
      url: service.url,
      status: "deferred",
      reason: `the service takes a proposal only with an owner's signature${who !== undefined ? `, and ${who} is not an owner` : ""}; the first bg:approve posts it`,
    };
  }
  const signature = await signSafeTransaction(proposer, env.chainId, proposal.actor.address, proposal.safe.tx);
  const set = (await folder.read(SIGNATURES_FILE, signatureSetSchema)) ?? { safeTxHash: proposal.safe.safeTxHash, signatures: [] };
  if (!set.signatures.some((s) => getAddress(s.owner) === who)) await folder.write(SIGNATURES_FILE, addOwnerSignature(set, signature, owners, now));
  await service.propose({ safe: proposal.actor.address, tx: proposal.safe.tx, safeTxHash: proposal.safe.safeTxHash, sender: who, signature });
  return { url: service.url, status: "posted" };
}

/**
 * Adds the confirmations the service holds (given in Safe{Wallet}, or by
 * another owner's tools) to the proposal's signatures. Each is checked like a
 * pasted signature; ones that do not recover to a current owner are ignored,
 * as the Safe itself would ignore them.
 */
export async function pullServiceSignatures(env: ApprovalEnv, folder: ProposalFolder, proposal: Proposal, owners: readonly string[]): Promise<number> {
  if (env.safeService === undefined || proposal.safe === undefined) return 0;
  const confirmations = await env.safeService.confirmations(proposal.safe.safeTxHash);
  let set = await signaturesOf(folder, proposal);
  let added = 0;
  for (const c of confirmations) {
    if (set.signatures.some((s) => getAddress(s.owner) === c.owner)) continue;
    try {
      set = addOwnerSignature(set, c.signature, owners);
      added++;
    } catch {
      // Not an owner's EOA signature over this hash (e.g. a contract signature): the Safe would not count it here either.
    }
  }
  if (added > 0) await folder.write(SIGNATURES_FILE, set);
  return added;
}

/** Shares an owner's new signature with the service: a confirmation, or the proposal itself if it is not there yet. */
export async function pushServiceSignature(env: ApprovalEnv, proposal: Proposal, owner: string, signature: string): Promise<void> {
  if (env.safeService === undefined || proposal.safe === undefined) return;
  const known = await env.safeService.transaction(proposal.safe.safeTxHash);
  if (known === undefined) {
    await env.safeService.propose({ safe: proposal.actor.address, tx: proposal.safe.tx, safeTxHash: proposal.safe.safeTxHash, sender: owner, signature });
    return;
  }
  const already = await env.safeService.confirmations(proposal.safe.safeTxHash);
  if (!already.some((c) => c.owner === getAddress(owner))) await env.safeService.confirm(proposal.safe.safeTxHash, signature);
}

/** The stored signatures if they are over this proposal's safeTxHash, else an empty set for it. */
export async function signaturesOf(folder: ProposalFolder, proposal: Proposal): Promise<SignatureSet> {
  const safeTxHash = proposal.safe!.safeTxHash;
  const stored = await folder.read(SIGNATURES_FILE, signatureSetSchema);
  return stored !== undefined && stored.safeTxHash.toLowerCase() === safeTxHash.toLowerCase() ? stored : { safeTxHash, signatures: [] };
}
