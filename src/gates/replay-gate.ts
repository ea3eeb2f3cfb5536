/**
 * The replay gate: the latest replay of this release, for this exact green,
 * replayed enough traffic faithfully and found no more unexpected
 * divergences than allowed.
 *
 * It trusts nothing in the record it cannot check: the report file's
 * keccak256 must equal the hash the replay recorded, and the report must be
 * about green's codehash.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { keccak256 } from "ethers";

import type { ReleaseRecord } from "../release/record.js";
import { replayStepSchema as writtenReplayStepSchema } from "../replay/record-step.js";
import type { ReplayGateConfig } from "./config.js";
import { evidencePath, sha256Hex } from "./evidence-hash.js";
import { gateResult, type GateResult } from "./gate-result.js";

/**
 * `record.steps.replay`, read with the replay step's own schema. Extra fields
 * are let through, so a record written by a newer replay still gates.
 */
export const replayStepSchema = writtenReplayStepSchema.passthrough();

/**
 * Where a recorded report file is: absolute as is; relative to the release
 * folder (where the replay step writes it), else to the project root.
 */
async function locateReport(reportFile: string, releaseDir: string, projectRoot: string): Promise<string> {
  if (path.isAbsolute(reportFile)) return reportFile;
  const beside = path.join(releaseDir, reportFile);
  const exists = await readFile(beside).then(
    () => true,
    () => false,
  );
  return exists ? beside : path.resolve(projectRoot, reportFile);
}

/** Evaluates the replay gate. `releaseDir` is the release's folder in the store. */
export async function evaluateReplayGate(
  record: ReleaseRecord,
  config: ReplayGateConfig,
  paths: { releaseDir: string; projectRoot: string },
): Promise<GateResult> {
  const name = "replay";
  const limits = { max: config.max, minTxs: config.minTxs, minFidelity: config.minFidelity };
  const rerun = `Run \`npx hardhat bg:replay --network <net> --release ${record.id}\`.`;
  const raw = record.steps.replay;
  if (raw === undefined) {
    return gateResult(name, "fail", config.required, "no replay recorded for this release", { fix: rerun, evidence: limits });
  }
  const parsed = replayStepSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return gateResult(name, "fail", config.required, `the recorded replay is unreadable: steps.replay.${issue.path.join(".")} ${issue.message.toLowerCase()}`, {
      fix: `Replay again to rewrite it: ${rerun}`,
      evidence: limits,
    });
  }
  const step = parsed.data;
  const green = record.green.codehash.toLowerCase();
  if (step.greenCodehash.toLowerCase() !== green) {
    return gateResult(name, "fail", config.required, `the latest replay was of green ${step.greenCodehash}, not the staged green ${green}`, {
      fix: `Green changed since the replay. ${rerun}`,
      evidence: { ...limits, replayedCodehash: step.greenCodehash.toLowerCase() },
    });
  }
  const file = await locateReport(step.reportFile, paths.releaseDir, paths.projectRoot);
  const rel = evidencePath(paths.projectRoot, file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    return gateResult(name, "fail", config.required, `the replay report ${rel} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      fix: `Restore it from git, or replay again: ${rerun}`,
      evidence: { ...limits, reportFile: rel },
    });
  }
  const sha256 = sha256Hex(bytes);
  const files = [{ path: rel, sha256 }];
  const actualHash = keccak256(bytes);
  if (actualHash.toLowerCase() !== step.reportHash.toLowerCase()) {
    return gateResult(name, "fail", config.required, `the replay report ${rel} changed since the replay: keccak256 ${actualHash}, recorded ${step.reportHash}`, {
      fix: `Restore the report from git (git checkout -- ${rel}), or replay again: ${rerun}`,
      evidence: { ...limits, reportFile: rel, reportHash: step.reportHash.toLowerCase() },
      files,
    });
  }
  const { codehash: reportGreen, verdict, verdictReason } = readReport(bytes);
  if (reportGreen === undefined || reportGreen !== green) {
    return gateResult(
      name,
      "fail",
      config.required,
      reportGreen === undefined
        ? `the replay report ${rel} does not say which green it replayed (no greenCodehash)`
        : `the replay report ${rel} is about green ${reportGreen}, not ${green}`,
      { fix: rerun, evidence: { ...limits, reportFile: rel, reportHash: step.reportHash.toLowerCase() }, files },
    );
  }
  const fidelity = step.fidelity.total === 0 ? 0 : step.fidelity.matched / step.fidelity.total;
  const evidence = {
    ...limits,
    reportFile: rel,
    reportHash: step.reportHash.toLowerCase(),
    mode: step.mode,
    fromBlock: step.fromBlock,
    toBlock: step.toBlock,
    txs: step.txs,
    divergences: step.divergences,
    expected: step.expected,
    propagated: step.propagated,
    fidelity: { matched: step.fidelity.matched, total: step.fidelity.total },
    ...(verdict !== undefined ? { verdict } : {}),
  };
  const failures: string[] = [];
  const fixes: string[] = [];
  if (verdict === undefined) {
    failures.push("the report has no verdict (it was written before replays checked their own fidelity)");
    fixes.push(`Replay again with this version: ${rerun}`);
  } else if (verdict === "inconclusive") {
    failures.push(verdictReason ?? "the replay was inconclusive: blue did not reproduce the chain");
    fixes.push("An inconclusive replay proves nothing: read fidelity.mismatches in the report, check the fork source (an archive node) and replay again in faithful mode.");
  }
  if (step.divergences > config.max) {
    failures.push(`${step.divergences} unexpected divergence(s), max ${config.max}`);
    fixes.push(`Read the divergences in ${rel.replace(/\.json$/, ".md")} or ${rel}; fix green, or declare the intended ones as expected differences and replay again.`);
  }
  if (step.txs < config.minTxs) {
    failures.push(`${step.txs} transaction(s) replayed, min ${config.minTxs}`);
    fixes.push("Replay a wider block range (or more traffic) so that enough transactions are covered.");
  }
  if (fidelity < config.minFidelity) {
    failures.push(`fidelity ${step.fidelity.matched}/${step.fidelity.total}, min ${config.minFidelity}`);
    fixes.push("Blue's replay did not match the real receipts: check the fork source and block context, then replay again.");
  }
  const summary =
    `${step.txs} txs in blocks ${step.fromBlock}-${step.toBlock} (${step.mode}): ${step.divergences} unexpected divergence(s), ` +
    `${step.expected} expected, ${step.propagated} propagated, fidelity ${step.fidelity.matched}/${step.fidelity.total}`;
  if (failures.length === 0) return gateResult(name, "pass", config.required, summary, { evidence, files });
  return gateResult(name, "fail", config.required, `${failures.join("; ")} (${summary})`, { fix: fixes.join(" "), evidence, files });
}

/** What the gate reads from the (hash-checked) report itself: which green, and the verdict. */
function readReport(bytes: Buffer): { codehash?: string; verdict?: string; verdictReason?: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    return {};
  }
  const d = doc as { greenCodehash?: unknown; green?: { codehash?: unknown }; verdict?: unknown; verdictReason?: unknown } | null;
  const value = typeof d?.greenCodehash === "string" ? d.greenCodehash : typeof d?.green?.codehash === "string" ? d.green.codehash : undefined;
  return {
    ...(value !== undefined ? { codehash: value.toLowerCase() } : {}),
    ...(typeof d?.verdict === "string" ? { verdict: d.verdict } : {}),
    ...(typeof d?.verdictReason === "string" ? { verdictReason: d.verdictReason } : {}),
  };
}
