/**
 * Splits a release's fleet of proxies into the configured waves, and records
 * the plan in the release.
 *
 * Percentages are cumulative, as Argo Rollouts' canary weights: "25%" means
 * a quarter of the fleet runs green once that wave is live (rounded up, so a
 * small fleet still moves). A count adds that many proxies; addresses pick
 * those proxies.
 */
import { getAddress, isAddress } from "ethers";

import { BlueGreenError } from "../errors.js";
import type { ReleaseRecord } from "../release/record.js";
import type { ReleaseStore } from "../release/store.js";
import type { WavesConfig } from "./config.js";
import { type PlannedWave, type WavesStep, readWavesStep, withWavesStep } from "./waves-step.js";

/** Assigns every proxy of `fleet` to a wave; refuses plans that skip proxies or have empty waves. */
export function planWaves(fleet: string[], config: WavesConfig): PlannedWave[] {
  const proxies = normalizeFleet(fleet);
  const assigned = new Set<string>();
  const planned: PlannedWave[] = [];
  for (const wave of config.waves) {
    let picked: string[];
    if (Array.isArray(wave.proxies)) {
      picked = wave.proxies.map((p) => getAddress(p));
      for (const p of picked) {
        if (!proxies.includes(p)) throw new BlueGreenError("BG_WAVES_PLAN_INVALID", `Wave "${wave.name}" names ${p}, which is not in the release's fleet. Add it to --proxies or remove it from the wave.`);
        if (assigned.has(p)) throw new BlueGreenError("BG_WAVES_PLAN_INVALID", `Wave "${wave.name}" names ${p}, which an earlier wave already promotes. List each proxy in one wave.`);
      }
    } else {
      const target =
        typeof wave.proxies === "number"
          ? Math.min(proxies.length, assigned.size + wave.proxies)
          : Math.min(proxies.length, Math.ceil((proxies.length * wave.proxies.percent) / 100 - 1e-9));
      picked = proxies.filter((p) => !assigned.has(p)).slice(0, Math.max(0, target - assigned.size));
    }
    if (picked.length === 0) {
      throw new BlueGreenError(
        "BG_WAVES_PLAN_INVALID",
        `Wave "${wave.name}" would promote no proxy: the waves before it already cover ${assigned.size} of the fleet's ${proxies.length}. ` +
          "Remove the wave, or raise its share in blueGreen.waves.",
      );
    }
    picked.forEach((p) => assigned.add(p));
    planned.push({ name: wave.name, proxies: picked, bakeSeconds: wave.bake });
  }
  const left = proxies.filter((p) => !assigned.has(p));
  if (left.length > 0) {
    throw new BlueGreenError(
      "BG_WAVES_PLAN_INVALID",
      `The waves in blueGreen.waves leave ${left.length} of the fleet's ${proxies.length} proxies unpromoted (${left.join(", ")}). End the last wave at "100%".`,
    );
  }
  return planned;
}

function normalizeFleet(fleet: string[]): string[] {
  if (fleet.length === 0) throw new BlueGreenError("BG_WAVES_FLEET_INVALID", "The fleet is empty. Pass the release's proxies with --proxies <a,b,...>.");
  const out: string[] = [];
  for (const raw of fleet) {
    if (!isAddress(raw)) throw new BlueGreenError("BG_WAVES_FLEET_INVALID", `"${raw}" in --proxies is not an address. Pass 0x-prefixed 20-byte addresses separated by commas.`);
    const p = getAddress(raw.toLowerCase());
    if (out.includes(p)) throw new BlueGreenError("BG_WAVES_FLEET_INVALID", `${p} is listed twice in --proxies. List each proxy once.`);
    out.push(p);
  }
  return out;
}

/** What the chain says about a fleet proxy, for the plan's checks. */
export interface FleetProxyFacts {
  proxy: string;
  /** Adopted by the release's switch. */
  adopted: boolean;
  /** The implementation the switch tracks for it. */
  implementation: string;
}

/**
 * Records the plan in the release. Every proxy must be adopted by the switch
 * and run the release's blue (so green's upgrade checks hold for all) or
 * already its green, and
 * the staged proxy must be in the fleet. Re-planning is allowed until the
 * first wave is promoted.
 */
export async function recordWavePlan(
  store: ReleaseStore,
  record: ReleaseRecord,
  fleet: string[],
  config: WavesConfig,
  facts: FleetProxyFacts[],
  now: Date = new Date(),
): Promise<{ record: ReleaseRecord; step: WavesStep; unchanged: boolean }> {
  const waves = planWaves(fleet, config);
  const proxies = waves.flatMap((w) => w.proxies);
  const ordered = normalizeFleet(fleet);
  if (!ordered.includes(getAddress(record.proxy))) {
    throw new BlueGreenError("BG_WAVES_FLEET_INVALID", `The fleet must include the release's own proxy ${record.proxy} (the one staged and validated). Add it to --proxies.`);
  }
  for (const p of proxies) {
    const fact = facts.find((f) => getAddress(f.proxy) === p);
    if (fact === undefined || !fact.adopted) {
      throw new BlueGreenError("BG_WAVES_PROXY_NOT_ADOPTED", `${p} is not managed by the switch. Adopt it first: npx hardhat bg:adopt --network ${record.network} --proxy ${p}`);
    }
    // Blue, or already this release's green (a wave plan made after the first promotion).
    const runs = getAddress(fact.implementation);
    if (runs !== getAddress(record.blue.address) && runs !== getAddress(record.green.address)) {
      throw new BlueGreenError(
        "BG_WAVES_PROXY_NOT_BLUE",
        `${p} runs ${fact.implementation}, not the release's blue ${record.blue.address}. A wave release moves proxies that all run the same blue; ` +
          "stage a separate release for this proxy.",
      );
    }
  }
  const existing = readWavesStep(record);
  const step: WavesStep = { fleet: ordered, waves, plannedAt: now.toISOString(), promotions: existing?.promotions ?? [] };
  if (existing !== undefined) {
    const same = JSON.stringify({ f: existing.fleet, w: existing.waves }) === JSON.stringify({ f: step.fleet, w: step.waves });
    if (same) return { record, step: existing, unchanged: true };
    if (existing.promotions.length > 0) {
      throw new BlueGreenError(
        "BG_WAVES_PLAN_LOCKED",
        `Release "${record.id}" already promoted wave "${existing.promotions[0]!.wave}", so its plan cannot change. ` +
          "Finish (or roll back) this release, and stage a new one for a different fleet.",
      );
    }
  }
  const updated = await store.update(record.chainId, record.id, (current) => {
    if (current === undefined) throw new BlueGreenError("BG_RECORD_NOT_FOUND", `Release "${record.id}" disappeared from the store.`);
    return withWavesStep(current, step);
  });
  return { record: updated!, step, unchanged: false };
}
