/**
 * Whether a release may be proposed, and whether the evidence it was
 * proposed on still stands. The gates decide: every required gate must have
 * passed, on the evidence files as they are now. Their evidence hash is what
 * `promote()` records on chain.
 */
import { BlueGreenError } from "../errors.js";
import type { GatesConfig } from "../gates/config.js";
import { assertRequiredGatesPass, checkEvidenceDrift, readGatesStep } from "../gates/gates-step.js";
import type { ReleaseRecord } from "../release/record.js";

/**
 * Throws, saying why, unless the release passed its stage checks and every
 * required gate; returns the evidence hash to promote with.
 */
export async function assertReadyToPropose(
  record: ReleaseRecord,
  options: { projectRoot: string; config?: GatesConfig },
): Promise<{ evidenceHash: string }> {
  if (!record.upgradeSafety.ok) {
    throw new BlueGreenError(
      "BG_APPROVAL_NOT_READY",
      `Release "${record.id}" failed OpenZeppelin's upgrade-safety checks at stage. Fix green and stage it again.`,
    );
  }
  return assertRequiredGatesPass(record, options);
}

/** The evidence hash the release's gates recorded: what its promote carries on chain. */
export function recordedEvidenceHash(record: ReleaseRecord): string {
  const step = readGatesStep(record);
  if (step === undefined) {
    throw new BlueGreenError("BG_APPROVAL_NOT_READY", `Release "${record.id}" has no evidence hash. Run bg:gates, then bg:propose again.`);
  }
  return step.evidenceHash;
}

/**
 * Refuses to sign or execute when the release's evidence is no longer the
 * evidence it was proposed on (gates re-run with other results, evidence
 * files changed on disk).
 */
export async function assertEvidenceUnchanged(record: ReleaseRecord, proposedHash: string | undefined, projectRoot: string): Promise<void> {
  const step = readGatesStep(record);
  if (proposedHash === undefined || step === undefined) {
    throw new BlueGreenError("BG_APPROVAL_NOT_READY", `Release "${record.id}" has no evidence hash to check. Run bg:gates, then bg:propose again.`);
  }
  if (step.evidenceHash.toLowerCase() !== proposedHash.toLowerCase()) {
    throw new BlueGreenError(
      "BG_APPROVAL_EVIDENCE_CHANGED",
      `The gates of release "${record.id}" were re-run since the proposal: the evidence hash is now ${step.evidenceHash}, ` +
        `the proposal carries ${proposedHash}. Propose again (bg:propose --release ${record.id}) so that signers approve the current evidence.`,
    );
  }
  const drift = await checkEvidenceDrift(record, projectRoot);
  if (!drift.ok) {
    throw new BlueGreenError(
      "BG_APPROVAL_EVIDENCE_CHANGED",
      `The evidence of release "${record.id}" changed since it was proposed: ${drift.problems.join("; ")}. ` +
        `Restore it, or run bg:gates and bg:propose again.`,
    );
  }
}
