/**
 * Release records on disk: `<recordsDir>/<chainId>/<release>/release.json`,
 * with reports and proposals beside it. Users commit this folder to git.
 *
 * Every read is validated against the schema, and a record's `id` and
 * `chainId` must be its folder's; a corrupt or hand-edited file is reported
 * with its path and field and is never overwritten: every read-modify-write
 * first checks each step the package knows (release/step-catalogue.ts). Every write
 * is atomic (temp file, fsync, rename) and made under an inter-process lock,
 * so two commands racing on one chain cannot lose each other's changes.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";

import { MultiProcessMutex, MultiProcessMutexTimeoutError } from "@nomicfoundation/hardhat-utils/synchronization";
import type { ZodType } from "zod";

import { BlueGreenError } from "../errors.js";
import {
  RECORD_SCHEMA_VERSION,
  RELEASE_ID_PATTERN,
  RESERVED_IDS,
  type ReleaseRecord,
  releaseRecordSchema,
  sortKeys,
} from "./record.js";
import { findUnreadableStep, unreadableStepError } from "./step-catalogue.js";

const RECORD_FILE = "release.json";
const LOCK_TIMEOUT_MS = 30_000;

export class ReleaseStore {
  constructor(public readonly root: string) {}

  chainDir(chainId: number): string {
    return path.join(this.root, String(chainId));
  }

  releaseDir(chainId: number, id: string): string {
    assertReleaseId(id);
    return path.join(this.chainDir(chainId), id);
  }

  recordPath(chainId: number, id: string): string {
    return path.join(this.releaseDir(chainId, id), RECORD_FILE);
  }

  /**
   * Reads and validates a record; undefined if it does not exist. Its `id`
   * and `chainId` must be those of its folder. Its steps are left to the
   * modules that own them (see `readIntact` to check them all).
   */
  async read(chainId: number, id: string): Promise<ReleaseRecord | undefined> {
    const file = this.recordPath(chainId, id);
    const record = await readValidated(file, releaseRecordSchema, checkSchemaVersion);
    if (record !== undefined) checkFolder(file, record, chainId, id);
    return record;
  }

  /**
   * Like `read`, and every step the package knows must parse too: the
   * record as a command that rewrites it must find it. A damaged step is a
   * BG_RECORD_STEP_INVALID naming the file, the field and the fix.
   */
  async readIntact(chainId: number, id: string): Promise<ReleaseRecord | undefined> {
    const record = await this.read(chainId, id);
    if (record === undefined) return undefined;
    const bad = findUnreadableStep(record);
    if (bad !== undefined) throw unreadableStepError(record, bad, relativePath(this.recordPath(chainId, id)));
    return record;
  }

  /**
   * Every release folder of a chain, each either its record or the precise
   * error that stops it being read, so one damaged file never hides the
   * others. Sorted by id. See `ReleaseEntry`.
   */
  async list(chainId: number): Promise<ReleaseEntry[]> {
    const entries: ReleaseEntry[] = [];
    for (const id of await this.listIds(chainId)) {
      const file = relativePath(this.recordPath(chainId, id));
      let record: ReleaseRecord | undefined;
      try {
        record = await this.read(chainId, id);
      } catch (error) {
        if (!BlueGreenError.is(error)) throw error;
        entries.push({ id, status: "unreadable", file, part: "release.json", error });
        continue;
      }
      if (record === undefined) {
        entries.push({ id, status: "missing", file });
        continue;
      }
      const bad = findUnreadableStep(record);
      if (bad !== undefined) {
        entries.push({ id, status: "unreadable", file, part: bad.field, error: unreadableStepError(record, bad, file), record });
        continue;
      }
      entries.push({ id, status: "ok", file, record });
    }
    return entries;
  }

  /** Like `read`, but a missing record is a user error that lists the ones there are. */
  async get(chainId: number, id: string): Promise<ReleaseRecord> {
    const record = await this.read(chainId, id);
    if (record !== undefined) return record;
    const ids = await this.listIds(chainId);
    throw new BlueGreenError(
      "BG_RECORD_NOT_FOUND",
      `No release "${id}" on chain ${chainId} in ${path.relative(process.cwd(), this.chainDir(chainId)) || "."}. ` +
        (ids.length > 0
          ? `Known releases: ${ids.join(", ")}.`
          : "Stage one first with `npx hardhat bg:stage --network <net> --proxy <address> --contract <Name>`."),
    );
  }

  /** Ids of the releases recorded for a chain, sorted. */
  async listIds(chainId: number): Promise<string[]> {
    const entries = await readdir(this.chainDir(chainId), { withFileTypes: true }).catch(
      (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return [];
        throw e;
      },
    );
    return entries
      .filter((e) => e.isDirectory() && RELEASE_ID_PATTERN.test(e.name) && !RESERVED_IDS.includes(e.name))
      .map((e) => e.name)
      .sort();
  }

  /** Chain ids that have a folder in the store. */
  async listChains(): Promise<number[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
      .map((e) => Number(e.name))
      .sort((a, b) => a - b);
  }

  /**
   * Reads, changes and writes one record under the chain's lock. `change`
   * gets the current record (undefined if there is none yet) and returns the
   * new one, or `undefined` to leave the file untouched. The result is
   * validated before anything is written.
   */
  async update(
    chainId: number,
    id: string,
    change: (current: ReleaseRecord | undefined) => Promise<ReleaseRecord | undefined> | ReleaseRecord | undefined,
  ): Promise<ReleaseRecord | undefined> {
    return this.withLock(chainId, async () => {
      const file = this.recordPath(chainId, id);
      // A file that does not parse, sits in another release's folder, or has a damaged step is
      // refused here, before `change` runs: nothing rewrites a record it could not read whole.
      const current = await this.readIntact(chainId, id);
      const next = await change(current);
      if (next === undefined) return current;
      const parsed = releaseRecordSchema.safeParse(next);
      if (!parsed.success) {
        // A bug in a step, not a user error: refuse to write a record we could not read back.
        throw new Error(`refusing to write an invalid release record ${file}: ${parsed.error.message}`);
      }
      if (parsed.data.id !== id || parsed.data.chainId !== chainId) {
        throw new Error(`refusing to write release "${parsed.data.id}" of chain ${parsed.data.chainId} into ${file}`);
      }
      await writeJsonAtomic(file, parsed.data);
      return parsed.data;
    });
  }

  /** Writes a file (a report, a proposal) into the release folder, atomically and under the lock. */
  async writeReleaseFile(chainId: number, id: string, name: string, content: string | object): Promise<string> {
    const file = path.join(this.releaseDir(chainId, id), name);
    await this.withLock(chainId, () =>
      typeof content === "string" ? writeTextAtomic(file, content) : writeJsonAtomic(file, content),
    );
    return file;
  }

  /** Reads and validates a JSON file of a release folder; undefined if missing. */
  async readReleaseFile<T>(chainId: number, id: string, name: string, schema: ZodType<T>): Promise<T | undefined> {
    return readValidated(path.join(this.releaseDir(chainId, id), name), schema);
  }

  /** Reads and validates a JSON file of a chain folder (e.g. the switch deployment); undefined if missing. */
  async readChainFile<T>(chainId: number, name: string, schema: ZodType<T>): Promise<T | undefined> {
    return readValidated(path.join(this.chainDir(chainId), name), schema);
  }

  /** Writes a JSON file of a chain folder atomically under the lock. */
  async writeChainFile(chainId: number, name: string, content: object): Promise<string> {
    const file = path.join(this.chainDir(chainId), name);
    await this.withLock(chainId, () => writeJsonAtomic(file, content));
    return file;
  }

  /** Removes a file from a release folder under the lock (used for finished journals). */
  async removeReleaseFile(chainId: number, id: string, name: string): Promise<void> {
    await this.withLock(chainId, () => rm(path.join(this.releaseDir(chainId, id), name), { force: true }));
  }

  /** Runs `fn` holding the chain's inter-process lock. Not reentrant. */
  async withLock<T>(chainId: number, fn: () => Promise<T>): Promise<T> {
    const dir = this.chainDir(chainId);
    await mkdir(dir, { recursive: true });
    const mutex = new MultiProcessMutex(path.join(dir, ".lock"), LOCK_TIMEOUT_MS);
    try {
      return await mutex.use(fn);
    } catch (error) {
      if (error instanceof MultiProcessMutexTimeoutError) {
        throw new BlueGreenError(
          "BG_RECORD_LOCKED",
          `Another bluegreen command holds the lock on ${dir} for over ${LOCK_TIMEOUT_MS / 1000}s. ` +
            "Wait for it to finish; if no such command is running, delete the .lock file in that folder.",
          { cause: error },
        );
      }
      throw error;
    }
  }
}

