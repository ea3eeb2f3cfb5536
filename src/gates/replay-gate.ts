/**
 * The replay gate: the latest replay of this release, for this exact green,
 * replayed enough traffic faithfully and found no more unexpected
 * divergences than allowed.
 *
 * It trusts nothing in the record it cannot check: the report file's
 * keccak256 must equal the hash the replay recorded, the report must be
 * about green's codehash, and every count is read from the report. Only a
 * faithful replay with full fidelity proves blue reproduced the chain.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { keccak256 } from "ethers";
import { z } from "zod";

import type { ErrorCode } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import { replayStepSchema as writtenReplayStepSchema } from "../replay/record-step.js";
import { PARTIAL_REPORT_SCHEMA, REPORT_SCHEMA } from "../replay/report.js";
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
  paths: { releaseDir: string; projectRoot: string; head?: () => Promise<number> },
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
  const report = readReport(bytes);
  const reportGreen = report.codehash;
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
  if (report.partial !== undefined) {
    return gateResult(name, "fail", config.required, `[BG_REPLAY_PARTIAL] the replay report ${rel} is ${report.partial}'s partial report, not the replay of the whole range`, {
      fix: `Run every shard, then \`npx hardhat bg:replay merge <partial reports…>\`, which records the merged report; or ${rerun.charAt(0).toLowerCase()}${rerun.slice(1)}`,
      code: "BG_REPLAY_PARTIAL",
      evidence: { ...limits, reportFile: rel, reportHash: step.reportHash.toLowerCase() },
      files,
    });
  }
  const facts = reportFactsSchema.safeParse(report.doc);
  if (!facts.success) {
    const issue = facts.error.issues[0]!;
    return gateResult(name, "fail", config.required, `the replay report ${rel} is not a ${REPORT_SCHEMA} report: ${issue.path.join(".") || "(root)"} ${issue.message.toLowerCase()}`, {
      fix: `Replay again with this version, so the gate can read the counts from the report itself: ${rerun}`,
      evidence: { ...limits, reportFile: rel, reportHash: step.reportHash.toLowerCase() },
      files,
    });
  }
  // Every count comes from the hash-checked report; the record's copies are only a cache for people.
  const r = facts.data;
  const { verdict, verdictReason } = report;
  // A streamed report keeps the first divergences in full and counts them all.
  const divergences = r.counts?.divergences ?? r.divergences.length;
  const expectedCount = r.counts?.expected ?? r.expected.length;
  const propagatedCount = r.counts?.propagated ?? r.propagated.length;
  const evidence = {
    ...limits,
    ...(config.maxAgeBlocks !== undefined ? { maxAgeBlocks: config.maxAgeBlocks } : {}),
    reportFile: rel,
    reportHash: step.reportHash.toLowerCase(),
    mode: r.mode,
    fromBlock: r.fromBlock,
    toBlock: r.toBlock,
    txs: r.txs,
    divergences,
    expected: expectedCount,
    propagated: propagatedCount,
    fidelity: { matched: r.fidelity.matched, total: r.fidelity.total },
    ...(verdict !== undefined ? { verdict } : {}),
  };
  const failures: string[] = [];
  const fixes: string[] = [];
  /** Coded findings among the failures, in order; the result carries the first. */
  const codes: ErrorCode[] = [];
  if (verdict === undefined) {
    failures.push("the report has no verdict (it was written before replays checked their own fidelity)");
    fixes.push(`Replay again with this version: ${rerun}`);
  } else if (verdict === "inconclusive") {
    failures.push(verdictReason ?? "the replay was inconclusive: blue did not reproduce the chain");
    fixes.push("An inconclusive replay proves nothing: read fidelity.mismatches in the report, check the fork source (an archive node) and replay again in faithful mode.");
  }
  if (r.mode !== "faithful") {
    codes.push("BG_REPLAY_NOT_FAITHFUL");
    failures.push(`[BG_REPLAY_NOT_FAITHFUL] the replay ran in ${r.mode} mode; the gate accepts only faithful mode`);
    fixes.push(`Fast mode does not prove blue reproduced the chain. Replay in faithful mode: \`npx hardhat bg:replay --network <net> --release ${record.id} --mode faithful\`.`);
  }
  if (divergences > config.max) {
    failures.push(`${divergences} unexpected divergence(s), max ${config.max}`);
    fixes.push(`Read the divergences in ${rel.replace(/\.json$/, ".md")} or ${rel}; fix green, or declare the intended ones as expected differences and replay again.`);
  }
  if (r.txs < config.minTxs) {
    failures.push(`${r.txs} transaction(s) replayed, min ${config.minTxs}`);
    fixes.push("Replay a wider block range (or more traffic) so that enough transactions are covered.");
  }
  const fullFidelity = r.fidelity.total > 0 && r.fidelity.matched === r.fidelity.total;
  const fidelity = r.fidelity.total === 0 ? 0 : r.fidelity.matched / r.fidelity.total;
  if (!fullFidelity || fidelity < config.minFidelity) {
    failures.push(
      r.fidelity.total === 0
        ? "fidelity 0/0: nothing of blue was checked against the chain"
        : `fidelity ${r.fidelity.matched}/${r.fidelity.total}, full fidelity required`,
    );
    fixes.push("Blue's replay did not match the real receipts: check the fork source and block context, then replay again.");
  }
  if (config.maxAgeBlocks !== undefined) {
    if (paths.head === undefined) {
      return gateResult(name, "inconclusive", config.required, `maxAgeBlocks is set but the release chain's head could not be read`, {
        fix: "Run bg:gates with --network set to the release's network.",
        evidence,
        files,
      });
    }
    const head = await paths.head();
    if (head - r.toBlock > config.maxAgeBlocks) {
      codes.push("BG_REPLAY_STALE");
      failures.push(`[BG_REPLAY_STALE] the replayed range ends at block ${r.toBlock}, ${head - r.toBlock} blocks before the head ${head} (maxAgeBlocks ${config.maxAgeBlocks})`);
      fixes.push(`Replay recent traffic, ending within ${config.maxAgeBlocks} blocks of the head: ${rerun}`);
    }
  }
  const notes =
    step.txs !== r.txs || step.divergences !== divergences
      ? [`the record says ${step.txs} txs and ${step.divergences} divergence(s); the report says ${r.txs} and ${divergences}: the gate goes by the report`]
      : [];
  const summary =
    `${r.txs} txs in blocks ${r.fromBlock}-${r.toBlock} (${r.mode}): ${divergences} unexpected divergence(s), ` +
    `${expectedCount} expected, ${propagatedCount} propagated, fidelity ${r.fidelity.matched}/${r.fidelity.total}`;
  if (failures.length === 0) return gateResult(name, "pass", config.required, summary, { evidence, files, notes });
  return gateResult(name, "fail", config.required, `${failures.join("; ")} (${summary})`, {
    fix: fixes.join(" "),
    ...(codes[0] !== undefined ? { code: codes[0] } : {}),
    evidence,
    files,
    notes,
  });
}

