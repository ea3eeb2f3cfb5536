/**
 * `blueGreen.monitor` in hardhat.config.ts (`blueGreen.waves` reuses its
 * metrics and probes: see `waves/config.ts`).
 *
 * The monitor's analysis is Argo Rollouts' AnalysisTemplate carried over to
 * contracts: each metric has a success condition, a failure condition, an
 * interval, an optional count, and failure / inconclusive / consecutive-error
 * limits. Metrics read the proxy's traffic (revert rate, request rate, gas,
 * events); probes are view calls with expected predicates.
 *
 * Conditions are either an expression string (`"result > baseline + 0.02"`,
 * see `condition.ts`) or a function. Strings are checked when the config
 * loads, so a typo fails before anything runs.
 */
import { id } from "ethers";
import { z } from "zod";

import { addressSchema } from "../common/schema.js";
import { BlueGreenError, type ErrorCode } from "../errors.js";
import { compileCondition } from "./condition.js";
import type { JudgeDirection } from "./mann-whitney.js";

// ---------------------------------------------------------------------------
// Durations

/** A metric interval: chain time in seconds, or a number of blocks. */
export type Interval = { seconds: number } | { blocks: number };

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const BLOCKS = /^(\d+)\s*(b|blocks?)$/;
const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 } as const;

/** Parses "90s", "5m", "1h", "7d", "500ms" or a number of seconds; undefined if malformed. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = DURATION.exec(value.trim());
  if (match === null) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

/** Parses an interval: a duration, or "20 blocks" / "20b". */
export function parseInterval(value: string | number): Interval | undefined {
  if (typeof value === "string") {
    const blocks = BLOCKS.exec(value.trim());
    if (blocks !== null) return Number(blocks[1]) > 0 ? { blocks: Number(blocks[1]) } : undefined;
  }
  const seconds = parseDuration(value);
  return seconds === undefined || seconds <= 0 ? undefined : { seconds };
}

export const durationSchema = z
  .union([z.number().nonnegative(), z.string()])
  .refine((v) => parseDuration(v) !== undefined, {
    message: 'must be a duration: seconds as a number, or a string like "90s", "5m", "1h", "7d", "500ms"',
  });

const intervalSchema = z.union([z.number().positive(), z.string()]).refine((v) => parseInterval(v) !== undefined, {
  message: 'must be a positive duration ("30s", "5m", seconds as a number) or a block count ("20 blocks")',
});

// ---------------------------------------------------------------------------
// Conditions

/** What a condition function gets besides the measured value. */
export interface ConditionContext {
  /** Blue's value of the same metric, when a baseline is known. */
  baseline: number | boolean | string | undefined;
  /** Samples the measurement is based on (calls, events; 1 for a probe). */
  samples: number;
  /** The proxy, for probes (each proxy of a wave is probed on its own). */
  proxy?: string;
  /** Block the measurement ends at. */
  block: number;
}

export type ConditionFunction = (result: number | boolean | string, context: ConditionContext) => boolean;

const conditionSchema = z.union([
  z.string().superRefine((text, ctx) => {
    try {
      compileCondition(text);
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
    }
  }),
  z.custom<ConditionFunction>((v) => typeof v === "function", { message: "must be an expression string or a function" }),
]);

// ---------------------------------------------------------------------------
// Metrics and probes (what a user writes)

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const nameSchema = z.string().regex(NAME, "must start with a letter and use letters, digits, '_', '.', '-' (at most 64)");
const SELECTOR = /^0x[0-9a-fA-F]{8}$/;
const selectorSchema = z
  .string()
  .refine((s) => SELECTOR.test(s) || /^[A-Za-z_][A-Za-z0-9_]*\(.*\)$/.test(s.trim()), {
    message: 'must be a 4-byte selector ("0xa9059cbb") or a function signature ("transfer(address,uint256)")',
  });

