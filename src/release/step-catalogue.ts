/**
 * Every step a release record may carry, with the schema of the module that
 * owns it. The store checks a record's steps with these before it changes
 * the record, so that no command rewrites a file with a part it could not
 * read, and the listing names the one step that is damaged.
 *
 * A step not listed here (a team's own, a test's) is kept as it is.
 */
import type { ZodType } from "zod";

import { BlueGreenError } from "../errors.js";
import type { ReleaseRecord, ReleaseState } from "./record.js";
import {
  approvalStepSchema,
  finalizeStepSchema,
  proposalStepSchema,
  rollbackStepSchema,
  switchStepSchema,
  timelockStepSchema,
} from "./steps.js";

export interface KnownStep {
  schema: ZodType<unknown>;
  /**
   * The command that records this step afresh once it is dropped, in the
   * states where it does; absent for steps that record what happened on
   * chain (a proposal, a switch), which only git can give back.
   */
  recordedBy?: { command: string; states?: readonly ReleaseState[] };
}

/**
 * The steps known in this process. The release layer's own are here; each
 * module above that owns a step registers it (the layers only import
 * downwards), and src/gates/record-steps.ts loads them all.
 */
const KNOWN_STEPS = new Map<string, KnownStep>([
  ["proposal", { schema: proposalStepSchema }],
  ["approval", { schema: approvalStepSchema }],
  ["switch", { schema: switchStepSchema }],
  ["rollback", { schema: rollbackStepSchema }],
  ["finalize", { schema: finalizeStepSchema }],
  ["timelock", { schema: timelockStepSchema }],
]);

/** Adds (or replaces) the schema of a step, called by the module that owns it. */
export function registerRecordStep(name: string, step: KnownStep): void {
  KNOWN_STEPS.set(name, step);
}

/** The names of the steps known in this process, sorted. */
export function knownStepNames(): string[] {
  return [...KNOWN_STEPS.keys()].sort();
}

/** A step of a record that does not parse: which one, the field and what is wrong with it. */
export interface UnreadableStep {
  step: string;
  /** e.g. `steps.gates.evidenceHash` */
  field: string;
  problem: string;
}

/** The first known step of `record` that does not parse; undefined when they all do. */
export function findUnreadableStep(record: ReleaseRecord): UnreadableStep | undefined {
  for (const name of Object.keys(record.steps).sort()) {
    const known = KNOWN_STEPS.get(name);
    if (known === undefined) continue;
    const parsed = known.schema.safeParse(record.steps[name]);
    if (parsed.success) continue;
    const issue = parsed.error.issues[0]!;
    return { step: name, field: ["steps", name, ...issue.path].join("."), problem: issue.message.toLowerCase() };
  }
  return undefined;
}

/**
 * The fix that works for a damaged step: restoring the file from git, or,
 * for a step a command records afresh, dropping that one entry by hand.
 * Never "run the command again" alone: the command reads the file first and
 * refuses the same way.
 */
export function unreadableStepFix(record: Pick<ReleaseRecord, "state">, step: string, file: string): string {
  const restore = `Restore it from git (git checkout -- ${file})`;
  const by = KNOWN_STEPS.get(step)?.recordedBy;
  if (by !== undefined && (by.states === undefined || by.states.includes(record.state))) {
    return `${restore}, or delete the "${step}" entry under "steps" in that file and run ${by.command} again to record it afresh.`;
  }
  if (by !== undefined) {
    return `${restore}: the release is ${record.state}, so ${by.command} no longer records steps.${step} (it is the evidence the release went forward on).`;
  }
  return `${restore}: steps.${step} records what happened on chain, so no command can recompute it.`;
}

/** The error for a record whose step `bad` does not parse, naming the file, the field and the fix. */
export function unreadableStepError(record: ReleaseRecord, bad: UnreadableStep, file: string): BlueGreenError {
  return new BlueGreenError(
    "BG_RECORD_STEP_INVALID",
    `${file} (release "${record.id}", chain ${record.chainId}) has an unreadable ${bad.field}: ${bad.problem}. ` +
      `It was left untouched, and no command writes this record until it is fixed. ${unreadableStepFix(record, bad.step, file)}`,
  );
}
