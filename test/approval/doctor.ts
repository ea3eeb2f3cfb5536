/**
 * Rewrites a proposal folder the way an attacker with write access to it
 * would: the call and the Safe transaction changed, and every hash, the
 * typed data and signatures.json made to agree with them, so that the
 * folder is consistent with itself.
 */
import { getAddress } from "ethers";

import { type Proposal, proposalSchema } from "../../src/approval/proposal.js";
import type { ProposalFolder } from "../../src/approval/proposal-folder.js";
import { type SafeTransaction, hashSafeTransaction, safeTxTypedData } from "../../src/approval/safe-transaction.js";
import { type SignatureSet, signSafeTransaction } from "../../src/approval/signatures.js";
import type { Signer } from "ethers";

export interface ProposalEdit {
  call?: Partial<Proposal["call"]>;
  tx?: Partial<SafeTransaction>;
  pinned?: Record<string, string>;
}

/** Applies `edit` to the folder's proposal and makes the rest of the folder agree; returns the doctored proposal. */
export async function doctorProposal(folder: ProposalFolder, edit: ProposalEdit): Promise<Proposal> {
  const honest = (await folder.read("proposal.json", proposalSchema))!;
  const safe = honest.actor.address;
  const call = { ...honest.call, ...edit.call };
  const tx: SafeTransaction = { ...honest.safe!.tx, ...(edit.call?.data !== undefined && honest.timelock === undefined ? { data: call.data } : {}), ...edit.tx };
  const hashes = hashSafeTransaction(honest.chainId, safe, tx);
  const proposal: Proposal = { ...honest, call, safe: { tx, ...hashes }, pinned: { ...honest.pinned, ...edit.pinned } };
  await folder.write("proposal.json", proposal);
  await folder.write("safe-tx-typed-data.json", safeTxTypedData(honest.chainId, safe, tx));
  await folder.write("signatures.json", { safeTxHash: hashes.safeTxHash, signatures: [] } satisfies SignatureSet);
  return proposal;
}

/** Owners' signatures over the doctored transaction (as if they signed its typed data with their own tools), written to signatures.json. */
export async function signDoctored(folder: ProposalFolder, proposal: Proposal, owners: Signer[]): Promise<void> {
  const set: SignatureSet = { safeTxHash: proposal.safe!.safeTxHash, signatures: [] };
  for (const owner of owners) {
    set.signatures.push({
      owner: getAddress(await owner.getAddress()),
      signature: await signSafeTransaction(owner, proposal.chainId, proposal.actor.address, proposal.safe!.tx),
      kind: "eip712",
      addedAt: new Date().toISOString(),
    });
  }
  await folder.write("signatures.json", set);
}
