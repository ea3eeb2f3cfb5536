/**
 * Owner signatures over a safeTxHash: made, checked, kept, packed.
 *
 * Safe checks signatures in one pass that requires strictly increasing owner
 * addresses (GS026 otherwise), so the packed bytes are always sorted by owner,
 * whatever order the signers came in.
 */
import { Signature, getAddress, getBytes, hashMessage, recoverAddress, type Signer } from "ethers";
import { z } from "zod";

import { addressSchema, bytes32Schema, isoTimeSchema, signatureSchema } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";
import { SAFE_TX_TYPES, type SafeTransaction, safeDomain, safeTxMessage } from "./safe-transaction.js";


export const ownerSignatureSchema = z
  .object({
    owner: addressSchema,
    /** 65 bytes r ++ s ++ v, exactly as it goes into execTransaction. */
    signature: signatureSchema,
    /** eip712: signed the typed data (v 27/28); eth_sign: signed the hash as a message (v 31/32). */
    kind: z.enum(["eip712", "eth_sign"]),
    addedAt: isoTimeSchema,
  })
  .strict();

/** signatures.json: the signatures collected for one safeTxHash. */
export const signatureSetSchema = z
  .object({
    safeTxHash: bytes32Schema,
    signatures: z.array(ownerSignatureSchema),
  })
  .strict();

export type OwnerSignature = z.infer<typeof ownerSignatureSchema>;
export type SignatureSet = z.infer<typeof signatureSetSchema>;

/**
 * Has `signer` sign the Safe transaction as EIP-712 typed data, the way the
 * Safe web app and hardware wallets do. Returns v as 27/28.
 */
export async function signSafeTransaction(
  signer: Signer,
  chainId: number | bigint,
  safe: string,
  tx: SafeTransaction,
): Promise<string> {
  const raw = await signer.signTypedData(safeDomain(chainId, safe), SAFE_TX_TYPES, safeTxMessage(tx));
  return Signature.from(raw).serialized;
}

/**
 * Recovers the owner that made a signature over `safeTxHash`, the way Safe's
 * `checkNSignatures` does for ECDSA signatures. Contract signatures (v 0) and
 * pre-approved hashes (v 1) are not collected here: they are refused with a hint.
 */
export function recoverSignatureOwner(safeTxHash: string, signature: string): { owner: string; kind: OwnerSignature["kind"] } {
  let bytes: Uint8Array;
  try {
    bytes = getBytes(signature);
  } catch {
    throw new BlueGreenError("BG_APPROVAL_SIGNATURE", `"${signature}" is not hex. A Safe owner signature is 65 bytes (130 hex digits) after 0x.`);
  }
  if (bytes.length !== 65) {
    throw new BlueGreenError(
      "BG_APPROVAL_SIGNATURE",
      `The signature is ${bytes.length} bytes; a Safe owner signature is 65 bytes (r, s, v). Paste the whole signature.`,
    );
  }
  const v = bytes[64]!;
  const r = signature.slice(0, 66);
  const s = "0x" + signature.slice(66, 130);
  if (v === 27 || v === 28) {
    return { owner: recoverAddress(safeTxHash, { r, s, v }), kind: "eip712" };
  }
  if (v === 31 || v === 32) {
    // Safe's eth_sign flavour: the owner signed the hash as a personal message and added 4 to v.
    return { owner: recoverAddress(hashMessage(getBytes(safeTxHash)), { r, s, v: v - 4 }), kind: "eth_sign" };
  }
  throw new BlueGreenError(
    "BG_APPROVAL_SIGNATURE",
    `The signature's v is ${v}. Expected 27/28 (EIP-712 typed-data signature) or 31/32 (Safe's eth_sign form). ` +
      (v === 0 || v === 1
        ? "If your wallet returned v 0/1 for an ECDSA signature, add 27 to the last byte. Contract signatures and approved hashes are not collected by bg:approve; approve the hash on the Safe instead."
        : "Sign the safeTxHash again with your wallet's typed-data signing."),
  );
}

/**
 * Checks a new signature against the current owners and the ones collected,
 * and returns the collection with it added. Refuses non-owners and a second
 * signature from the same owner.
 */
export function addOwnerSignature(
  set: SignatureSet,
  signature: string,
  owners: readonly string[],
  now: Date = new Date(),
): SignatureSet {
  const { owner, kind } = recoverSignatureOwner(set.safeTxHash, signature);
  const ownerSet = new Set(owners.map((o) => getAddress(o)));
  if (!ownerSet.has(owner)) {
    throw new BlueGreenError(
      "BG_APPROVAL_NOT_OWNER",
      `The signature over ${set.safeTxHash} was made by ${owner}, which is not an owner of the Safe. ` +
        `Owners: ${[...ownerSet].join(", ")}. Sign with an owner's key (--signer <owner address>).`,
    );
  }
  if (set.signatures.some((s) => getAddress(s.owner) === owner)) {
    throw new BlueGreenError(
      "BG_APPROVAL_ALREADY_SIGNED",
      `${owner} has already signed ${set.safeTxHash}; a second signature from the same owner does not count toward the threshold. ` +
        "Another owner must sign.",
    );
  }
  return {
    ...set,
    signatures: [...set.signatures, { owner, signature: signature.toLowerCase(), kind, addedAt: now.toISOString() }],
  };
}

/**
 * The signatures that still count: each re-verified against the hash and the
 * Safe's owners as they are now (an owner may have been removed since).
 */
export function validSignatures(set: SignatureSet, safeTxHash: string, owners: readonly string[]): OwnerSignature[] {
  if (set.safeTxHash.toLowerCase() !== safeTxHash.toLowerCase()) return [];
  const ownerSet = new Set(owners.map((o) => getAddress(o)));
  const seen = new Set<string>();
  const valid: OwnerSignature[] = [];
  for (const entry of set.signatures) {
    let owner: string;
    try {
      owner = recoverSignatureOwner(safeTxHash, entry.signature).owner;
    } catch {
      continue;
    }
    if (owner !== getAddress(entry.owner) || !ownerSet.has(owner) || seen.has(owner)) continue;
    seen.add(owner);
    valid.push(entry);
  }
  return valid;
}

/** Concatenates signatures sorted by owner address, ascending, as execTransaction requires. */
export function packSignatures(signatures: readonly OwnerSignature[]): string {
  const sorted = [...signatures].sort((a, b) => {
    const x = BigInt(a.owner);
    const y = BigInt(b.owner);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return "0x" + sorted.map((s) => s.signature.slice(2)).join("");
}
