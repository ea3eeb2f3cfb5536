/**
 * `blueGreen.replay` in hardhat.config.ts: the replay's defaults, its gas
 * tolerance and the differences a team declares as expected.
 *
 * ```ts
 * blueGreen: {
 *   replay: {
 *     mode: "faithful",
 *     gasTolerance: 1, // percent
 *     expected: [
 *       { kind: "events", event: "FeeCharged(address,uint256)", reason: "green charges a new fee" },
 *       { kind: "gas", selector: "transfer(address,uint256)", maxIncreasePercent: 5, reason: "fee bookkeeping" },
 *     ],
 *     // A beacon release replays every proxy of the beacon: found from BeaconUpgraded
 *     // events, or (here, or with --proxies) listed.
 *     beacons: { "0xBeacon...": { proxies: ["0xProxyA...", "0xProxyB..."] } },
 *   },
 * }
 * ```
 */
import { availableParallelism } from "node:os";
import path from "node:path";

import { id as keccakId } from "ethers";
import { z } from "zod";

import { addressSchema } from "../common/schema.js";
import { DIFFERENCE_KINDS, type DifferenceKind } from "./types.js";

export const REPLAY_MODES = ["faithful", "fast"] as const;
export type ReplayMode = (typeof REPLAY_MODES)[number];

const SELECTOR = /^0x[0-9a-fA-F]{8}$/;
const TOPIC = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE = /^[A-Za-z_$][A-Za-z0-9_$]*\(.*\)$/;

const selectorOrSignature = z
  .string()
  .refine((s) => SELECTOR.test(s) || SIGNATURE.test(s), {
    message: 'must be a 4-byte selector ("0xa9059cbb") or a function signature ("transfer(address,uint256)")',
  });

export const expectedDifferenceSchema = z
  .object({
    kind: z.enum(DIFFERENCE_KINDS, {
      errorMap: () => ({ message: `must be one of ${DIFFERENCE_KINDS.join(", ")}` }),
    }),
    /** Only transactions that call this function of the proxy (top-level or internally). */
    selector: selectorOrSignature.optional(),
    /** For kind "events": the event allowed to differ, as a signature or its topic0. */
    event: z
      .string()
      .refine((s) => TOPIC.test(s) || SIGNATURE.test(s), {
        message: 'must be an event signature ("FeeCharged(address,uint256)") or its 32-byte topic0',
      })
      .optional(),
    /** For kind "storage": the proxy storage slot allowed to differ. */
    slot: z.string().regex(TOPIC, "must be a 0x-prefixed 32-byte storage slot").optional(),
    /** For kind "gas": how much more gas green may use than blue, in percent. */
    maxIncreasePercent: z.number().min(0, "must be 0 or more").optional(),
    /** Why this difference is intended; shown in the report. */
    reason: z.string().min(1, "must say why the difference is intended"),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.kind === "proxy-slots") {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["kind"],
        message: "a green that writes the proxy's implementation, admin or beacon slot can move the proxy by itself: it is always a critical divergence and cannot be declared expected",
      });
    }
    if (rule.event !== undefined && rule.kind !== "events") {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["event"], message: 'only applies to kind "events"' });
    }
    if (rule.slot !== undefined && rule.kind !== "storage") {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["slot"], message: 'only applies to kind "storage"' });
    }
    if (rule.maxIncreasePercent !== undefined && rule.kind !== "gas") {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["maxIncreasePercent"], message: 'only applies to kind "gas"' });
    }
  });

