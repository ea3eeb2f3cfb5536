/**
 * The gates step of a release record: `record.steps.gates`.
 *
 * It holds every gate's result, the evidence files with their sha256, and
 * the evidence hash that `promote()` will put on chain. Once a release is
 * approved or live, that evidence is frozen: later runs of `bg:gates` are
 * kept apart in `steps.gatesRecheck`, so the record can always show what the
 * switch was approved on.
 *
 * Other steps use `requiredGatesPass` (the proposal) and
 * `checkEvidenceDrift` (status) from here.
 */
import path from "node:path";

import { BlueGreenError, type ErrorCode } from "../errors.js";
import { canTransition, transition, type ReleaseRecord, type ReleaseState } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import { parseRecordStep } from "../release/steps.js";
import { unreadableStepFix } from "../release/step-catalogue.js";
import type { GatesConfig } from "./config.js";
import { BUILTIN_GATE_NAMES } from "./user-config.js";
import { allRequiredPass } from "./evaluate-gates.js";
import { collectEvidenceFiles, evidenceBytes, evidenceDocument, evidenceHash, sha256File } from "./evidence-hash.js";
import { type GateResult } from "./gate-result.js";
import { gatesStepSchema, type GatesStep } from "./gates-step-schema.js";
// Every step's schema in the store's catalogue, for whoever reads or writes gates evidence.

export const GATES_STEP = "gates";
export const GATES_RECHECK_STEP = "gatesRecheck";
/** The exact bytes whose keccak256 is the evidence hash, beside release.json. */
export const EVIDENCE_FILE = "gates-evidence.json";

/** States in which a release is still being prepared, so its gate evidence may still change. */
const PREPARING: readonly ReleaseState[] = ["staged", "replayed", "gated", "proposed"];

export { gatesStepSchema, type GatesStep };

/**
 * Reads and validates `record.steps.gates` (or the recheck); undefined when
 * bg:gates never ran. A damaged step is BG_GATES_EVIDENCE_UNREADABLE, naming
 * `file` (default: the record's usual place under .bluegreen), the field, and
 * a fix that works: bg:gates reads the step first, so it never rewrites it.
 */
export function readGatesStep(
  record: ReleaseRecord,
  which: typeof GATES_STEP | typeof GATES_RECHECK_STEP = GATES_STEP,
  file: string = path.join(".bluegreen", String(record.chainId), record.id, "release.json"),
): GatesStep | undefined {
  return parseRecordStep(
    record,
    which,
    gatesStepSchema,
    (field, problem) =>
      new BlueGreenError(
        "BG_GATES_EVIDENCE_UNREADABLE",
        `The gates evidence of release "${record.id}" is unreadable: ${field} ${problem} (in ${file}). ` +
          `bg:gates will not overwrite a step it cannot read. ${unreadableStepFix(record, which, file)}`,
      ),
  );
}

/** True when at least one gate was evaluated (not merely listed as "not configured"). */
export function anyGateConfigured(results: readonly Pick<GateResult, "status">[]): boolean {
  return results.some((r) => r.status !== "not-configured");
}

/** True when the config sets at least one gate. */
export function configHasGates(config: GatesConfig): boolean {
  return BUILTIN_GATE_NAMES.some((name) => config[name] !== undefined) || config.custom.length > 0;
}

/** The reason a release with no gate may not go to signers, with the way out. */
export function noGatesReason(releaseId: string): string {
  return (
    `[BG_GATES_NONE] no gate is configured for release "${releaseId}", so nothing was checked. ` +
    "Configure the gates the release policy needs under blueGreen.gates in hardhat.config.ts (see docs/gates.md), " +
    'or waive them explicitly with blueGreen.gates.waive = { reason: "…" } (the reason is recorded, hashed and shown to signers)'
  );
}

/**
 * Builds the step for a run's results. With no gate configured the run
 * fails closed unless the config waives gates; the waiver is recorded and
 * hashed with the evidence.
 */
