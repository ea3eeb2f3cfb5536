/**
 * `.bluegreen/<chainId>/switch.json`: where the switch of a chain was
 * deployed, and with which settings. Written once by `bg:init`; every later
 * step finds the switch through it. The settings recorded are those of the
 * deployment: the approver and guardians may rotate on chain since, and the
 * chain is the source of truth for them (see `read-switch.ts`).
 */
import { z } from "zod";

import { addressSchema, bytes32Schema, isoTimeSchema } from "../common/schema.js";
import { BlueGreenError } from "../errors.js";
import type { ReleaseStore } from "../release/store.js";

export const SWITCH_FILE = "switch.json";
export const SWITCH_FILE_SCHEMA_VERSION = 1;


export const switchFileSchema = z
  .object({
    schemaVersion: z.literal(SWITCH_FILE_SCHEMA_VERSION),
    chainId: z.number().int().positive(),
    address: addressSchema,
    approver: addressSchema,
    guardians: z.array(addressSchema),
    /** Seconds. */
    rollbackDelay: z.number().int().positive(),
    /** Seconds. */
    rollbackWindow: z.number().int().positive(),
    deployTx: bytes32Schema,
    /** Block of the deployment: where log scans for the switch's events start. */
    blockNumber: z.number().int().nonnegative(),
    /** Time of that block, ISO 8601. */
    deployedAt: isoTimeSchema,
  })
  .strict();

export type SwitchFile = z.infer<typeof switchFileSchema>;

/** The switch deployment recorded for a chain; undefined if `bg:init` has not run there. */
export async function readSwitchFile(store: ReleaseStore, chainId: number): Promise<SwitchFile | undefined> {
  return store.readChainFile(chainId, SWITCH_FILE, switchFileSchema);
}

/** Validates and writes the chain's switch file (atomically, under the chain lock). */
export async function writeSwitchFile(store: ReleaseStore, file: SwitchFile): Promise<string> {
  return store.writeChainFile(file.chainId, SWITCH_FILE, switchFileSchema.parse(file));
}

/**
 * Like `readSwitchFile`, but a missing file is a user error that says how to
 * deploy the switch.
 */
export async function requireSwitchFile(store: ReleaseStore, chainId: number, networkName: string): Promise<SwitchFile> {
  const file = await readSwitchFile(store, chainId);
  if (file !== undefined) return file;
  throw new BlueGreenError(
    "BG_SWITCH_NOT_DEPLOYED",
    `No BlueGreenSwitch is recorded for network "${networkName}" (chain ${chainId}). ` +
      `Deploy one first: npx hardhat bg:init --network ${networkName} --approver <address> --guardians <a,b>`,
  );
}
