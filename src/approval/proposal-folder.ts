/**
 * Where a proposal's files live. A promote belongs to its release
 * (`.bluegreen/<chainId>/<release>/`); every other approver call (adopt,
 * release, approver and guardian changes, a veto...) gets its own folder,
 * `.bluegreen/<chainId>/calls/<id>/`. Both hold the same files:
 * proposal.json, safe-tx-builder.json, safe-tx-typed-data.json, summary.md,
 * signatures.json and the execution journal.
 */
import { rm } from "node:fs/promises";
import path from "node:path";

import type { ZodType } from "zod";

import { BlueGreenError } from "../errors.js";
import { RELEASE_ID_PATTERN } from "../release/record.js";
import { type ReleaseStore, readValidated, writeJsonAtomic, writeTextAtomic } from "../release/store.js";

export const PROPOSAL_FILE = "proposal.json";
export const BUILDER_FILE = "safe-tx-builder.json";
export const SUMMARY_FILE = "summary.md";
/** The Safe transaction as EIP-712 typed data, for signing with one's own tools. */
export const TYPED_DATA_FILE = "safe-tx-typed-data.json";
export const SIGNATURES_FILE = "signatures.json";
export const EXECUTION_FILE = "execution.json";

/** The folder of approver calls that belong to no release. */
export const CALLS_DIR = "calls";

export interface ProposalFolder {
  /** The folder, for messages (relative to the working directory). */
  readonly where: string;
  /** The command-line option that names this proposal, e.g. `--release vault-v2`. */
  readonly option: string;
  read<T>(name: string, schema: ZodType<T>): Promise<T | undefined>;
  /** Writes JSON (objects) or text atomically, under the chain's lock. */
  write(name: string, content: string | object): Promise<string>;
  remove(name: string): Promise<void>;
}

/** The folder of a release: its promote proposal sits beside release.json. */
export function releaseProposalFolder(store: ReleaseStore, chainId: number, releaseId: string): ProposalFolder {
  const dir = store.releaseDir(chainId, releaseId);
  return {
    where: path.relative(process.cwd(), dir) || dir,
    option: `--release ${releaseId}`,
    read: (name, schema) => store.readReleaseFile(chainId, releaseId, name, schema),
    write: (name, content) => store.writeReleaseFile(chainId, releaseId, name, content),
    remove: (name) => store.removeReleaseFile(chainId, releaseId, name),
  };
}

/** The folder of a standalone approver call, `calls/<id>/` in the chain's folder. */
export function callProposalFolder(store: ReleaseStore, chainId: number, callId: string): ProposalFolder {
  assertCallId(callId);
  const dir = path.join(store.chainDir(chainId), CALLS_DIR, callId);
  return {
    where: path.relative(process.cwd(), dir) || dir,
    option: `--call ${callId}`,
    read: (name, schema) => readValidated(path.join(dir, name), schema),
    write: async (name, content) => {
      const file = path.join(dir, name);
      await store.withLock(chainId, () =>
        typeof content === "string" ? writeTextAtomic(file, content) : writeJsonAtomic(file, content),
      );
      return file;
    },
    remove: (name) => store.withLock(chainId, () => rm(path.join(dir, name), { force: true })),
  };
}

export function assertCallId(id: string): void {
  if (!RELEASE_ID_PATTERN.test(id)) {
    throw new BlueGreenError(
      "BG_APPROVAL_CALL_ID",
      `"${id}" is not a valid call id. Use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
}
