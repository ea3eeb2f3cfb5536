/**
 * The `blueGreen.switch` config section: defaults for `bg:init`. The bounds
 * mirror the contract's, so a bad value fails when the config loads rather
 * than when a deployment reverts.
 */
import { z } from "zod";

/** Bounds fixed in BlueGreenSwitch.sol (seconds). */
export const SWITCH_BOUNDS = {
  minRollbackDelay: 60,
  maxRollbackDelay: 7 * 24 * 3600,
  minRollbackWindow: 3600,
  maxRollbackWindow: 90 * 24 * 3600,
} as const;

/** One hour for guardians' rollbacks to be vetoed; a week to notice that green misbehaves. */
export const DEFAULT_ROLLBACK_DELAY = 3600;
export const DEFAULT_ROLLBACK_WINDOW = 7 * 24 * 3600;

export const switchUserConfigSchema = z
  .object({
    rollbackDelay: z.number().int().min(SWITCH_BOUNDS.minRollbackDelay).max(SWITCH_BOUNDS.maxRollbackDelay).optional(),
    rollbackWindow: z.number().int().min(SWITCH_BOUNDS.minRollbackWindow).max(SWITCH_BOUNDS.maxRollbackWindow).optional(),
  })
  .strict();

export type SwitchUserConfig = z.infer<typeof switchUserConfigSchema>;

export interface SwitchConfig {
  /** Seconds between a guardian scheduling a rollback and anyone executing it. */
  rollbackDelay: number;
  /** Seconds after a promote during which a rollback can be started. */
  rollbackWindow: number;
}

export function resolveSwitchConfig(user: SwitchUserConfig | undefined): SwitchConfig {
  return {
    rollbackDelay: user?.rollbackDelay ?? DEFAULT_ROLLBACK_DELAY,
    rollbackWindow: user?.rollbackWindow ?? DEFAULT_ROLLBACK_WINDOW,
  };
}
