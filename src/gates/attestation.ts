/**
 * Audit attestations: an auditor's EIP-712 signature over green's runtime
 * codehash, the audit report (sha256 and URI), the findings still open by
 * severity, and the date.
 *
 * The domain has no chainId and no verifying contract on purpose: the
 * attestation is about bytecode, and the same bytecode audited once counts
 * on every chain.
 *
 * One attestation is one JSON file under the audits folder, named
 * `<first 4 bytes of the codehash>-<auditor>.json`. The file carries the
 * domain, types and message as signed, so any EIP-712 tool can check it.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { getAddress, type Signer, TypedDataEncoder, verifyTypedData } from "ethers";
import { z } from "zod";

import { addressSchema, bytes32Schema, signatureSchema } from "../common/schema.js";
import { writeJsonAtomic } from "../release/store.js";

export const ATTESTATION_KIND = "hardhat-bluegreen/audit-attestation";
export const ATTESTATION_VERSION = 1;

export const ATTESTATION_DOMAIN = { name: "hardhat-bluegreen audit", version: "1" } as const;

export const ATTESTATION_PRIMARY_TYPE = "AuditAttestation";

export const ATTESTATION_TYPES = {
  AuditAttestation: [
    { name: "greenCodehash", type: "bytes32" },
    { name: "reportSha256", type: "bytes32" },
    { name: "reportUri", type: "string" },
    { name: "critical", type: "uint32" },
    { name: "high", type: "uint32" },
    { name: "medium", type: "uint32" },
    { name: "low", type: "uint32" },
    { name: "date", type: "string" },
  ],
} as const;

export const SEVERITIES = ["critical", "high", "medium", "low"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What the auditor signs. */
export interface AttestationMessage {
  /** keccak256 of green's runtime bytecode (its EXTCODEHASH). */
  greenCodehash: string;
  /** sha256 of the report file's bytes. */
  reportSha256: string;
  /** Where the report is published. */
  reportUri: string;
  critical: number;
  high: number;
  medium: number;
  low: number;
  /** When the auditor signed, ISO 8601 UTC to the second, e.g. "2026-11-22T10:00:00Z". */
  date: string;
}

/** The attestation file. `release` and `reportFile` are for people and are not signed. */
export interface AttestationFile {
  kind: typeof ATTESTATION_KIND;
  version: typeof ATTESTATION_VERSION;
  auditor: string;
  domain: typeof ATTESTATION_DOMAIN;
  primaryType: typeof ATTESTATION_PRIMARY_TYPE;
  types: typeof ATTESTATION_TYPES;
  message: AttestationMessage;
  signature: string;
  release?: string;
  reportFile?: string;
}

const count = z.number().int("must be a whole number").min(0, "must not be negative").max(2 ** 32 - 1, "is too large");
// Narrower than the shared ISO time: what is signed is UTC to the second, so one instant has one spelling.
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export const attestationMessageSchema = z
  .object({
    greenCodehash: bytes32Schema,
    reportSha256: bytes32Schema,
    reportUri: z.string().min(1, "must not be empty"),
    critical: count,
    high: count,
    medium: count,
    low: count,
    date: z.string().regex(DATE, "must be an ISO 8601 UTC time to the second, e.g. 2026-11-22T10:00:00Z"),
  })
  .strict();

export const attestationFileSchema = z
  .object({
    kind: z.literal(ATTESTATION_KIND),
    version: z.literal(ATTESTATION_VERSION),
    auditor: addressSchema,
    domain: z.object({ name: z.literal(ATTESTATION_DOMAIN.name), version: z.literal(ATTESTATION_DOMAIN.version) }).strict(),
    primaryType: z.literal(ATTESTATION_PRIMARY_TYPE),
    types: z.unknown(),
    message: attestationMessageSchema,
    signature: signatureSchema,
    release: z.string().optional(),
    reportFile: z.string().optional(),
  })
  .strict();

/** The EIP-712 digest an auditor signs for a message. */
export function attestationDigest(message: AttestationMessage): string {
  return TypedDataEncoder.hash(ATTESTATION_DOMAIN, mutableTypes(), message);
}