/** The Argo AnalysisTemplate metric fields shared by every kind. */
const analysisFields = {
  name: nameSchema,
  /** Length of one measurement window. Default: `monitor.interval`. */
  interval: intervalSchema.optional(),
  /** Chain time after the promotion before the first window opens. */
  initialDelay: durationSchema.optional(),
  /** Measurements to take; the metric is Successful once reached. Default: unlimited (runs while monitored). */
  count: z.number().int().positive().optional(),
  successCondition: conditionSchema.optional(),
  failureCondition: conditionSchema.optional(),
  /** Failed measurements tolerated; one more fails the metric. Default 0. */
  failureLimit: z.number().int().min(0).optional(),
  /** Inconclusive measurements tolerated; one more pauses the analysis. Default 0. */
  inconclusiveLimit: z.number().int().min(0).optional(),
  /** Consecutive measurement errors tolerated; one more errors the metric. Default 4. */
  consecutiveErrorLimit: z.number().int().min(0).optional(),
  /** Measured and reported, but never fails or pauses the analysis. */
  dryRun: z.boolean().optional(),
};

/** Traffic metric fields beyond Argo's. */
const trafficFields = {
  /**
   * Measure each watched proxy on its own (a beacon's proxies, a wave's) and
   * judge the worst, instead of all of them together (the default).
   */
  perProxy: z.boolean().optional(),
};

export const trafficMetricUserSchema = z.discriminatedUnion("kind", [
  z
    .object({
      ...analysisFields,
      ...trafficFields,
      /** reverted / all direct calls to the proxy in the window (0..1). */
      kind: z.literal("revertRate"),
      selector: selectorSchema.optional(),
      /** Calls a window needs before it is measured; a quieter window is extended. Default 1 (0 for rates: a quiet window is a rate of zero). */
      minSamples: z.number().int().min(0).optional(),
    })
    .strict(),
  z
    .object({
      ...analysisFields,
      ...trafficFields,
      /** Calls to the proxy per minute of chain time (direct and, through logs, internal). */
      kind: z.literal("requestRate"),
      selector: selectorSchema.optional(),
      minSamples: z.number().int().min(0).optional(),
    })
    .strict(),
  z
    .object({
      ...analysisFields,
      ...trafficFields,
      /** A quantile of gasUsed of successful direct calls. */
      kind: z.literal("gas"),
      selector: selectorSchema.optional(),
      /** 0.5 for p50, 0.95 for p95 (default). */
      quantile: z.number().gt(0).max(1).optional(),
      minSamples: z.number().int().min(0).optional(),
    })
    .strict(),
  z
    .object({
      ...analysisFields,
      ...trafficFields,
      /** Events the proxy emitted per minute of chain time. */
      kind: z.literal("events"),
      /** Event signature ("Transfer(address,address,uint256)") or its topic0. */
      event: z.string().min(1),
      minSamples: z.number().int().min(0).optional(),
    })
    .strict(),
]);

export const probeUserSchema = z
  .object({
    ...analysisFields,
    /** Human-readable ABI of a view function: "function totalSupply() view returns (uint256)". */
    call: z.string().min(1),
    args: z.array(z.unknown()).optional(),
    /** Contract called; default each monitored proxy. */
    to: addressSchema.optional(),
    /** What a reverting probe counts as. Default "failure". */
    revertIs: z.enum(["failure", "error"]).optional(),
  })
  .strict();

/**
 * A canary's statistical judge (Kayenta's): a Mann–Whitney U test of green's
 * cohort against blue's over the same blocks. Its verdict replaces the
 * conditions, so it takes none.
 */
const { successCondition: _s, failureCondition: _f, ...judgeFields } = analysisFields;
export const canaryJudgeUserSchema = z
  .object({
    ...judgeFields,
    kind: z.literal("mannWhitney"),
    /** The per-call samples: gasUsed of successful direct calls, or 1/0 per direct call for reverted/not. */
    of: z.enum(["gas", "reverts"]),
    /** A difference counts when its p-value is below 1 − confidence. Default 0.95. */
    confidence: z.number().gt(0).lt(1).optional(),
    /** Which difference fails the canary. Default "increase" (more gas, more reverts on green). */
    direction: z.enum(["increase", "decrease", "either"]).optional(),
    selector: selectorSchema.optional(),
    /** Samples each cohort needs before a window is judged. Default 5. */
    minSamples: z.number().int().min(1).optional(),
  })
  .strict();

