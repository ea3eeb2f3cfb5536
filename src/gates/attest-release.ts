/**
 * `bg:attest` without Hardhat: find green's codehash for a release, hash the
 * report, sign, and write the attestation file.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import type { Signer } from "ethers";

import { BlueGreenError } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import { attestationDate, signAttestation, writeAttestation, type AttestationFile, type Severity } from "./attestation.js";
import { evidencePath, sha256Hex } from "./evidence-hash.js";

/**
 * The green codehash of a release, looked up in every chain of the store:
 * an attestation is about bytecode, not about a chain, so the auditor needs
 * no network. The same release id on several chains must name the same green.
 */
export async function findReleaseGreen(store: ReleaseStore, id: string): Promise<{ codehash: string; records: ReleaseRecord[] }> {
  const records: ReleaseRecord[] = [];
  for (const chainId of await store.listChains()) {
    const record = await store.read(chainId, id);
    if (record !== undefined) records.push(record);
  }
  if (records.length === 0) {
    throw new BlueGreenError(
      "BG_GATES_RELEASE_NOT_FOUND",
      `No release "${id}" in ${path.relative(process.cwd(), store.root) || store.root}. ` +
        "Check the id (bg:status lists them), or pull the release records the team committed.",
    );
  }
  const codehashes = [...new Set(records.map((r) => r.green.codehash.toLowerCase()))];
  if (codehashes.length > 1) {
    throw new BlueGreenError(
      "BG_GATES_ATTEST_GREEN_AMBIGUOUS",
      `Release "${id}" names different greens on different chains (${records.map((r) => `chain ${r.chainId}: ${r.green.codehash}`).join(", ")}). ` +
        "Attest each build separately: restage so the release ids differ, or ask the team which build is meant.",
    );
  }
  return { codehash: codehashes[0]!, records };
}

export interface AttestReleaseInput {
  store: ReleaseStore;
  release: string;
  /** The audit report file (any format); its sha256 is signed. */
  reportFile: string;
  reportUri: string;
  findings: Record<Severity, number>;
  signer: Signer;
  /** Folder the attestation is written to. */
  dir: string;
  projectRoot: string;
  now?: Date;
  /** The configured auditors, to warn a signer who would not count. */
  auditors?: readonly string[];
}

export interface AttestReleaseResult {
  file: string;
  attestation: AttestationFile;
  warnings: string[];
}

/** Signs and writes an audit attestation for a release's green. */
export async function attestRelease(input: AttestReleaseInput): Promise<AttestReleaseResult> {
  for (const [severity, n] of Object.entries(input.findings)) {
    if (!Number.isInteger(n) || n < 0) {
      throw new BlueGreenError("BG_GATES_ATTEST_ARGUMENT", `--${severity} ${n} is not a count. Pass the number of open ${severity} findings (0 or more).`);
    }
  }
  const reportUri = input.reportUri.trim();
  try {
    new URL(reportUri);
  } catch {
    throw new BlueGreenError(
      "BG_GATES_ATTEST_ARGUMENT",
      `--uri "${input.reportUri}" is not a URL. Pass where the report is published, e.g. https://example.com/audit.pdf or ipfs://<cid>.`,
    );
  }
  let report: Buffer;
  try {
    report = await readFile(path.resolve(input.projectRoot, input.reportFile));
  } catch (e) {
    throw new BlueGreenError("BG_GATES_ATTEST_REPORT_UNREADABLE", `Cannot read the report --report ${input.reportFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Pass the audit report's path.`);
  }
  const { codehash } = await findReleaseGreen(input.store, input.release);
  const attestation = await signAttestation(
    input.signer,
    {
      greenCodehash: codehash,
      reportSha256: sha256Hex(report),
      reportUri,
      critical: input.findings.critical,
      high: input.findings.high,
      medium: input.findings.medium,
      low: input.findings.low,
      date: attestationDate(input.now ?? new Date()),
    },
    { release: input.release, reportFile: evidencePath(input.projectRoot, input.reportFile) },
  );
  const warnings: string[] = [];
  if (input.auditors !== undefined && !input.auditors.some((a) => a.toLowerCase() === attestation.auditor.toLowerCase())) {
    warnings.push(
      `${attestation.auditor} is not in blueGreen.gates.audits.auditors, so the audits gate will not count this attestation until it is added there.`,
    );
  }
  if (attestation.message.critical > 0 || attestation.message.high > 0) {
    warnings.push(
      `this attestation reports ${attestation.message.critical} critical and ${attestation.message.high} high open finding(s); the audits gate counts it only once they are resolved and re-attested.`,
    );
  }
  const file = await writeAttestation(input.dir, attestation);
  return { file, attestation, warnings };
}