export function gatesStep(record: ReleaseRecord, results: GateResult[], at: Date, waiver?: { reason: string }): GatesStep {
  const files = collectEvidenceFiles(results);
  const configured = anyGateConfigured(results);
  // A waiver only stands in for missing gates; with gates configured it is not evidence.
  const recordedWaiver = configured ? undefined : waiver;
  const doc = evidenceDocument(record, results, files, recordedWaiver);
  return {
    version: 1,
    ok: allRequiredPass(results) && (configured || recordedWaiver !== undefined),
    evidenceHash: evidenceHash(doc),
    greenCodehash: record.green.codehash.toLowerCase(),
    results,
    evidenceFiles: files,
    ...(recordedWaiver !== undefined ? { waiver: { reason: recordedWaiver.reason } } : {}),
    at: at.toISOString(),
  };
}

export interface RecordedGates {
  record: ReleaseRecord;
  step: GatesStep;
  /** Where the run was kept: the release's evidence, or a recheck of a release past approval. */
  storedAs: typeof GATES_STEP | typeof GATES_RECHECK_STEP;
  /** The state before and after. */
  from: ReleaseState;
  to: ReleaseState;
  /** Why the state did or did not change, for people. */
  stateNote: string;
  /** Path of the evidence document, when one was written. */
  evidenceFile?: string;
  /** The evidence hash recorded before this run, if any. */
  previousEvidenceHash?: string;
}

/**
 * Records a run of the gates in the release record, under the store's lock,
 * and moves the release to "gated" when every required gate passed and its
 * state allows it.
 */
export async function recordGatesRun(
  store: ReleaseStore,
  evaluated: ReleaseRecord,
  results: GateResult[],
  options: { actor: string; at?: Date; waiver?: { reason: string } },
): Promise<RecordedGates> {
  const at = options.at ?? new Date();
  const step = gatesStep(evaluated, results, at, options.waiver);
  let outcome: Omit<RecordedGates, "record" | "evidenceFile"> | undefined;
  const updated = await store.update(evaluated.chainId, evaluated.id, (current) => {
    if (current === undefined) {
      throw new BlueGreenError("BG_GATES_RELEASE_GONE", `Release "${evaluated.id}" disappeared from the store while its gates ran. Stage it again.`);
    }
    if (current.green.codehash.toLowerCase() !== step.greenCodehash) {
      throw new BlueGreenError(
        "BG_GATES_RESTAGED_DURING_RUN",
        `Release "${current.id}" was restaged while its gates ran (green is now ${current.green.codehash}). Run bg:gates again.`,
      );
    }
    // The store has checked every step: a damaged one was refused before this runs, never overwritten.
    const previous = readGatesStep(current, GATES_STEP, store.recordPath(current.chainId, current.id));
    const from = current.state;
    if (!PREPARING.includes(from)) {
      outcome = {
        step,
        storedAs: GATES_RECHECK_STEP,
        from,
        to: from,
        stateNote: `release is ${from}: the evidence it was approved on stays in steps.gates; this run was recorded as steps.${GATES_RECHECK_STEP}`,
        ...(previous !== undefined ? { previousEvidenceHash: previous.evidenceHash } : {}),
      };
      return { ...current, steps: { ...current.steps, [GATES_RECHECK_STEP]: step as unknown as Record<string, unknown> }, updatedAt: at.toISOString() };
    }
    let next: ReleaseRecord = { ...current, steps: { ...current.steps, [GATES_STEP]: step as unknown as Record<string, unknown> }, updatedAt: at.toISOString() };
    const changed = previous?.evidenceHash !== step.evidenceHash;
    let stateNote: string;
    if (!step.ok && !anyGateConfigured(step.results)) {
      stateNote = `release stays ${from}: ${noGatesReason(current.id)}`;
    } else if (!step.ok) {
      stateNote =
        from === "gated" || from === "proposed"
          ? `release stays ${from}, but its latest gates run failed: bg:propose will refuse it until the required gates pass`
          : `release stays ${from}: a required gate did not pass`;
    } else if (from === "gated" && !changed) {
      stateNote = "release stays gated: the evidence is unchanged";
    } else if (from === "proposed" && !changed) {
      stateNote = "release stays proposed: the evidence is unchanged, so the proposal still holds";
    } else if (canTransition(from, "gated")) {
      next = transition(next, "gated", { actor: options.actor, at, note: `evidence ${step.evidenceHash}` });
      stateNote =
        from === "proposed"
          ? "release is gated again: the evidence changed, so the earlier proposal no longer matches; propose again"
          : `release is now gated (was ${from})`;
    } else {
      stateNote = `release stays ${from}: it cannot become gated from there`;
    }
    outcome = {
      step,
      storedAs: GATES_STEP,
      from,
      to: next.state,
      stateNote,
      ...(previous !== undefined ? { previousEvidenceHash: previous.evidenceHash } : {}),
    };
    return next;
  });
  if (updated === undefined || outcome === undefined) throw new Error("recordGatesRun: the store returned no record");
  let evidenceFile: string | undefined;
  if (outcome.storedAs === GATES_STEP) {
    const doc = evidenceDocument(updated, step.results, step.evidenceFiles, step.waiver);
    evidenceFile = await store.writeReleaseFile(updated.chainId, updated.id, EVIDENCE_FILE, evidenceBytes(doc));
  }
  return { ...outcome, record: updated, ...(evidenceFile !== undefined ? { evidenceFile } : {}) };
}