/** Formats a date the way attestations carry it: UTC, to the second. */
export function attestationDate(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Signs an attestation. Works with any ethers signer: a Wallet built from a
 * configured key, or a connection's signer that answers eth_signTypedData_v4.
 */
export async function signAttestation(
  signer: Signer,
  message: AttestationMessage,
  info: { release?: string; reportFile?: string } = {},
): Promise<AttestationFile> {
  const parsed = attestationMessageSchema.parse(message);
  const auditor = getAddress(await signer.getAddress());
  const signature = await signer.signTypedData(ATTESTATION_DOMAIN, mutableTypes(), parsed);
  const file: AttestationFile = {
    kind: ATTESTATION_KIND,
    version: ATTESTATION_VERSION,
    auditor,
    domain: ATTESTATION_DOMAIN,
    primaryType: ATTESTATION_PRIMARY_TYPE,
    types: ATTESTATION_TYPES,
    message: parsed,
    signature,
    ...(info.release !== undefined ? { release: info.release } : {}),
    ...(info.reportFile !== undefined ? { reportFile: info.reportFile } : {}),
  };
  // A signer that signs something else than asked (a misbehaving remote
  // account) must not produce a file that looks fine and fails later.
  const check = verifyAttestation(file);
  if (check.kind !== "valid") throw new Error(`the signer's signature does not verify: ${check.reason}`);
  return file;
}

/** The file name of an attestation: codehash prefix, then the auditor. */
export function attestationFileName(greenCodehash: string, auditor: string): string {
  return `${greenCodehash.toLowerCase().slice(0, 10)}-${getAddress(auditor)}.json`;
}

/** Writes an attestation into the audits folder atomically; returns its path. */
export async function writeAttestation(dir: string, attestation: AttestationFile): Promise<string> {
  const file = path.join(dir, attestationFileName(attestation.message.greenCodehash, attestation.auditor));
  await writeJsonAtomic(file, attestation);
  return file;
}

export type AttestationCheck =
  | { kind: "valid"; auditor: string; message: AttestationMessage; digest: string }
  | { kind: "malformed"; reason: string }
  | { kind: "tampered"; reason: string; claimed: string; recovered: string; message: AttestationMessage };

/**
 * Checks one parsed attestation on its own: its shape, its types, and that
 * the signature recovers to the auditor it names. Whether that auditor and
 * codehash are the right ones is the audits gate's business.
 */
export function verifyAttestation(raw: unknown): AttestationCheck {
  const parsed = attestationFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    return { kind: "malformed", reason: `field "${field}" ${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}` };
  }
  const file = parsed.data;
  if (JSON.stringify(file.types) !== JSON.stringify(ATTESTATION_TYPES)) {
    return { kind: "malformed", reason: "its EIP-712 types are not those of a hardhat-bluegreen audit attestation" };
  }
  let recovered: string;
  try {
    recovered = verifyTypedData(ATTESTATION_DOMAIN, mutableTypes(), file.message, file.signature);
  } catch (e) {
    return { kind: "malformed", reason: `its signature cannot be decoded (${(e as Error).message.split(" (")[0]})` };
  }
  if (recovered.toLowerCase() !== file.auditor.toLowerCase()) {
    return {
      kind: "tampered",
      reason: `the signature does not match the contents: it recovers to ${recovered}, but the file names ${getAddress(file.auditor.toLowerCase())}`,
      claimed: file.auditor,
      recovered,
      message: file.message,
    };
  }
  return { kind: "valid", auditor: recovered, message: file.message, digest: attestationDigest(file.message) };
}

/** Reads a file and verifies it; unreadable or non-JSON files are "malformed". */
export async function readAttestation(file: string): Promise<{ bytes: Buffer; check: AttestationCheck }> {
  const bytes = await readFile(file);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    return { bytes, check: { kind: "malformed", reason: `it is not valid JSON (${(e as Error).message})` } };
  }
  return { bytes, check: verifyAttestation(raw) };
}

/** ethers wants mutable arrays for its types argument. */
function mutableTypes(): Record<string, Array<{ name: string; type: string }>> {
  return { AuditAttestation: ATTESTATION_TYPES.AuditAttestation.map((f) => ({ ...f })) };
}
