/**
 * The audits gate: at least `min` distinct configured auditors have signed
 * an attestation for green's exact codehash, with no critical or high
 * finding left open.
 *
 * Every attestation file of the folder is read. Files about other bytecode
 * (earlier releases) are left alone, unless their name says they are about
 * this green; tampered files, wrong codehashes and unknown signers are named.
 * A tampered file about this green fails the gate: evidence that was edited
 * after signing must not sit next to evidence that counts.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";

import { getAddress } from "ethers";

import { short } from "../common/format.js";
import type { ReleaseRecord } from "../release/record.js";
import { attestationFileName, readAttestation, type AttestationMessage } from "./attestation.js";
import type { AuditsGateConfig } from "./config.js";
import { evidencePath, sha256Hex } from "./evidence-hash.js";
import { gateResult, type EvidenceFile, type GateResult } from "./gate-result.js";
import { ACCEPTANCE_KIND, readMediumAcceptance } from "./medium-acceptance.js";

export type AttestationProblem =
  | { kind: "malformed"; file: string; reason: string }
  | { kind: "tampered"; file: string; reason: string }
  | { kind: "wrong-codehash"; file: string; auditor: string; codehash: string }
  | { kind: "unknown-signer"; file: string; auditor: string };

export interface CountedAttestation {
  auditor: string;
  file: string;
  sha256: string;
  message: AttestationMessage;
  /** True when no critical or high finding is open. */
  clean: boolean;
}

export interface AuditsEvaluation {
  /** The latest valid attestation of each configured auditor for this green. */
  attestations: CountedAttestation[];
  problems: AttestationProblem[];
  /** Files about other bytecode, ignored. */
  otherReleases: number;
}

/**
 * Reads and classifies the attestation files of a folder for one green
 * codehash. Pure reading: no verdict yet.
 */
export async function readAttestations(
  dir: string,
  greenCodehash: string,
  auditors: readonly string[],
  projectRoot: string,
): Promise<AuditsEvaluation> {
  const codehash = greenCodehash.toLowerCase();
  const prefix = codehash.slice(0, 10);
  const allowed = new Set(auditors.map((a) => a.toLowerCase()));
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return [] as string[];
    throw e;
  });
  const latest = new Map<string, CountedAttestation>();
  const problems: AttestationProblem[] = [];
  let otherReleases = 0;
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    const abs = path.join(dir, name);
    const file = evidencePath(projectRoot, abs);
    const aboutThisGreenByName = name.toLowerCase().startsWith(prefix + "-");
    const { bytes, check } = await readAttestation(abs);
    if (check.kind === "malformed") {
      problems.push({ kind: "malformed", file, reason: check.reason });
      continue;
    }
    if (check.kind === "tampered") {
      if (aboutThisGreenByName || check.message.greenCodehash.toLowerCase() === codehash) {
        problems.push({ kind: "tampered", file, reason: check.reason });
      } else {
        otherReleases++;
      }
      continue;
    }
    if (check.message.greenCodehash.toLowerCase() !== codehash) {
      if (aboutThisGreenByName) {
        problems.push({ kind: "wrong-codehash", file, auditor: check.auditor, codehash: check.message.greenCodehash });
      } else {
        otherReleases++;
      }
      continue;
    }
    if (!allowed.has(check.auditor.toLowerCase())) {
      problems.push({ kind: "unknown-signer", file, auditor: check.auditor });
      continue;
    }
    const entry: CountedAttestation = {
      auditor: check.auditor,
      file,
      sha256: sha256Hex(bytes),
      message: check.message,
      clean: check.message.critical === 0 && check.message.high === 0,
    };
    // An auditor who re-attests after fixes supersedes their earlier word.
    const key = check.auditor.toLowerCase();
    const previous = latest.get(key);
    if (previous === undefined || previous.message.date <= entry.message.date) latest.set(key, entry);
  }
  return {
    attestations: [...latest.values()].sort((a, b) => (a.auditor.toLowerCase() < b.auditor.toLowerCase() ? -1 : 1)),
    problems,
    otherReleases,
  };
}

/** Says, for people, what is wrong with one file. */
export function describeProblem(p: AttestationProblem, greenCodehash: string): string {
  switch (p.kind) {
    case "malformed":
      return `${p.file}: not a valid attestation: ${p.reason}`;
    case "tampered":
      return `${p.file}: tampered: ${p.reason}`;
    case "wrong-codehash":
      return `${p.file}: wrong codehash: signed by ${p.auditor} for ${p.codehash}, not green's ${greenCodehash}`;
    case "unknown-signer":
      return `${p.file}: unknown signer ${p.auditor}, not among blueGreen.gates.audits.auditors`;
  }
}

