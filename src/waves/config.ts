/**
 * `blueGreen.waves` in hardhat.config.ts: the waves a fleet release is
 * promoted in, each with its bake and, optionally, its own analysis (the
 * metrics and probes of `blueGreen.monitor`, see `monitor/config.ts`).
 */
import { z } from "zod";

import { addressSchema } from "../common/schema.js";
import {
  DEFAULT_INTERVAL,
  ETHERS_IDS,
  type MonitorUserConfig,
  type ResolvedAnalysis,
  type SignatureIds,
  durationSchema,
  monitorUserConfigSchema,
  nameSchema,
  parseDuration,
  parseInterval,
  parseSection,
  probeUserSchema,
  resolveAnalysis,
  trafficMetricUserSchema,
} from "../monitor/config.js";

// ---------------------------------------------------------------------------
// What a user writes

export const waveUserSchema = z
  .object({
    name: nameSchema,
    /**
     * Which proxies of the fleet this wave brings to green: a count of further
     * proxies (1 for a canary), a cumulative percentage of the fleet ("25%":
     * a quarter of the fleet is green once this wave is live), or addresses.
     */
    proxies: z.union([
      z.number().int().positive(),
      z.string().regex(/^(100|[1-9]?\d(\.\d+)?)%$/, 'must be a percentage of the fleet like "25%"'),
      z.array(addressSchema).min(1),
    ]),
    /** How long the wave must run healthy before the next may be promoted. */
    bake: durationSchema,
    /** This wave's own analysis; default `blueGreen.monitor`'s metrics and probes. */
    analysis: z
      .object({
        metrics: z.array(trafficMetricUserSchema).optional(),
        probes: z.array(probeUserSchema).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const wavesUserConfigSchema = z
  .object({
    waves: z.array(waveUserSchema).min(1),
  })
  .strict()
  .superRefine((config, ctx) => {
    const names = config.waves.map((w) => w.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["waves"], message: `wave names must be unique; "${dup}" is used twice` });
  });

export type WavesUserConfig = z.infer<typeof wavesUserConfigSchema>;
export type WaveUserConfig = z.infer<typeof waveUserSchema>;

// ---------------------------------------------------------------------------
// Resolved

export interface WaveConfig {
  name: string;
  proxies: number | { percent: number } | string[];
  /** Seconds. */
  bake: number;
  /** The wave's own analysis, if it has one. */
  analysis?: ResolvedAnalysis;
}

export interface WavesConfig {
  waves: WaveConfig[];
}

export function resolveWavesConfig(
  user: WavesUserConfig | undefined,
  monitor: MonitorUserConfig | undefined,
  ids: SignatureIds = ETHERS_IDS,
): WavesConfig | undefined {
  if (user === undefined) return undefined;
  const parsed = parseSection(wavesUserConfigSchema, user, "blueGreen.waves", "BG_WAVES_CONFIG_INVALID");
  const parsedMonitor = parseSection(monitorUserConfigSchema, monitor ?? {}, "blueGreen.monitor", "BG_MONITOR_CONFIG_INVALID");
  const interval = parsedMonitor.interval !== undefined ? parseInterval(parsedMonitor.interval)! : DEFAULT_INTERVAL;
  return {
    waves: parsed.waves.map((w) => ({
      name: w.name,
      proxies: typeof w.proxies === "string" ? { percent: Number(w.proxies.slice(0, -1)) } : w.proxies,
      bake: parseDuration(w.bake)!,
      ...(w.analysis !== undefined
        ? {
            analysis: resolveAnalysis(
              w.analysis.metrics ?? parsedMonitor.metrics,
              w.analysis.probes ?? parsedMonitor.probes,
              parsedMonitor.thresholds,
              interval,
              ids,
            ),
          }
        : {}),
    })),
  };
}