export function assertReleaseId(id: string): void {
  if (RESERVED_IDS.includes(id)) {
    throw new BlueGreenError("BG_RECORD_ID_INVALID", `"${id}" is reserved for bluegreen's own folders; choose another release id.`);
  }
  if (!RELEASE_ID_PATTERN.test(id)) {
    throw new BlueGreenError(
      "BG_RECORD_ID_INVALID",
      `"${id}" is not a valid release id. Use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. "vault-v2").`,
    );
  }
}

/**
 * One release of a chain as `ReleaseStore.list` finds it:
 * - `ok`: the record, every known step readable;
 * - `unreadable`: `error` says what is wrong, where and how to fix it; `part`
 *   is "release.json" when the file itself cannot be used, or the field of
 *   the one damaged step (e.g. "steps.gates.evidenceHash"), in which case
 *   `record` holds the rest of the record;
 * - `missing`: a release folder without release.json (e.g. an interrupted stage).
 */
export type ReleaseEntry =
  | { id: string; status: "ok"; file: string; record: ReleaseRecord }
  | { id: string; status: "unreadable"; file: string; part: string; error: BlueGreenError; record?: ReleaseRecord }
  | { id: string; status: "missing"; file: string };

/** A record must describe the release of its folder: otherwise a command would write into another one. */
function checkFolder(file: string, record: ReleaseRecord, chainId: number, id: string): void {
  if (record.id === id && record.chainId === chainId) return;
  const rel = relativePath(file);
  const wrong = [
    ...(record.id !== id ? [`"id" is "${record.id}" but its folder is release "${id}"`] : []),
    ...(record.chainId !== chainId ? [`"chainId" is ${record.chainId} but its folder is chain ${chainId}`] : []),
  ];
  throw new BlueGreenError(
    "BG_RECORD_FOLDER_MISMATCH",
    `${rel} does not belong in its folder: ${wrong.join(", and ")}. It was left untouched, and no command writes it until this is fixed. ` +
      `Restore it from git (git checkout -- ${rel}), or set ${record.id !== id ? `"id" to "${id}"` : ""}${record.id !== id && record.chainId !== chainId ? " and " : ""}${record.chainId !== chainId ? `"chainId" to ${chainId}` : ""} if the file is in the right folder.`,
  );
}