// ---------------------------------------------------------------------------
// Drift

export interface EvidenceFileDrift {
  path: string;
  recorded: string;
  /** null when the file is gone. */
  current: string | null;
  status: "unchanged" | "changed" | "missing";
}

export interface EvidenceDrift {
  /** False when bg:gates has not run for this release: nothing to compare. */
  checked: boolean;
  /** True when nothing drifted. */
  ok: boolean;
  evidenceHash?: string;
  /** The hash the evidence would have now. */
  currentHash?: string;
  /** Green was restaged since the gates ran. */
  greenChanged: boolean;
  files: EvidenceFileDrift[];
  /** One sentence per problem, for people. */
  problems: string[];
  /**
   * The problems with the evidence itself (files, hash): `problems` without
   * green's restaging, which the gates verdict already reports.
   */
  evidenceProblems: string[];
}

/**
 * Compares the evidence recorded by bg:gates with the files as they are now
 * (and with the record's green). Any change means the recorded evidence
 * hash no longer describes the repository.
 */
export async function checkEvidenceDrift(record: ReleaseRecord, projectRoot: string): Promise<EvidenceDrift> {
  const step = readGatesStep(record);
  if (step === undefined) return { checked: false, ok: true, greenChanged: false, files: [], problems: [], evidenceProblems: [] };
  const files: EvidenceFileDrift[] = [];
  for (const f of step.evidenceFiles) {
    const current = (await sha256File(path.resolve(projectRoot, f.path))) ?? null;
    files.push({ path: f.path, recorded: f.sha256, current, status: current === null ? "missing" : current === f.sha256 ? "unchanged" : "changed" });
  }
  const currentFiles = files.filter((f) => f.current !== null).map((f) => ({ path: f.path, sha256: f.current! }));
  const currentHash = evidenceHash(evidenceDocument(record, step.results, currentFiles, step.waiver));
  const greenChanged = record.green.codehash.toLowerCase() !== step.greenCodehash.toLowerCase();
  const evidenceProblems: string[] = [];
  for (const f of files) {
    if (f.status === "changed") evidenceProblems.push(`evidence file ${f.path} changed since bg:gates ran`);
    if (f.status === "missing") evidenceProblems.push(`evidence file ${f.path} is missing`);
  }
  if (!greenChanged && evidenceProblems.length === 0 && currentHash !== step.evidenceHash) {
    evidenceProblems.push(`the recorded results no longer hash to the recorded evidence hash (steps.gates was edited by hand?)`);
  }
  const problems = greenChanged
    ? [`green was restaged since bg:gates ran (gated ${step.greenCodehash}, now ${record.green.codehash})`, ...evidenceProblems]
    : evidenceProblems;
  return { checked: true, ok: problems.length === 0, evidenceHash: step.evidenceHash, currentHash, greenChanged, files, problems, evidenceProblems };
}

