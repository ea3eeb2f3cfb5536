/**
 * Where each wave of a release stands: how many of its proxies run green,
 * its bake, and the monitor's analysis of it. Pure, for bg:waves and bg:status.
 */
import { getAddress } from "ethers";

import { iso } from "../common/format.js";
import type { ReleaseRecord } from "../release/record.js";
import { readMonitorStep } from "../monitor/monitor-step.js";
import type { WaveChainFacts } from "./may-promote-wave.js";
import { readWavesStep } from "./waves-step.js";

export interface WaveStatus {
  name: string;
  proxies: string[];
  bakeSeconds: number;
  /** Proxies of the wave running this release's green. */
  live: number;
  state: "pending" | "partial" | "baking" | "baked" | "rolled-back";
  promotedAt?: string;
  bakeEndsAt?: string;
  analysis?: string;
  override?: { by: string; reason: string; at: string };
}

export function wavesStatus(record: ReleaseRecord, facts: WaveChainFacts): WaveStatus[] {
  const plan = readWavesStep(record);
  if (plan === undefined) return [];
  const monitor = readMonitorStep(record);
  const green = getAddress(record.green.address);
  return plan.waves.map((wave) => {
    const mine = wave.proxies.map((p) => facts.proxies[getAddress(p)]).filter((f) => f !== undefined && getAddress(f.green) === green && f.promotedAt > 0);
    const live = mine.filter((f) => f!.status === "live" || f!.status === "finalized").length;
    const rolledBack = mine.some((f) => f!.status === "rolled-back" || f!.status === "rollback-scheduled");
    const promotedAt = live === wave.proxies.length ? Math.max(...mine.map((f) => f!.promotedAt)) : undefined;
    const bakeEnd = promotedAt !== undefined ? promotedAt + wave.bakeSeconds : undefined;
    const state: WaveStatus["state"] = rolledBack
      ? "rolled-back"
      : live === 0
        ? "pending"
        : live < wave.proxies.length
          ? "partial"
          : facts.now < bakeEnd!
            ? "baking"
            : "baked";
    const override = plan.promotions.find((p) => p.wave === wave.name && p.override !== undefined)?.override;
    const run = monitor?.runs[wave.name];
    return {
      name: wave.name,
      proxies: wave.proxies,
      bakeSeconds: wave.bakeSeconds,
      live,
      state,
      ...(promotedAt !== undefined ? { promotedAt: iso(promotedAt), bakeEndsAt: iso(bakeEnd!) } : {}),
      ...(run !== undefined ? { analysis: run.phase } : {}),
      ...(override !== undefined ? { override: { by: override.by, reason: override.reason, at: override.at } } : {}),
    };
  });
}
