/**
 * The `blueGreen` section of hardhat.config.ts: its schema (checked when the
 * config loads) and its resolution (defaults filled in). Each domain module
 * owns the schema of its own sub-section; this file only composes them.
 */
import { z } from "zod";
import { UNSAFE_ALLOW_KINDS, type StageConfig } from "./stage/config.js";

import { approvalUserConfigSchema, resolveApprovalConfig, type ApprovalConfig, type ApprovalUserConfig } from "./approval/config.js";
import { gatesUserConfigSchema, type GatesUserConfig } from "./gates/user-config.js";
import {
  networkAccountSources,
  resolveGatesConfig,
  type GatesConfig,
} from "./gates/config.js";
import { durationSchema, monitorUserConfigSchema, parseDuration, resolveMonitorConfig, type MonitorConfig, type MonitorUserConfig } from "./monitor/config.js";
import { resolveWavesConfig, wavesUserConfigSchema, type WavesConfig, type WavesUserConfig } from "./waves/config.js";
import { canaryUserConfigSchema, resolveCanaryConfig, type CanaryConfig, type CanaryUserConfig } from "./waves/canary-config.js";
import { replayUserConfigSchema, resolveReplayConfig, type ReplayConfig, type ReplayUserConfig } from "./replay/config.js";
import { resolveSwitchConfig, switchUserConfigSchema, type SwitchConfig, type SwitchUserConfig } from "./switch/config.js";

/** Validation kinds OpenZeppelin lets a team accept knowingly. */


export const stageUserConfigSchema = z
  .object({
    unsafeAllow: z.array(z.enum(UNSAFE_ALLOW_KINDS)).optional(),
    unsafeAllowRenames: z.boolean().optional(),
  })
  .strict();

export const blueGreenUserConfigSchema = z
  .object({
    recordsDir: z.string().min(1).optional(),
    stage: stageUserConfigSchema.optional(),
    replay: replayUserConfigSchema.optional(),
    switch: switchUserConfigSchema.optional(),
    gates: gatesUserConfigSchema.optional(),
    monitor: monitorUserConfigSchema.optional(),
    waves: wavesUserConfigSchema.optional(),
    canary: canaryUserConfigSchema.optional(),
    approval: approvalUserConfigSchema.optional(),
    rpc: z.object({ timeout: durationSchema.optional() }).strict().optional(),
  })
  // Strict: a typo such as `gate:` must not silently drop every gate.
  .strict();

export type StageUserConfig = z.infer<typeof stageUserConfigSchema>;

export interface BlueGreenUserConfig {
  /** Where release records live, relative to the project root. Default `.bluegreen`. */
  recordsDir?: string;
  /** Options for OpenZeppelin's upgrade-safety validation in `bg:stage`. */
  stage?: StageUserConfig;
  /** Twin replay: default mode, gas tolerance, expected differences (see docs/replay.md). */
  replay?: ReplayUserConfig;
  /** Defaults for `bg:init`: the switch's rollback delay and window, in seconds. */
  switch?: SwitchUserConfig;
  /** The release gates `bg:gates` evaluates (see docs/gates.md). */
  gates?: GatesUserConfig;
  /** The analysis `bg:monitor` runs after a switch (see docs/monitor.md). */
  monitor?: MonitorUserConfig;
  /** Phased rollout across a fleet of proxies (see docs/monitor.md). */
  waves?: WavesUserConfig;
  /** Canary steps of one proxy: a growing share of its callers on green (see docs/canary.md). */
  canary?: CanaryUserConfig;
  /** The Safe Transaction Service and a TimelockController's proposer (see docs/signer-guide.md). */
  approval?: ApprovalUserConfig;
  /** Each request a command sends to an HTTP network's node must be answered within `timeout` (e.g. "20s", the default). */
  rpc?: { timeout?: string | number };
}

export interface BlueGreenConfig {
  /** Absolute path of the release records folder. */
  recordsDir: string;
  stage: StageConfig;
  replay: ReplayConfig;
  switch: SwitchConfig;
  gates: GatesConfig;
  monitor: MonitorConfig;
  waves: WavesConfig | undefined;
  canary: CanaryConfig | undefined;
  approval: ApprovalConfig;
  rpc: { timeoutMs: number };
}

/** Long enough for a busy public endpoint, short enough that a silent node fails a command in well under a minute. */
export const DEFAULT_RPC_TIMEOUT_SECONDS = 20;

export function resolveBlueGreenConfig(
  user: BlueGreenUserConfig | undefined,
  paths: { root: string; cache: string },
  resolvePath: (root: string, p: string) => string,
  /** The user's `networks`, read only for where their accounts come from (the secrets gate). */
  userNetworks?: Record<string, unknown>,
): BlueGreenConfig {
  const projectRoot = paths.root;
  return {
    recordsDir: resolvePath(projectRoot, user?.recordsDir ?? ".bluegreen"),
    stage: {
      unsafeAllow: user?.stage?.unsafeAllow ?? [],
      unsafeAllowRenames: user?.stage?.unsafeAllowRenames ?? false,
    },
    replay: resolveReplayConfig(user?.replay, { projectRoot, cachePath: paths.cache }),
    switch: resolveSwitchConfig(user?.switch),
    gates: resolveGatesConfig(user?.gates, projectRoot, networkAccountSources(userNetworks)),
    monitor: resolveMonitorConfig(user?.monitor),
    waves: resolveWavesConfig(user?.waves, user?.monitor),
    canary: resolveCanaryConfig(user?.canary),
    approval: resolveApprovalConfig(user?.approval),
    rpc: { timeoutMs: 1000 * (user?.rpc?.timeout !== undefined ? parseDuration(user.rpc.timeout)! : DEFAULT_RPC_TIMEOUT_SECONDS) },
  };
}