/**
 * `monitor.canary.metrics`: traffic metrics measured per cohort (`result`
 * green's, `baseline` blue's), and judges. Not event rates: a log does not
 * say which cohort's call emitted it without its transaction.
 */
const [revertRateUserSchema, requestRateUserSchema, gasUserSchema] = trafficMetricUserSchema.options;
export const canaryMetricUserSchema = z.discriminatedUnion("kind", [revertRateUserSchema, requestRateUserSchema, gasUserSchema, canaryJudgeUserSchema]);

export const monitorUserConfigSchema = z
  .object({
    /** Blocks below the head that are considered settled. Default 2. */
    confirmations: z.number().int().min(0).optional(),
    /** Default metric interval. Default "5m". */
    interval: intervalSchema.optional(),
    /** Wall-clock time between polls of the head. Default "4s". */
    pollInterval: durationSchema.optional(),
    /** Interface the --metrics-port endpoint listens on. Default "127.0.0.1"; "0.0.0.0" for a remote Prometheus. */
    metricsHost: z.string().min(1).optional(),
    /** How many processed blocks are re-checked for reorgs. Default 64. */
    reorgDepth: z.number().int().min(1).max(4096).optional(),
    /** Blocks fetched per step. Default 50. */
    batchBlocks: z.number().int().min(1).max(2000).optional(),
    baseline: z
      .object({
        /** "auto" (default): the replay's blue summary, else its block range, else the blocks before the promotion. */
        source: z.enum(["auto", "pre-promotion", "replay"]).optional(),
        /** Blocks before the promotion to measure blue on. Default 1000. */
        blocks: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    /** Thresholds of the default metrics (used when `metrics` is not given). */
    thresholds: z
      .object({
        /** Revert rate that fails a window outright. Default 0.05. */
        maxRevertRate: z.number().min(0).max(1).optional(),
        /** Revert rate above blue's baseline that fails a window. Default 0.02. */
        maxRevertRateIncrease: z.number().min(0).max(1).optional(),
        /** Relative p95 gas increase over blue that fails a window. Default: gas is reported only (dry run). */
        maxGasIncrease: z.number().min(0).optional(),
      })
      .strict()
      .optional(),
    metrics: z.array(trafficMetricUserSchema).optional(),
    probes: z.array(probeUserSchema).optional(),
    /** During a canary step: green's cohort against blue's over the same blocks (see docs/monitor.md). */
    canary: z.object({ metrics: z.array(canaryMetricUserSchema).optional() }).strict().optional(),
    rpc: z
      .object({
        /** Per request. Default "30s". */
        timeout: durationSchema.optional(),
        /** Attempts per request before the step is retried later. Default 4. */
        attempts: z.number().int().min(1).max(20).optional(),
        /** First backoff. Default "500ms"; doubles up to `maxBackoff`. */
        backoff: durationSchema.optional(),
        /** Default "30s". */
        maxBackoff: durationSchema.optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    const names = [...(config.metrics ?? []), ...(config.probes ?? []), ...(config.canary?.metrics ?? [])].map((m) => m.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `metric and probe names must be unique; "${dup}" is used twice` });
  });

export type MonitorUserConfig = z.infer<typeof monitorUserConfigSchema>;
export type TrafficMetricUserConfig = z.infer<typeof trafficMetricUserSchema>;
export type ProbeUserConfig = z.infer<typeof probeUserSchema>;
export type CanaryMetricUserConfig = z.infer<typeof canaryMetricUserSchema>;

// ---------------------------------------------------------------------------
// Resolved

export type MetricKind = "revertRate" | "requestRate" | "gas" | "events" | "probe" | "mannWhitney";

/** A condition ready to evaluate, with the text that explains it in logs. */
export interface ResolvedCondition {
  text: string;
  evaluate(result: number | boolean | string, context: ConditionContext): boolean;
  /** True when the condition reads `baseline` (then it cannot judge without one). */
  usesBaseline: boolean;
}

/** One metric of an analysis, with Argo's defaults filled in. */
export interface ResolvedMetric {
  name: string;
  kind: MetricKind;
  interval: Interval;
  initialDelay: number;
  count?: number;
  successCondition?: ResolvedCondition;
  failureCondition?: ResolvedCondition;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  dryRun: boolean;
  minSamples: number;
  /** revertRate / requestRate / gas: restrict to one selector (normalized 0x........). */
  selector?: string;
  /** gas: the quantile. */
  quantile?: number;
  /** events: the topic0. */
  eventTopic?: string;
  /** events: the signature as written, for labels. */
  eventLabel?: string;
  /** Traffic metrics: measured per proxy (the worst judged) rather than over all proxies together. */
  perProxy?: boolean;
  /** probe: the view function and its arguments. */
  probe?: { call: string; args: unknown[]; to?: string; revertIs: "failure" | "error" };
  /** Canary metrics only: measured per cohort, green's value against blue's (a judge when `judge` is set). */
  cohorts?: { judge?: { of: "gas" | "reverts"; confidence: number; direction: JudgeDirection } };
}

export interface ResolvedAnalysis {
  metrics: ResolvedMetric[];
}

export interface MonitorConfig {
  confirmations: number;
  interval: Interval;
  /** Seconds. */
  pollInterval: number;
  metricsHost: string;
  reorgDepth: number;
  batchBlocks: number;
  baseline: { source: "auto" | "pre-promotion" | "replay"; blocks: number };
  /** The analysis used for a release without waves, and for waves without their own. */
  analysis: ResolvedAnalysis;
  /** Added to the analysis while the proxy runs a CanaryRouter: green's cohort against blue's. */
  canary: ResolvedAnalysis;
  rpc: { timeout: number; attempts: number; backoff: number; maxBackoff: number };
}

export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;
export const DEFAULT_INTERVAL: Interval = { seconds: 300 };

/** Fills in defaults. A config that does not fit the schema is a user error naming the field. */
export function resolveMonitorConfig(user: MonitorUserConfig | undefined, ids: SignatureIds = ETHERS_IDS): MonitorConfig {
  const parsed = parseSection(monitorUserConfigSchema, user ?? {}, "blueGreen.monitor", "BG_MONITOR_CONFIG_INVALID");
  const interval = parsed.interval !== undefined ? parseInterval(parsed.interval)! : DEFAULT_INTERVAL;
  return {
    confirmations: parsed.confirmations ?? 2,
    interval,
    pollInterval: parsed.pollInterval !== undefined ? parseDuration(parsed.pollInterval)! : 4,
    metricsHost: parsed.metricsHost ?? "127.0.0.1",
    reorgDepth: parsed.reorgDepth ?? 64,
    batchBlocks: parsed.batchBlocks ?? 50,
    baseline: { source: parsed.baseline?.source ?? "auto", blocks: parsed.baseline?.blocks ?? 1000 },
    analysis: resolveAnalysis(parsed.metrics, parsed.probes, parsed.thresholds, interval, ids),
    canary: { metrics: (parsed.canary?.metrics ?? defaultCanaryMetrics(parsed.thresholds)).map((m) => resolveCanaryMetric(m, interval, ids)) },
    rpc: {
      timeout: parsed.rpc?.timeout !== undefined ? parseDuration(parsed.rpc.timeout)! : 30,
      attempts: parsed.rpc?.attempts ?? 4,
      backoff: parsed.rpc?.backoff !== undefined ? parseDuration(parsed.rpc.backoff)! : 0.5,
      maxBackoff: parsed.rpc?.maxBackoff !== undefined ? parseDuration(parsed.rpc.maxBackoff)! : 30,
    },
  };
}

/** Turns signatures into ids. */
export interface SignatureIds {
  selector(signature: string): string;
  topic(signature: string): string;
}

export const ETHERS_IDS: SignatureIds = {
  selector: (signature) => id(signature.replace(/\s+/g, "")).slice(0, 10),
  topic: (signature) => id(signature.replace(/\s+/g, "")),
};

/** Parses a config section, turning zod's error into one that names the field and says what to fix. */
export function parseSection<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, where: string, code: ErrorCode): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = [where, ...issue.path.map(String)].join(".");
  throw new BlueGreenError(code, `${field} in hardhat.config.ts is invalid: ${issue.message}. Fix it and run again.`);
}

type Thresholds = NonNullable<MonitorUserConfig["thresholds"]>;

/** Resolves one analysis (the monitor's, or a wave's own). */
export function resolveAnalysis(
  metrics: TrafficMetricUserConfig[] | undefined,
  probes: ProbeUserConfig[] | undefined,
  thresholds: Thresholds | undefined,
  interval: Interval,
  ids: SignatureIds,
): ResolvedAnalysis {
  const traffic = metrics ?? defaultMetrics(thresholds);
  return {
    metrics: [...traffic.map((m) => resolveTrafficMetric(m, interval, ids)), ...(probes ?? []).map((p) => resolveProbe(p, interval))],
  };
}

/**
 * When no metrics are configured: the revert rate, judged against absolute
 * and baseline thresholds; gas p95 and the request rate reported as dry runs
 * (they move with the traffic mix, so they only fail when asked to).
 */
export function defaultMetrics(thresholds: Thresholds | undefined): TrafficMetricUserConfig[] {
  const max = thresholds?.maxRevertRate ?? 0.05;
  const increase = thresholds?.maxRevertRateIncrease ?? 0.02;
  const gas = thresholds?.maxGasIncrease;
  return [
    { name: "revert-rate", kind: "revertRate", failureCondition: `result > ${max} || (hasBaseline && result > baseline + ${increase})` },
    gas === undefined
      ? { name: "gas-p95", kind: "gas", quantile: 0.95, dryRun: true, failureCondition: "hasBaseline && result > baseline * 1.25" }
      : { name: "gas-p95", kind: "gas", quantile: 0.95, failureCondition: `hasBaseline && result > baseline * ${1 + gas}` },
    { name: "request-rate", kind: "requestRate", dryRun: true, failureCondition: "hasBaseline && result < baseline * 0.5" },
  ];
}

/**
 * The canary analysis when none is configured: green's revert rate against
 * blue's (the threshold's increase), Kayenta's judge of revert indicators,
 * and a judge of gas as a dry run (green's code may legitimately cost more).
 */
export function defaultCanaryMetrics(thresholds: Thresholds | undefined): CanaryMetricUserConfig[] {
  const increase = thresholds?.maxRevertRateIncrease ?? 0.02;
  return [
    { name: "canary-revert-rate", kind: "revertRate", failureCondition: `result > baseline + ${increase}` },
    { name: "canary-reverts-judge", kind: "mannWhitney", of: "reverts", confidence: 0.95 },
    { name: "canary-gas-judge", kind: "mannWhitney", of: "gas", confidence: 0.95, dryRun: true },
  ];
}

function resolveCanaryMetric(m: CanaryMetricUserConfig, interval: Interval, ids: SignatureIds): ResolvedMetric {
  if (m.kind !== "mannWhitney") {
    const resolved = resolveTrafficMetric(m, interval, ids);
    // Both cohorts need a value to compare, so a quiet window waits for calls on each side.
    return { ...resolved, minSamples: Math.max(1, m.minSamples ?? 1), cohorts: {} };
  }
  const selector = m.selector === undefined ? undefined : SELECTOR.test(m.selector) ? m.selector.toLowerCase() : ids.selector(m.selector.trim());
  return {
    name: m.name,
    kind: "mannWhitney",
    ...analysisDefaults(m, interval),
    minSamples: m.minSamples ?? 5,
    ...(selector !== undefined ? { selector } : {}),
    cohorts: { judge: { of: m.of, confidence: m.confidence ?? 0.95, direction: m.direction ?? "increase" } },
  };
}

function analysisDefaults(
  m: { interval?: string | number; initialDelay?: string | number; count?: number; failureLimit?: number; inconclusiveLimit?: number; consecutiveErrorLimit?: number; dryRun?: boolean; successCondition?: string | ConditionFunction; failureCondition?: string | ConditionFunction },
  interval: Interval,
) {
  return {
    interval: m.interval !== undefined ? parseInterval(m.interval)! : interval,
    initialDelay: m.initialDelay !== undefined ? parseDuration(m.initialDelay)! : 0,
    ...(m.count !== undefined ? { count: m.count } : {}),
    ...(m.successCondition !== undefined ? { successCondition: resolveCondition(m.successCondition) } : {}),
    ...(m.failureCondition !== undefined ? { failureCondition: resolveCondition(m.failureCondition) } : {}),
    failureLimit: m.failureLimit ?? 0,
    inconclusiveLimit: m.inconclusiveLimit ?? 0,
    consecutiveErrorLimit: m.consecutiveErrorLimit ?? DEFAULT_CONSECUTIVE_ERROR_LIMIT,
    dryRun: m.dryRun ?? false,
  };
}

function resolveTrafficMetric(m: TrafficMetricUserConfig, interval: Interval, ids: SignatureIds): ResolvedMetric {
  // A quiet window is a fact for a rate (zero), but says nothing of a revert rate or a gas quantile.
  const quietCounts = m.kind === "requestRate" || m.kind === "events";
  const base = {
    name: m.name,
    kind: m.kind,
    ...analysisDefaults(m, interval),
    minSamples: m.minSamples ?? (quietCounts ? 0 : 1),
    ...(m.perProxy === true ? { perProxy: true } : {}),
  };
  if (m.kind === "events") {
    const topic = /^0x[0-9a-fA-F]{64}$/.test(m.event) ? m.event.toLowerCase() : ids.topic(m.event.replace(/^event\s+/, "").trim());
    return { ...base, eventTopic: topic, eventLabel: m.event };
  }
  const selector = m.selector === undefined ? undefined : SELECTOR.test(m.selector) ? m.selector.toLowerCase() : ids.selector(m.selector.trim());
  return {
    ...base,
    ...(selector !== undefined ? { selector } : {}),
    ...(m.kind === "gas" ? { quantile: m.quantile ?? 0.95 } : {}),
  };
}

function resolveProbe(p: ProbeUserConfig, interval: Interval): ResolvedMetric {
  return {
    name: p.name,
    kind: "probe",
    ...analysisDefaults(p, interval),
    minSamples: 1,
    probe: { call: p.call, args: p.args ?? [], ...(p.to !== undefined ? { to: p.to } : {}), revertIs: p.revertIs ?? "failure" },
  };
}

/** An expression string compiles once; a function is wrapped with a readable text. */
export function resolveCondition(condition: string | ConditionFunction): ResolvedCondition {
  if (typeof condition === "string") {
    const compiled = compileCondition(condition);
    return { text: condition, usesBaseline: compiled.identifiers.has("baseline"), evaluate: (result, ctx) => compiled.evaluate({ result, ...ctx }) };
  }
  return {
    text: condition.name !== "" ? `function ${condition.name}` : "a condition function",
    // A function may read the baseline; it decides itself what a missing one means.
    usesBaseline: false,
    evaluate: (result, ctx) => {
      const out = condition(result, ctx);
      if (typeof out !== "boolean") throw new Error(`the condition function returned ${typeof out}, not a boolean`);
      return out;
    },
  };
}
