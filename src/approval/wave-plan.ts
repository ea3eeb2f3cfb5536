/**
 * A wave release's plan as the approval path reads it: which wave a command
 * acts on, its proposal folder, what is already live, and how a later wave
 * notes its steps in the record without changing the release's state.
 */
import path from "node:path";

import { getAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import type { HistoryEntry, ReleaseRecord } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import { type WaveOverride, type WavePromotion, type WaveProposal, type WavesStep, readWavesStep, requirePlannedWave } from "../waves/waves-step.js";
import type { ProposalFolder } from "./proposal-folder.js";

/** The folder of a wave's proposal files, relative to the release's folder. */
export function waveFolderName(wave: string): string {
  return `wave-${wave}`;
}

// Wave names come from blueGreen.waves (letters, digits, '_', '.', '-'), so they are safe folder names.
const WAVE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/**
 * The proposal folder of one wave: `wave-<name>/` inside the release's
 * folder, with the same files as a release's promote (proposal.json,
 * signatures.json, execution.json, summary.md...).
 */
export function waveProposalFolder(store: ReleaseStore, chainId: number, releaseId: string, wave: string): ProposalFolder {
  assertWaveName(wave);
  const sub = waveFolderName(wave);
  const dir = path.join(store.releaseDir(chainId, releaseId), sub);
  return {
    where: path.relative(process.cwd(), dir) || dir,
    option: `--release ${releaseId} --wave ${wave}`,
    read: (name, schema) => store.readReleaseFile(chainId, releaseId, path.join(sub, name), schema),
    write: (name, content) => store.writeReleaseFile(chainId, releaseId, path.join(sub, name), content),
    remove: (name) => store.removeReleaseFile(chainId, releaseId, path.join(sub, name)),
  };
}


/** The release's wave plan, or an error saying how to make one. */
export function requirePlan(record: ReleaseRecord): WavesStep {
  const plan = readWavesStep(record);
  if (plan === undefined) {
    throw new BlueGreenError(
      "BG_APPROVAL_NO_WAVE_PLAN",
      `Release "${record.id}" has no wave plan. Plan its fleet first: npx hardhat bg:waves --release ${record.id} --proxies <a,b,...> ` +
        `(or leave --wave out to promote its single proxy).`,
    );
  }
  return plan;
}

/** Waves with a proposal that is not recorded as live, in plan order. */
export function openWaves(plan: WavesStep): string[] {
  return plan.waves.map((w) => w.name).filter((name) => {
    const entry = plan.proposals?.[name];
    return entry !== undefined && promotionOf(plan, name, entry) === undefined;
  });
}

/** The wave whose proposal waits, for commands run without --wave. */
function pickOpenWave(record: ReleaseRecord, plan: WavesStep, verb: "sign" | "switch"): string {
  const open = openWaves(plan);
  if (open.length === 1) return open[0]!;
  const next = plan.waves.find((w) => !plan.promotions.some((p) => p.wave === w.name))?.name ?? plan.waves[0]!.name;
  if (open.length === 0) {
    throw new BlueGreenError(
      "BG_APPROVAL_WAVE_CHOICE",
      `Release "${record.id}" is rolled out in waves and no wave proposal waits to ${verb === "sign" ? "be signed" : "be switched"}. ` +
        `Propose the next wave: npx hardhat bg:propose --release ${record.id} --wave ${next}`,
    );
  }
  throw new BlueGreenError("BG_APPROVAL_WAVE_CHOICE", `Release "${record.id}" has proposals of waves ${open.join(", ")} waiting. Say which: --wave <name>.`);
}

/** The recorded promotion covering a wave proposal's proxies, if any. */
export function promotionOf(plan: WavesStep, wave: string, entry: WaveProposal): WavePromotion | undefined {
  return plan.promotions.find((p) => p.wave === wave && entry.proxies.every((x) => p.proxies.map((y) => getAddress(y)).includes(getAddress(x))));
}

/** True while no wave is recorded live: the first wave moves the record's state. */
export function leadsLifecycle(record: ReleaseRecord, step: WavesStep): boolean {
  return step.promotions.length === 0 && record.state !== "live";
}

/**
 * A history entry that records a step of a later wave without changing the
 * release's state (the lifecycle has no state for "live, and one more wave").
 */
export function noteHistory(record: ReleaseRecord, entry: { actor: string; txHash?: string; note: string; at: Date }): ReleaseRecord {
  const at = entry.at.toISOString();
  const line: HistoryEntry = { at, state: record.state, actor: entry.actor, ...(entry.txHash !== undefined ? { txHash: entry.txHash } : {}), note: entry.note };
  return { ...record, updatedAt: at, history: [...record.history, line] };
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function overrideNote(override: WaveOverride | undefined): string {
  return override === undefined ? "" : `; OVERRIDE of the bake rule by ${override.by}: ${override.reason}`;
}


export function assertWaveName(wave: string): void {
  if (!WAVE_NAME.test(wave)) {
    throw new BlueGreenError("BG_APPROVAL_WAVE_NAME", `"${wave}" is not a wave name. Wave names start with a letter and use letters, digits, '_', '.', '-' (see blueGreen.waves).`);
  }
}


/**
 * The wave's proposal as the record has it (its proxies, its evidence, the
 * override it was made with): what the wave's proposal file is checked
 * against, and what the wave rules are re-checked with.
 */
export function recordedWaveProposal(record: ReleaseRecord, wave: string): WaveProposal {
  const entry = requirePlan(record).proposals?.[wave];
  if (entry === undefined) {
    throw new BlueGreenError(
      "BG_APPROVAL_NO_PROPOSAL",
      `Wave "${wave}" of release "${record.id}" has no proposal. Propose it first: npx hardhat bg:propose --release ${record.id} --wave ${wave}`,
    );
  }
  return entry;
}

/**
 * The wave a command acts on (the one whose proposal waits when `wave` is not
 * given), its recorded proposal, and its promotion once it is live.
 */
export function waveToActOn(
  record: ReleaseRecord,
  wave: string | undefined,
  verb: "sign" | "switch",
): { plan: WavesStep; name: string; entry: WaveProposal; done: WavePromotion | undefined } {
  const plan = requirePlan(record);
  const name = wave ?? pickOpenWave(record, plan, verb);
  assertWaveName(name);
  requirePlannedWave(record.id, plan, name);
  const entry = recordedWaveProposal(record, name);
  return { plan, name, entry, done: promotionOf(plan, name, entry) };
}
