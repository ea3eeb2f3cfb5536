/**
 * Shared pieces of the gates tests: a throwaway project folder with a
 * release store, and a staged record to gate. No side effects on import.
 */
import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import type { ReleaseRecord } from "../../src/release/record.js";
import { ReleaseStore } from "../../src/release/store.js";
import { stagedRecord } from "../helpers/record-fixture.js";

export interface TempProject {
  root: string;
  store: ReleaseStore;
  /** Writes a file relative to the project root and returns its absolute path. */
  write(rel: string, content: string | Uint8Array): Promise<string>;
}

export async function tempProject(prefix = "bg-gates-"): Promise<TempProject> {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  const store = new ReleaseStore(path.join(root, ".bluegreen"));
  return {
    root,
    store,
    async write(rel, content) {
      const file = path.join(root, rel);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content);
      return file;
    },
  };
}

/** A staged record whose green has a real-looking codehash, saved in the project's store. */
export async function savedRecord(project: TempProject, change: (r: ReleaseRecord) => ReleaseRecord = (r) => r, id = "vault-v2", chainId = 1): Promise<ReleaseRecord> {
  const record = change({ ...stagedRecord(id, chainId), network: "localMainnet" });
  await project.store.update(chainId, id, () => record);
  return (await project.store.get(chainId, id))!;
}

export const GREEN_CODEHASH = stagedRecord().green.codehash;