function relativePath(file: string): string {
  return path.relative(process.cwd(), file) || file;
}

function checkSchemaVersion(file: string, raw: unknown): void {
  const version = (raw as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version === "number" && version > RECORD_SCHEMA_VERSION) {
    throw new BlueGreenError(
      "BG_RECORD_SCHEMA_NEWER",
      `${file} has schemaVersion ${version}, newer than this hardhat-bluegreen understands (${RECORD_SCHEMA_VERSION}). Upgrade hardhat-bluegreen.`,
    );
  }
}

/**
 * Reads a JSON file and validates it. Missing file: undefined. Anything else
 * wrong: an error naming the file and the first offending field.
 */
export async function readValidated<T>(
  file: string,
  schema: ZodType<T>,
  precheck?: (file: string, raw: unknown) => void,
): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new BlueGreenError("BG_RECORD_UNREADABLE", `Cannot read ${file}: ${(e as Error).message}. Check its permissions.`);
  }
  const rel = relativePath(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BlueGreenError(
      "BG_RECORD_INVALID",
      `${rel} is not valid JSON (${(e as Error).message}). It was left untouched: restore it from git (git checkout -- ${rel}) or fix it by hand.`,
    );
  }
  precheck?.(rel, raw);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    throw new BlueGreenError(
      "BG_RECORD_INVALID",
      `${rel} is invalid: field "${field}" ${lowerFirst(issue.message)}. It was left untouched: restore it from git (git checkout -- ${rel}) or fix that field.`,
    );
  }
  return parsed.data;
}

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s;
}

/** Stable, readable JSON: sorted keys, two-space indent, trailing newline. */
export function formatJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) + "\n";
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeTextAtomic(file, formatJson(value));
}

/**
 * Atomic replace: write a sibling temp file, flush it to disk, then rename it
 * over the target. Readers see the old file or the new one, never half of one.
 */
export async function writeTextAtomic(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const handle = await open(tmp, "w");
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function fileExists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
