/**
 * The coverage gate: line coverage from an lcov file, the format
 * `npx hardhat test --coverage` writes, summed over every source file
 * (LF = lines found, LH = lines hit).
 */
import { readFile } from "node:fs/promises";

import type { CoverageGateConfig } from "./config.js";
import { evidencePath, sha256Hex } from "./evidence-hash.js";
import { gateResult, type GateResult } from "./gate-result.js";

export interface LcovSummary {
  files: number;
  linesFound: number;
  linesHit: number;
  /** Percent, 0..100 (0 when no lines are found). */
  percent: number;
}

/** A malformed lcov file, with the 1-based line where reading stopped. */
export class LcovError extends Error {
  constructor(
    public readonly line: number,
    /** What is wrong on that line, without the line number. */
    public readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const RECORD_LINE = /^([A-Z][A-Z_]*):(.*)$/;
const COUNT = /^\d+$/;

/**
 * Parses lcov text into a summary. Each `SF:` record must end with
 * `end_of_record` and carry LF and LH, or DA lines to count from. Throws an
 * `LcovError` naming the first line that does not fit.
 */
export function parseLcov(text: string): LcovSummary {
  const lines = text.split(/\r?\n/);
  let files = 0;
  let found = 0;
  let hit = 0;
  let current: { start: number; lf?: number; lh?: number; da: Map<string, boolean> } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i]!.trim();
    if (line === "") continue;
    if (line === "end_of_record") {
      if (current === undefined) throw new LcovError(n, "end_of_record without a preceding SF: line");
      const lf = current.lf ?? current.da.size;
      const lh = current.lh ?? [...current.da.values()].filter(Boolean).length;
      if (lh > lf) throw new LcovError(n, `the record that starts on line ${current.start} has LH ${lh} greater than LF ${lf}`);
      files++;
      found += lf;
      hit += lh;
      current = undefined;
      continue;
    }
    const m = RECORD_LINE.exec(line);
    if (m === null) throw new LcovError(n, `"${clip(line)}" is not an lcov line (KEY:value or end_of_record)`);
    const [, key, value] = m as unknown as [string, string, string];
    if (key === "TN" || key === "VER") continue;
    if (key === "SF") {
      if (current !== undefined) throw new LcovError(n, `SF: before the end_of_record of the record that starts on line ${current.start}`);
      if (value.trim() === "") throw new LcovError(n, "SF: without a file name");
      current = { start: n, da: new Map() };
      continue;
    }
    if (current === undefined) throw new LcovError(n, `${key}: outside a record (no SF: line before it)`);
    if (key === "LF" || key === "LH") {
      if (!COUNT.test(value.trim())) throw new LcovError(n, `${key}: must be a whole number, got "${clip(value)}"`);
      current[key === "LF" ? "lf" : "lh"] = Number(value.trim());
    } else if (key === "DA") {
      const parts = value.split(",");
      if (parts.length < 2 || !COUNT.test(parts[0]!.trim()) || !/^-?\d+$/.test(parts[1]!.trim())) {
        throw new LcovError(n, `DA: must be "<line>,<hits>", got "${clip(value)}"`);
      }
      const lineNo = parts[0]!.trim();
      current.da.set(lineNo, (current.da.get(lineNo) ?? false) || Number(parts[1]) > 0);
    }
    // Function and branch records (FN, FNDA, FNF, FNH, BRDA, BRF, BRH, ...) do not count toward lines.
  }
  if (current !== undefined) throw new LcovError(current.start, "this record has no end_of_record (the file is cut short)");
  if (files === 0) throw new LcovError(1, "no SF: records: this file covers no source file");
  return { files, linesFound: found, linesHit: hit, percent: found === 0 ? 0 : (hit / found) * 100 };
}

/** Evaluates the coverage gate. */
export async function evaluateCoverageGate(config: CoverageGateConfig, projectRoot: string): Promise<GateResult> {
  const name = "coverage";
  const rel = evidencePath(projectRoot, config.lcov);
  const rerun = "Run `npx hardhat test --coverage` to write it, or point blueGreen.gates.coverage.lcov at your lcov file.";
  let bytes: Buffer;
  try {
    bytes = await readFile(config.lcov);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return gateResult(name, "fail", config.required, code === "ENOENT" ? `${rel} does not exist` : `${rel} cannot be read (${code ?? (e as Error).message})`, {
      fix: rerun,
      evidence: { lcov: rel, min: config.min },
    });
  }
  const sha256 = sha256Hex(bytes);
  let summary: LcovSummary;
  try {
    summary = parseLcov(bytes.toString("utf8"));
  } catch (e) {
    if (!(e instanceof LcovError)) throw e;
    return gateResult(name, "fail", config.required, `${rel}:${e.line} is malformed: ${e.reason}`, {
      fix: `Regenerate it: ${rerun}`,
      evidence: { lcov: rel, sha256, min: config.min },
      files: [{ path: rel, sha256 }],
    });
  }
  const pct = round2(summary.percent);
  const evidence = { lcov: rel, sha256, min: config.min, files: summary.files, linesFound: summary.linesFound, linesHit: summary.linesHit, percent: pct };
  const files = [{ path: rel, sha256 }];
  const detail = `${pct}% of ${summary.linesFound} lines in ${summary.files} file(s) (min ${config.min}%) from ${rel}`;
  if (summary.linesFound === 0) {
    return gateResult(name, "fail", config.required, `${rel} counts no lines at all`, { fix: `Make sure the tests run against the contracts, then: ${rerun}`, evidence, files });
  }
  if (summary.percent + 1e-9 >= config.min) return gateResult(name, "pass", config.required, detail, { evidence, files });
  return gateResult(name, "fail", config.required, detail, {
    fix: `Add tests for the uncovered lines (the coverage report shows which) until line coverage reaches ${config.min}%, then rerun \`npx hardhat test --coverage\`.`,
    evidence,
    files,
  });
}

function round2(x: number): number {
  return Math.floor(x * 100) / 100;
}

function clip(s: string): string {
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}