/** The facts the gate takes from a replay-report@2, whatever else it holds. */
const reportFactsSchema = z.object({
  mode: z.enum(["faithful", "fast"]),
  fromBlock: z.number().int(),
  toBlock: z.number().int(),
  txs: z.number().int().nonnegative(),
  divergences: z.array(z.unknown()),
  expected: z.array(z.unknown()),
  propagated: z.array(z.unknown()),
  fidelity: z.object({ matched: z.number().int().nonnegative(), total: z.number().int().nonnegative() }),
  counts: z.object({ divergences: z.number().int().nonnegative(), expected: z.number().int().nonnegative(), propagated: z.number().int().nonnegative() }).optional(),
});

/** What the gate reads from the (hash-checked) report itself: which green, and the verdict. */
function readReport(bytes: Buffer): { doc?: unknown; codehash?: string; verdict?: string; verdictReason?: string; partial?: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    return {};
  }
  const d = doc as { greenCodehash?: unknown; green?: { codehash?: unknown }; verdict?: unknown; verdictReason?: unknown; schema?: unknown; shard?: { index?: unknown; count?: unknown } } | null;
  // A shard's slice, however it came to be recorded, is not the replay of the range.
  const partial = d?.schema === PARTIAL_REPORT_SCHEMA || (d?.shard !== undefined && d.shard !== null) ? `shard ${String(d?.shard?.index)}/${String(d?.shard?.count)}` : undefined;
  const value = typeof d?.greenCodehash === "string" ? d.greenCodehash : typeof d?.green?.codehash === "string" ? d.green.codehash : undefined;
  return {
    doc,
    ...(value !== undefined ? { codehash: value.toLowerCase() } : {}),
    ...(typeof d?.verdict === "string" ? { verdict: d.verdict } : {}),
    ...(typeof d?.verdictReason === "string" ? { verdictReason: d.verdictReason } : {}),
    ...(partial !== undefined ? { partial } : {}),
  };
}