export const replayUserConfigSchema = z
  .object({
    /** Default mode of `bg:replay`: "faithful" (whole blocks, in order) or "fast" (the proxy's traffic only). */
    mode: z.enum(REPLAY_MODES).optional(),
    /** Gas difference between blue and green that is not a divergence, in percent of blue's gas. Default 0. */
    gasTolerance: z.number().min(0, "must be 0 or more").max(100, "is a percentage: at most 100").optional(),
    /** Differences the team intends; reported as expected, not as divergences. */
    expected: z.array(expectedDifferenceSchema).optional(),
    /** Parallel forks for the root comparison. Default: one more than the cores, at most 4. */
    workers: z.number().int("must be a whole number").min(1, "must be at least 1").max(16, "must be at most 16").optional(),
    /** Whether discovery may use traces (trace_filter, debug_trace*) to find internal calls. Default "auto". */
    tracing: z.enum(["auto", "off"]).optional(),
    /** Hardfork of the fork's new blocks, when the source chain is not one EDR knows (e.g. a local 31337 node). */
    hardfork: z.string().min(1).optional(),
    /** Folder of the replay's source cache, relative to the project root. Default `<cache>/bluegreen-replay`. */
    cacheDir: z.string().min(1).optional(),
    /**
     * Per beacon (by address): its proxies to replay (instead of finding them
     * from BeaconUpgraded events), or the block to search those events from
     * (default: the beacon's deployment block).
     */
    beacons: z
      .record(
        z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a beacon's 0x-prefixed 20-byte address"),
        z
          .object({
            proxies: z.array(addressSchema).min(1, "must name at least one proxy (leave it out to find them from events)").optional(),
            fromBlock: z.number().int().min(0).optional(),
          })
          .strict(),
      )
      .optional(),
    /** Prefetch the forks' state in bulk before they run ("auto": prestate traces, else proofs or account reads). Default "auto". */
    prefetch: z.enum(["auto", "off"]).optional(),
    /** The shared source cache (state by chain, block and key, for every run): folder and size bound. */
    sourceCache: z
      .object({
        /** Relative to the project root. Default `<cache>/bluegreen-source`. */
        dir: z.string().min(1).optional(),
        /** Least recently read files go past this size. Default 1024 MB. */
        maxMb: z.number().min(1, "must be at least 1").optional(),
      })
      .strict()
      .optional(),
    /** The source RPC: per-request timeout and retries (with backoff) on timeouts and rate limits. */
    rpc: z
      .object({
        timeoutMs: z.number().int().min(100, "must be at least 100").optional(),
        retries: z.number().int().min(0).max(20).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ExpectedDifferenceUserConfig = z.infer<typeof expectedDifferenceSchema>;
export type ReplayUserConfig = z.infer<typeof replayUserConfigSchema>;

/** A declared expected difference, normalized: selectors and topics as hex. */
export interface ExpectedDifference {
  kind: DifferenceKind;
  selector?: string;
  topic?: string;
  slot?: string;
  maxIncreasePercent?: number;
  reason: string;
}

export interface ReplayConfig {
  mode: ReplayMode;
  gasTolerance: number;
  expected: ExpectedDifference[];
  workers: number;
  tracing: "auto" | "off";
  hardfork?: string;
  /** Absolute. */
  cacheDir: string;
  rpc: { timeoutMs: number; retries: number };
  /** Lower-case beacon address → its listed proxies (lower case) and where to search its events from. */
  beacons: Record<string, { proxies?: string[]; fromBlock?: number }>;
  prefetch: "auto" | "off";
  /** Absolute folder and bound of the shared source cache. */
  sourceCache: { dir: string; maxBytes: number };
}

/** 4-byte selector of a selector or signature, lower-case. */
export function toSelector(selectorOrSignature: string): string {
  return SELECTOR.test(selectorOrSignature)
    ? selectorOrSignature.toLowerCase()
    : keccakId(selectorOrSignature.replace(/\s+/g, "")).slice(0, 10);
}

/** topic0 of an event signature or topic, lower-case. */
export function toTopic(eventOrTopic: string): string {
  return TOPIC.test(eventOrTopic) ? eventOrTopic.toLowerCase() : keccakId(eventOrTopic.replace(/\s+/g, ""));
}

export function normalizeExpected(rule: ExpectedDifferenceUserConfig): ExpectedDifference {
  return {
    kind: rule.kind,
    reason: rule.reason,
    ...(rule.selector !== undefined ? { selector: toSelector(rule.selector) } : {}),
    ...(rule.event !== undefined ? { topic: toTopic(rule.event) } : {}),
    ...(rule.slot !== undefined ? { slot: rule.slot.toLowerCase() } : {}),
    ...(rule.maxIncreasePercent !== undefined ? { maxIncreasePercent: rule.maxIncreasePercent } : {}),
  };
}

/**
 * Fills in the defaults. `cachePath` is Hardhat's cache folder
 * (`config.paths.cache`); `projectRoot` resolves a relative `cacheDir`.
 */
export function resolveReplayConfig(
  user: ReplayUserConfig | undefined,
  paths: { projectRoot: string; cachePath: string },
): ReplayConfig {
  return {
    mode: user?.mode ?? "faithful",
    gasTolerance: user?.gasTolerance ?? 0,
    expected: (user?.expected ?? []).map(normalizeExpected),
    // One fork more than cores: while one fork's requests wait on the JS thread, another's execute.
    workers: user?.workers ?? Math.min(4, availableParallelism() + 1),
    tracing: user?.tracing ?? "auto",
    ...(user?.hardfork !== undefined ? { hardfork: user.hardfork } : {}),
    cacheDir:
      user?.cacheDir !== undefined
        ? path.resolve(paths.projectRoot, user.cacheDir)
        : path.join(paths.cachePath, "bluegreen-replay"),
    rpc: { timeoutMs: user?.rpc?.timeoutMs ?? 30_000, retries: user?.rpc?.retries ?? 5 },
    beacons: Object.fromEntries(
      Object.entries(user?.beacons ?? {}).map(([beacon, b]) => [
        beacon.toLowerCase(),
        { ...(b.proxies !== undefined ? { proxies: b.proxies.map((p) => p.toLowerCase()) } : {}), ...(b.fromBlock !== undefined ? { fromBlock: b.fromBlock } : {}) },
      ]),
    ),
    prefetch: user?.prefetch ?? "auto",
    sourceCache: {
      dir:
        user?.sourceCache?.dir !== undefined
          ? path.resolve(paths.projectRoot, user.sourceCache.dir)
          : path.join(paths.cachePath, "bluegreen-source"),
      maxBytes: Math.round((user?.sourceCache?.maxMb ?? 1024) * 1024 * 1024),
    },
  };
}
