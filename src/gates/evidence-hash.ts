/**
 * The evidence hash: one bytes32 that `promote()` puts on chain, so anyone
 * can later prove which evidence the switch was approved on.
 *
 * It is keccak256 over the UTF-8 bytes of a canonical JSON document (sorted
 * keys, no whitespace) holding the release's identity, every gate's status
 * and stable evidence, and the sha256 of every evidence file. Text meant for
 * people (detail, fix, notes) and times are left out, so re-running the
 * gates on unchanged evidence gives the same hash, and changing any evidence
 * file changes it.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";

import { keccak256, toUtf8Bytes } from "ethers";

import { jsonSafe } from "../common/format.js";
import { canonicalJson, type ReleaseRecord } from "../release/record.js";
import type { EvidenceFile, GateResult } from "./gate-result.js";

export const EVIDENCE_KIND = "hardhat-bluegreen/gates-evidence";
export const EVIDENCE_VERSION = 1;

/** 0x-prefixed lowercase hex sha256 of some bytes. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return "0x" + createHash("sha256").update(bytes).digest("hex");
}

/** Reads a file and returns its bytes' sha256, or undefined if it does not exist. */
export async function sha256File(file: string): Promise<string | undefined> {
  try {
    return sha256Hex(await readFile(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** A path as recorded in evidence: relative to the project root, with forward slashes. */
export function evidencePath(projectRoot: string, file: string): string {
  return path.relative(projectRoot, path.resolve(projectRoot, file)).split(path.sep).join("/");
}

/** The evidence files of a set of results, deduplicated and sorted by path. */
export function collectEvidenceFiles(results: readonly GateResult[]): EvidenceFile[] {
  const byPath = new Map<string, EvidenceFile>();
  for (const r of results) for (const f of r.files ?? []) byPath.set(f.path, f);
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface EvidenceDocument {
  kind: typeof EVIDENCE_KIND;
  version: typeof EVIDENCE_VERSION;
  release: string;
  chainId: number;
  proxy: string;
  blue: { address: string; codehash: string };
  green: { address: string; codehash: string };
  gates: Array<{ name: string; status: string; required: boolean; evidence: Record<string, unknown> }>;
  files: EvidenceFile[];
  /** Present only when the release goes on with no gate, by `blueGreen.gates.waive`. */
  waiver?: { reason: string };
}

/** The document whose canonical JSON is hashed. Addresses and hashes are lowercased. */
export function evidenceDocument(
  record: Pick<ReleaseRecord, "id" | "chainId" | "proxy" | "blue" | "green">,
  results: readonly Pick<GateResult, "name" | "status" | "required" | "evidence">[],
  files: readonly EvidenceFile[],
  waiver?: { reason: string },
): EvidenceDocument {
  return {
    // Absent rather than null, so evidence without a waiver hashes as it always did.
    ...(waiver !== undefined ? { waiver: { reason: waiver.reason } } : {}),
    kind: EVIDENCE_KIND,
    version: EVIDENCE_VERSION,
    release: record.id,
    chainId: record.chainId,
    proxy: record.proxy.toLowerCase(),
    blue: { address: record.blue.address.toLowerCase(), codehash: record.blue.codehash.toLowerCase() },
    green: { address: record.green.address.toLowerCase(), codehash: record.green.codehash.toLowerCase() },
    gates: results.map((r) => ({ name: r.name, status: r.status, required: r.required, evidence: jsonSafe(r.evidence) })),
    files: [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => ({ path: f.path, sha256: f.sha256 })),
  };
}

/** The exact bytes that are hashed (also written beside the record as evidence.json). */
export function evidenceBytes(doc: EvidenceDocument): string {
  return canonicalJson(doc);
}

/** keccak256 of the canonical evidence document: the bytes32 for `promote()`. */
export function evidenceHash(doc: EvidenceDocument): string {
  return keccak256(toUtf8Bytes(evidenceBytes(doc)));
}