/** Evaluates the audits gate for a release. */
export async function evaluateAuditsGate(
  record: ReleaseRecord,
  config: AuditsGateConfig,
  projectRoot: string,
): Promise<GateResult> {
  const name = "audits";
  const badChecksums = config.auditors.filter((a) => !hasValidChecksum(a));
  if (badChecksums.length > 0) {
    return gateResult(name, "fail", config.required, `auditor address ${badChecksums.join(", ")} fails its EIP-55 checksum`, {
      fix: "Copy the auditors' addresses again into blueGreen.gates.audits.auditors: a mixed-case address must carry a valid checksum.",
      evidence: { auditors: config.auditors.map((a) => a.toLowerCase()) },
    });
  }
  const green = record.green.codehash;
  const found = await readAttestations(config.dir, green, config.auditors, projectRoot);
  // Open mediums count only when accepted in writing by a signer, finding by finding.
  const withMediums = found.attestations.filter((a) => a.clean && a.message.medium > 0);
  const acceptance = withMediums.length > 0 ? await readMediumAcceptance(config.dir, green, projectRoot) : undefined;
  const mediumsOpen: CountedAttestation[] = [];
  for (const a of withMediums) {
    const accepted =
      acceptance?.kind === "valid" ? acceptance.acceptance.findings.filter((f) => f.auditor.toLowerCase() === a.auditor.toLowerCase()).length : 0;
    if (accepted < a.message.medium) {
      a.clean = false;
      mediumsOpen.push(a);
    }
  }
  const clean = found.attestations.filter((a) => a.clean);
  const open = found.attestations.filter((a) => !a.clean && !mediumsOpen.includes(a));
  const tampered = found.problems.filter((p) => p.kind === "tampered");
  const notes = found.problems.map((p) => describeProblem(p, green));
  const dirRel = evidencePath(projectRoot, config.dir);
  const evidence = {
    codehash: green.toLowerCase(),
    min: config.min,
    auditors: config.auditors.map((a) => a.toLowerCase()),
    attestations: found.attestations.map((a) => ({
      auditor: a.auditor.toLowerCase(),
      file: a.file,
      sha256: a.sha256,
      reportSha256: a.message.reportSha256.toLowerCase(),
      reportUri: a.message.reportUri,
      critical: a.message.critical,
      high: a.message.high,
      medium: a.message.medium,
      low: a.message.low,
      date: a.message.date,
      counted: a.clean,
    })),
    problems: found.problems.map((p) => ({ kind: p.kind, file: p.file })),
    ...(acceptance?.kind === "valid"
      ? {
          mediumsAccepted: {
            file: acceptance.file,
            acceptedBy: acceptance.acceptance.acceptedBy.toLowerCase(),
            findings: acceptance.acceptance.findings.map((f) => ({ auditor: f.auditor.toLowerCase(), id: f.id })),
          },
        }
      : {}),
  };
  const files: EvidenceFile[] = found.attestations.map((a) => ({ path: a.file, sha256: a.sha256 }));
  if (acceptance?.kind === "valid") files.push({ path: acceptance.file, sha256: acceptance.sha256 });
  if (acceptance?.kind === "invalid") notes.push(`${acceptance.file}: not a valid acceptance of medium findings: ${acceptance.reason}`);
  const summary =
    `${clean.length} of ${config.min} required auditor(s) attest codehash ${short(green, 10, 0)} with no open critical/high finding and no unaccepted medium` +
    (open.length > 0
      ? `; ${open.map((a) => `${a.auditor} reports ${a.message.critical} critical, ${a.message.high} high open`).join("; ")}`
      : "") +
    (mediumsOpen.length > 0
      ? `; [BG_AUDITS_MEDIUMS_NOT_ACCEPTED] ${mediumsOpen.map((a) => `${a.auditor} reports ${a.message.medium} open medium(s)`).join("; ")}, not accepted in ${acceptance?.file ?? "an acceptance file"}`
      : "");
  if (tampered.length > 0) {
    return gateResult(name, "fail", config.required, `${summary}; tampered attestation(s): ${tampered.map((t) => t.file).join(", ")}`, {
      fix: "A tampered file's signature no longer matches its contents. Restore it from git or ask its auditor to sign again with `npx hardhat bg:attest`, and remove the edited copy.",
      ...(mediumsOpen.length > 0 ? { code: "BG_AUDITS_MEDIUMS_NOT_ACCEPTED" as const } : {}),
      evidence,
      files,
      notes,
    });
  }
  if (clean.length >= config.min) {
    return gateResult(name, "pass", config.required, summary, { evidence, files, notes });
  }
  const missing = config.auditors.filter((a) => !clean.some((c) => c.auditor.toLowerCase() === a.toLowerCase()));
  const fix =
    mediumsOpen.length > 0 && open.length === 0
      ? `Fix the medium findings and have the auditor re-attest, or record their acceptance: write ${acceptance?.file ?? "audits/accepted/<codehash>-mediums.json"} ` +
        `({ kind: "${ACCEPTANCE_KIND}", greenCodehash, acceptedBy, findings: [{ auditor, id, title, reason }], signature }) naming each open medium of each auditor, ` +
        "signed by the accepting signer (personal_sign over the file's canonical JSON without signature; see docs/gates.md)."
      : open.length > 0
      ? "Resolve the open critical and high findings, then have the auditor re-attest with `npx hardhat bg:attest --release <id> --report <file> --uri <url>` and zero open critical/high."
      : `Have ${config.min - clean.length} more of the configured auditors (${missing.map((a) => getAddress(a)).join(", ")}) sign with ` +
        `\`npx hardhat bg:attest --release ${record.id} --report <file> --uri <url>\` and commit the file it writes under ${dirRel || "."}/` +
        (missing[0] !== undefined ? ` (e.g. ${attestationFileName(green, missing[0])}).` : ".");
  return gateResult(name, "fail", config.required, summary, {
    fix,
    ...(mediumsOpen.length > 0 ? { code: "BG_AUDITS_MEDIUMS_NOT_ACCEPTED" as const } : {}),
    evidence,
    files,
    notes,
  });
}

function hasValidChecksum(address: string): boolean {
  try {
    getAddress(address);
    return true;
  } catch {
    return false;
  }
}
