/**
 * The shared source cache: state read from the source chain, kept on disk
 * for every worker, shard and later run of the same chain.
 *
 * Content-addressed by (chain id, block, key): one file per block, named by
 * the block's number and hash, so two chains that share an id (two local
 * 31337 nodes, a re-started one) never read each other's state. It holds
 * only answers that cannot change: state at a numbered block that exists.
 *
 * - `prestate/<n>-<hash>.json`: what block n's transactions read, as it was
 *   before the block (the first value each transaction of the block saw),
 *   from the source's prestate traces;
 * - `state/<n>-<hash>.json`: state at the end of block n that a fork read
 *   from the source (block n is then a fork block), merged over runs.
 *
 * Files are written whole to a temporary name and renamed over the old one,
 * so a reader never sees half a file, whatever other runs write at the same
 * time; concurrent writers of the same `state/` file may each drop the
 * other's new entries, which only costs those requests again. The cache is
 * bounded: past `maxBytes`, the files read least recently go first (a read
 * touches the file's mtime).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";

/** An account as the cache holds it: hex quantities, code, and 32-byte storage words by 32-byte slot. */
export interface CachedAccount {
  balance?: string;
  nonce?: string;
  code?: string;
  storage?: Record<string, string>;
}

export type StateFile = Record<string, CachedAccount>;

/** What a block's prestate file holds: the state its transactions read, and what changed outside them. */
export interface BlockPrestate {
  accounts: StateFile;
  /** Accounts whose balance changed outside any transaction (coinbase, withdrawals). */
  balanceChanged: string[];
}

export interface CacheUsage {
  files: number;
  bytes: number;
}

export const DEFAULT_SOURCE_CACHE_BYTES = 1024 * 1024 * 1024;

export class SourceCache {
  private written = 0;

  constructor(
    /** Root folder, e.g. `<cache>/bluegreen-source`. */
    readonly dir: string,
    readonly maxBytes: number = DEFAULT_SOURCE_CACHE_BYTES,
  ) {}

  private file(chainId: number, kind: "prestate" | "state", block: { number: number; hash: string }): string {
    return path.join(this.dir, String(chainId), kind, `${block.number}-${block.hash.toLowerCase()}.json`);
  }

  async readPrestate(chainId: number, block: { number: number; hash: string }): Promise<BlockPrestate | undefined> {
    return (await this.read(this.file(chainId, "prestate", block))) as BlockPrestate | undefined;
  }

  async writePrestate(chainId: number, block: { number: number; hash: string }, prestate: BlockPrestate): Promise<void> {
    await this.write(this.file(chainId, "prestate", block), prestate);
  }

  async readState(chainId: number, block: { number: number; hash: string }): Promise<StateFile | undefined> {
    return (await this.read(this.file(chainId, "state", block))) as StateFile | undefined;
  }

  /** Adds accounts and slots to the block's state file (what is there stays: state at a block never changes). */
  async mergeState(chainId: number, block: { number: number; hash: string }, add: StateFile): Promise<void> {
    if (Object.keys(add).length === 0) return;
    const file = this.file(chainId, "state", block);
    const merged = ((await this.read(file, false)) as StateFile | undefined) ?? {};
    for (const [address, account] of Object.entries(add)) {
      const into = (merged[address] ??= {});
      if (account.balance !== undefined) into.balance ??= account.balance;
      if (account.nonce !== undefined) into.nonce ??= account.nonce;
      if (account.code !== undefined) into.code ??= account.code;
      if (account.storage !== undefined) into.storage = { ...account.storage, ...into.storage };
    }
    await this.write(file, merged);
  }

  private async read(file: string, touch = true): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      return undefined;
    }
    try {
      const doc = JSON.parse(text) as unknown;
      if (touch) {
        const now = new Date();
        await utimes(file, now, now).catch(() => undefined);
      }
      return doc !== null && typeof doc === "object" ? doc : undefined;
    } catch {
      // Not written by this cache (renames are atomic): ignore it, it will be written again.
      return undefined;
    }
  }

  private async write(file: string, doc: unknown): Promise<void> {
    try {
      await mkdir(path.dirname(file), { recursive: true });
      const temp = `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
      const text = JSON.stringify(doc);
      await writeFile(temp, text, "utf8");
      await rename(temp, file);
      this.written += text.length;
      // Checking the bound walks the folder: do it once per few MB written, not per file.
      if (this.written > Math.min(this.maxBytes / 8, 16 * 1024 * 1024)) {
        this.written = 0;
        await this.prune({ maxBytes: this.maxBytes });
      }
    } catch {
      // A cache that cannot be written only costs requests next time.
    }
  }

  /** Files and bytes the cache holds. */
  async usage(): Promise<CacheUsage> {
    const files = await this.list();
    return { files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) };
  }

  /**
   * Removes files until the cache holds at most `maxBytes`, least recently
   * read first; `all` empties it. Returns what was removed and what is left.
   */
  async prune(options: { maxBytes?: number; all?: boolean }): Promise<{ removed: CacheUsage; left: CacheUsage }> {
    const files = await this.list();
    let total = files.reduce((n, f) => n + f.size, 0);
    const limit = options.all === true ? 0 : (options.maxBytes ?? this.maxBytes);
    const removed: CacheUsage = { files: 0, bytes: 0 };
    // Oldest first; a stale temporary file (a writer that died) goes whatever its age.
    files.sort((a, b) => Number(b.temp) - Number(a.temp) || a.mtimeMs - b.mtimeMs);
    for (const f of files) {
      if (total <= limit && !(f.temp && Date.now() - f.mtimeMs > 60_000)) continue;
      await rm(f.path, { force: true });
      total -= f.size;
      removed.files++;
      removed.bytes += f.size;
    }
    return { removed, left: { files: files.length - removed.files, bytes: total } };
  }

  private async list(): Promise<Array<{ path: string; size: number; mtimeMs: number; temp: boolean }>> {
    const out: Array<{ path: string; size: number; mtimeMs: number; temp: boolean }> = [];
    const walk = async (dir: string) => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) {
          const s = await stat(full).catch(() => undefined);
          if (s !== undefined) out.push({ path: full, size: s.size, mtimeMs: s.mtimeMs, temp: entry.name.endsWith(".tmp") });
        }
      }
    };
    await walk(this.dir);
    return out;
  }
}
