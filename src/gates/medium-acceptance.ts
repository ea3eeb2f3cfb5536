/**
 * Accepted medium findings. An attestation that reports open medium
 * findings counts for the audits gate only when someone with authority has
 * accepted each of them in writing: a file naming the findings and the
 * accepting signer, signed by that signer (EIP-191 `personal_sign` over the
 * canonical JSON of the file without its `signature`), so the acceptance is
 * that person's word and not anyone's edit.
 *
 * It lives at `<audits dir>/accepted/<first 4 bytes of green's codehash>-mediums.json`
 * and is hashed with the evidence.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { getAddress, verifyMessage } from "ethers";
import { z } from "zod";

import { addressSchema, bytes32Schema, signatureSchema } from "../common/schema.js";
import { canonicalJson } from "../release/record.js";
import { evidencePath, sha256Hex } from "./evidence-hash.js";

export const ACCEPTANCE_KIND = "hardhat-bluegreen/accepted-mediums";

export const acceptanceSchema = z
  .object({
    kind: z.literal(ACCEPTANCE_KIND),
    greenCodehash: bytes32Schema,
    acceptedBy: addressSchema,
    findings: z
      .array(
        z
          .object({
            auditor: addressSchema,
            id: z.string().min(1, "must name the finding as the report does (e.g. M-01)"),
            title: z.string().min(1),
            reason: z.string().min(1, "must say why the finding is accepted"),
          })
          .strict(),
      )
      .min(1),
    signature: signatureSchema,
  })
  .strict();
export type MediumAcceptance = z.infer<typeof acceptanceSchema>;

/** Where the acceptance of a green's mediums is kept. */
export function acceptanceFile(auditsDir: string, greenCodehash: string): string {
  return path.join(auditsDir, "accepted", `${greenCodehash.toLowerCase().slice(0, 10)}-mediums.json`);
}

/** The exact text the accepting signer signs. */
export function acceptanceMessage(acceptance: Omit<MediumAcceptance, "signature">): string {
  const { signature: _ignored, ...rest } = acceptance as MediumAcceptance;
  return canonicalJson(rest);
}

export type AcceptanceRead =
  | { kind: "none"; file: string }
  | { kind: "invalid"; file: string; reason: string }
  | { kind: "valid"; file: string; sha256: string; acceptance: MediumAcceptance };

/** Reads and checks the acceptance file of a green, if there is one. */
export async function readMediumAcceptance(auditsDir: string, greenCodehash: string, projectRoot: string): Promise<AcceptanceRead> {
  const abs = acceptanceFile(auditsDir, greenCodehash);
  const file = evidencePath(projectRoot, abs);
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { kind: "none", file };
    throw e;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    return { kind: "invalid", file, reason: `not JSON: ${(e as Error).message}` };
  }
  const parsed = acceptanceSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { kind: "invalid", file, reason: `${issue.path.join(".") || "(root)"} ${issue.message.toLowerCase()}` };
  }
  const acceptance = parsed.data;
  if (acceptance.greenCodehash.toLowerCase() !== greenCodehash.toLowerCase()) {
    return { kind: "invalid", file, reason: `it accepts findings of green ${acceptance.greenCodehash}, not ${greenCodehash}` };
  }
  let signer: string;
  try {
    signer = verifyMessage(acceptanceMessage(acceptance), acceptance.signature);
  } catch (e) {
    return { kind: "invalid", file, reason: `the signature cannot be read: ${(e as Error).message}` };
  }
  if (getAddress(signer) !== getAddress(acceptance.acceptedBy.toLowerCase())) {
    return { kind: "invalid", file, reason: `it is signed by ${signer}, not by acceptedBy ${acceptance.acceptedBy} (edited after signing?)` };
  }
  return { kind: "valid", file, sha256: sha256Hex(bytes), acceptance };
}
