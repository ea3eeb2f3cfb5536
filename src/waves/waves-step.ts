/**
 * `record.steps.waves`: a release that targets a fleet of proxies, split
 * into waves promoted one after another (canary, then 25%, then 100%).
 * Written when the waves are planned, and each time a wave is promoted; an
 * approver's override of the bake rule is kept here for good.
 */
import { z } from "zod";

import { addressSchema as address, bytes32Schema as bytes32, isoTimeSchema as isoTime } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import { parseRecordStep } from "../release/steps.js";

export const plannedWaveSchema = z
  .object({
    name: z.string().min(1),
    proxies: z.array(address).min(1),
    /** Seconds the wave must run healthy before the next wave may be promoted. */
    bakeSeconds: z.number().nonnegative(),
  })
  .strict();

export const waveOverrideSchema = z
  .object({
    /** Who overrode (the approver, or the account acting for it). */
    by: z.string().min(1),
    reason: z.string().min(1),
    at: isoTime,
    /** What the override bypassed, as the decision stated it. */
    refusals: z.array(z.string()).min(1),
    /**
     * The kinds of refusal it bypassed ("baking", "analysis-behind"...): a
     * wave proposed on an override is re-checked before signing and
     * switching, and refused if a new kind of refusal appeared since.
     */
    kinds: z.array(z.string()).optional(),
  })
  .strict();

export const wavePromotionSchema = z
  .object({
    wave: z.string().min(1),
    proxies: z.array(address).min(1),
    txHash: bytes32.optional(),
    blockNumber: z.number().int().nonnegative().optional(),
    by: z.string().min(1),
    at: isoTime,
    override: waveOverrideSchema.optional(),
  })
  .strict();

/**
 * A wave's promote proposal (`bg:propose --wave`), kept until the wave is
 * live: its files sit in their own folder beside the record, so signatures
 * of one wave never mix with another's.
 */
export const waveProposalSchema = z
  .object({
    /** The proxies its promoteBatch moves (the wave's proxies not yet on green). */
    proxies: z.array(address).min(1),
    /** Its folder, relative to the release's folder (`wave-<name>`). */
    folder: z.string().min(1),
    approver: z.object({ kind: z.enum(["safe", "account"]), address }).strict(),
    safeTxHash: bytes32.optional(),
    nonce: z.string().optional(),
    evidenceHash: bytes32,
    blockNumber: z.number().int().nonnegative(),
    by: z.string().min(1),
    at: isoTime,
    /** The approver's override of the bake and health rules, carried by the proposal. */
    override: waveOverrideSchema.optional(),
    /** Signatures collected so far (Safe approvers). */
    approval: z
      .object({
        signers: z.array(address),
        threshold: z.number().int().positive(),
        missing: z.number().int().nonnegative(),
        at: isoTime,
      })
      .strict()
      .optional(),
  })
  .strict();

export const wavesStepSchema = z
  .object({
    /** Every proxy of the release, in promotion order. */
    fleet: z.array(address).min(1),
    waves: z.array(plannedWaveSchema).min(1),
    plannedAt: isoTime,
    promotions: z.array(wavePromotionSchema),
    /** Promote proposals by wave name (bg:propose --wave). */
    proposals: z.record(waveProposalSchema).optional(),
  })
  .strict();

export type WavesStep = z.infer<typeof wavesStepSchema>;
export type PlannedWave = z.infer<typeof plannedWaveSchema>;
export type WavePromotion = z.infer<typeof wavePromotionSchema>;
export type WaveOverride = z.infer<typeof waveOverrideSchema>;
export type WaveProposal = z.infer<typeof waveProposalSchema>;

/** The release's wave plan; undefined for a single-proxy release. */
export function readWavesStep(record: ReleaseRecord): WavesStep | undefined {
  return parseRecordStep(record, "waves", wavesStepSchema);
}

export function withWavesStep(record: ReleaseRecord, step: WavesStep): ReleaseRecord {
  return { ...record, steps: { ...record.steps, waves: wavesStepSchema.parse(step) as Record<string, unknown> } };
}

/**
 * The planned wave of that name, or BG_WAVES_UNKNOWN_WAVE listing the plan's
 * waves: the one check of a `--wave` name, for every command that takes it
 * (bg:waves, bg:propose, bg:approve, bg:switch).
 */
export function requirePlannedWave(releaseId: string, plan: WavesStep, wave: string): PlannedWave {
  const found = plan.waves.find((w) => w.name === wave);
  if (found !== undefined) return found;
  const names = plan.waves.map((w) => w.name);
  const close = names.find((n) => n.toLowerCase() === wave.toLowerCase() || editDistance(n.toLowerCase(), wave.toLowerCase()) <= 2);
  throw new BlueGreenError(
    "BG_WAVES_UNKNOWN_WAVE",
    `Release "${releaseId}" has no wave "${wave}"${close !== undefined ? ` (did you mean "${close}"?)` : ""}. Its waves, in order: ${names.join(", ")}.`,
    { hint: `Pass one of them: --wave ${close ?? names[0]}` },
  );
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * Records that a wave was promoted (called by `bg:switch --wave` after the
 * promote transaction), with the override if the approver used one. Safe to
 * call again for the same wave and transaction.
 */
export async function recordWavePromotion(store: ReleaseStore, chainId: number, releaseId: string, promotion: WavePromotion): Promise<ReleaseRecord> {
  const parsed = wavePromotionSchema.parse(promotion);
  const updated = await store.update(chainId, releaseId, (current) => {
    if (current === undefined) throw new BlueGreenError("BG_RECORD_NOT_FOUND", `Release "${releaseId}" disappeared from the store.`);
    const step = readWavesStep(current);
    if (step === undefined) {
      throw new BlueGreenError("BG_WAVES_NO_PLAN", `Release "${releaseId}" has no wave plan. Plan its waves first: npx hardhat bg:waves --release ${releaseId} --proxies <a,b,...>`);
    }
    requirePlannedWave(releaseId, step, parsed.wave);
    const same = step.promotions.find((p) => p.wave === parsed.wave && p.txHash === parsed.txHash);
    if (same !== undefined) return undefined;
    return withWavesStep(current, { ...step, promotions: [...step.promotions, parsed] });
  });
  return updated!;
}