// ---------------------------------------------------------------------------
// The proposal's precondition

export interface RequiredGatesVerdict {
  ok: boolean;
  evidenceHash?: string;
  /** Required gates that did not pass in the recorded run. */
  failing: GateResult[];
  /** Every reason the release may not be proposed, for people. */
  reasons: string[];
  /** What blocks it, when something does: the gates never ran, no gate is configured, or they did not pass. */
  code?: ErrorCode;
}

/**
 * Whether the recorded gates allow a proposal for this record: bg:gates ran
 * for this green, every required gate passed, and (given the current config)
 * no gate became required since. Reads the record only; see
 * `assertRequiredGatesPass` to include evidence drift.
 */
export function requiredGatesPass(record: ReleaseRecord, options: { config?: GatesConfig } = {}): RequiredGatesVerdict {
  const step = readGatesStep(record);
  const rerun = `Run \`npx hardhat bg:gates --network <net> --release ${record.id}\`.`;
  if (step === undefined) {
    return { ok: false, failing: [], reasons: [`bg:gates has not run for release "${record.id}". ${rerun}`], code: "BG_GATES_NOT_RUN" };
  }
  const reasons: string[] = [];
  if (step.greenCodehash.toLowerCase() !== record.green.codehash.toLowerCase()) {
    reasons.push(`the gates ran for green ${step.greenCodehash}, but the release's green is now ${record.green.codehash}. ${rerun}`);
  }
  const failing = step.results.filter((r) => r.required && r.status !== "pass");
  for (const r of failing) reasons.push(`required gate ${r.name} is ${r.status}: ${r.detail}`);
  // Fail closed: no evidence at all never reaches signers unless someone waived it on purpose.
  const noGatesNow = options.config !== undefined && !configHasGates(options.config) && options.config.waive === undefined;
  const noGates = noGatesNow || (!anyGateConfigured(step.results) && step.waiver === undefined);
  if (noGates) reasons.push(noGatesReason(record.id));
  if (options.config !== undefined) {
    for (const name of requiredGateNames(options.config)) {
      const recorded = step.results.find((r) => r.name === name);
      if (recorded === undefined || !recorded.required) {
        reasons.push(`gate ${name} is required by the current config but was not required when bg:gates ran. ${rerun}`);
      }
    }
  }
  const code: ErrorCode | undefined = noGates ? "BG_GATES_NONE" : reasons.length > 0 ? "BG_GATES_NOT_PASSED" : undefined;
  return { ok: reasons.length === 0, evidenceHash: step.evidenceHash, failing, reasons, ...(code !== undefined ? { code } : {}) };
}

/**
 * Throws a BlueGreenError listing every reason the release may not be
 * proposed (failing gates, config changes, drifted evidence); returns the
 * evidence hash to promote with otherwise.
 */
export async function assertRequiredGatesPass(
  record: ReleaseRecord,
  options: { projectRoot: string; config?: GatesConfig },
): Promise<{ evidenceHash: string }> {
  const verdict = requiredGatesPass(record, options.config !== undefined ? { config: options.config } : {});
  const drift = await checkEvidenceDrift(record, options.projectRoot);
  const reasons = [...verdict.reasons, ...drift.evidenceProblems];
  if (!verdict.ok || !drift.ok || verdict.evidenceHash === undefined) {
    throw new BlueGreenError(
      verdict.code ?? "BG_GATES_NOT_PASSED",
      `Release "${record.id}" cannot be proposed: ${reasons.join("; ")}. ` +
        `Fix that, then run \`npx hardhat bg:gates --network <net> --release ${record.id}\` again.`,
    );
  }
  return { evidenceHash: verdict.evidenceHash };
}

/** Names of the gates the config requires. */
export function requiredGateNames(config: GatesConfig): string[] {
  const names: string[] = [];
  for (const name of BUILTIN_GATE_NAMES) {
    if (config[name]?.required === true) names.push(name);
  }
  for (const g of config.custom) if (g.required) names.push(g.name);
  return names;
}
