/**
 * The `blueGreen` section of hardhat.config.ts: its schema (checked when the
 * config loads) and its resolution (defaults filled in). Each domain module
 * owns the schema of its own sub-section; this file only composes them.
 */
import { z } from "zod";

/** Validation kinds OpenZeppelin lets a team accept knowingly. */
export const UNSAFE_ALLOW_KINDS = [
  "state-variable-assignment",
  "state-variable-immutable",
  "external-library-linking",
  "struct-definition",
  "enum-definition",
  "constructor",
  "delegatecall",
  "selfdestruct",
  "missing-public-upgradeto",
  "internal-function-storage",
  "missing-initializer",
  "missing-initializer-call",
  "duplicate-initializer-call",
  "incorrect-initializer-order",
] as const;

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
  })
  .passthrough();

export type StageUserConfig = z.infer<typeof stageUserConfigSchema>;

export interface BlueGreenUserConfig {
  /** Where release records live, relative to the project root. Default `.bluegreen`. */
  recordsDir?: string;
  /** Options for OpenZeppelin's upgrade-safety validation in `bg:stage`. */
  stage?: StageUserConfig;
}

export interface StageConfig {
  unsafeAllow: Array<(typeof UNSAFE_ALLOW_KINDS)[number]>;
  unsafeAllowRenames: boolean;
}

export interface BlueGreenConfig {
  /** Absolute path of the release records folder. */
  recordsDir: string;
  stage: StageConfig;
}

export function resolveBlueGreenConfig(
  user: BlueGreenUserConfig | undefined,
  projectRoot: string,
  resolvePath: (root: string, p: string) => string,
): BlueGreenConfig {
  return {
    recordsDir: resolvePath(projectRoot, user?.recordsDir ?? ".bluegreen"),
    stage: {
      unsafeAllow: user?.stage?.unsafeAllow ?? [],
      unsafeAllowRenames: user?.stage?.unsafeAllowRenames ?? false,
    },
  };
}
