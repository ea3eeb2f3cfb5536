/**
 * The replay's source cache: answers to JSON-RPC requests that cannot change
 * once the blocks they name exist (a block by number, a receipt by hash, an
 * account's code at a block...). With the fork pinned to a block, a second
 * replay of the same range is served from here and EDR's own fork cache, and
 * makes no request to the source at all.
 *
 * One append-only JSON Lines file per source URL (named by the URL's hash,
 * so API keys in URLs never reach the disk). A line cut short by a crash is
 * skipped when the file is read back.
 *
 * A large answer (a block with its transactions, a block's receipts) is kept
 * in a file of its own beside it, named by the hash of its key, written
 * whole (temporary file, then rename) before its line names it, and read
 * back when asked for: the cache does not hold the range in memory, so a
 * long replay's memory does not grow with it. Processes sharing the folder
 * (shards on one machine) write the same content under the same name.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

/** A cached answer: a result, or an error that will not change (a method the node lacks). */
export type CachedAnswer = { result: unknown } | { error: { code: number; message: string } };

/** Answers whose JSON is at least this long live in a file of their own, not in memory. */
const LARGE_ANSWER = 4096;

/** An answer in memory, or the name of the file that holds it. */
type Entry = CachedAnswer | { file: string };

export class RpcCache {
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string | undefined,
    private readonly entries: Map<string, Entry>,
  ) {}

  /** A cache kept in memory only (nothing survives the process). */
  static memory(): RpcCache {
    return new RpcCache(undefined, new Map());
  }

  /** Opens (or creates) the cache of one source URL under `dir`. */
  static async open(dir: string, sourceUrl: string): Promise<RpcCache> {
    const file = path.join(dir, `${sourceNamespace(sourceUrl)}.jsonl`);
    await mkdir(dir, { recursive: true });
    const entries = new Map<string, Entry>();
    const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return "";
      throw e;
    });
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        const { k, a, f } = JSON.parse(line) as { k: string; a?: CachedAnswer; f?: string };
        if (typeof k !== "string") continue;
        if (typeof f === "string" && /^[0-9a-f]{64}\.json$/.test(f)) entries.set(k, { file: f });
        else if (a !== null && typeof a === "object") entries.set(k, a);
      } catch {
        // A line cut short by a crash: the request is simply asked again.
      }
    }
    return new RpcCache(file, entries);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedAnswer | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || !("file" in entry)) return entry;
    try {
      return JSON.parse(readFileSync(path.join(this.largeDir(), entry.file), "utf8")) as CachedAnswer;
    } catch {
      // Removed or damaged by hand: asked again.
      this.entries.delete(key);
      return undefined;
    }
  }

  /** Stores an answer; the append to disk is queued so lines never interleave. */
  put(key: string, answer: CachedAnswer): void {
    if (this.entries.has(key)) return;
    this.replace(key, answer);
  }

  /** Stores an answer over an older one (the pinned head only: every other answer is final). The last line read wins. */
  replace(key: string, answer: CachedAnswer): void {
    this.entries.set(key, answer);
    const file = this.file;
    if (file === undefined) return;
    const json = JSON.stringify(answer);
    if (json.length < LARGE_ANSWER) {
      this.append(file, JSON.stringify({ k: key, a: answer }) + "\n");
      return;
    }
    const name = createHash("sha256").update(key).digest("hex") + ".json";
    const dir = this.largeDir();
    const target = path.join(dir, name);
    this.queue = this.queue
      .then(async () => {
        await mkdir(dir, { recursive: true });
        const tmp = `${target}.${process.pid}.tmp`;
        await writeFile(tmp, json, "utf8");
        await rename(tmp, target);
        await appendFile(file, JSON.stringify({ k: key, f: name }) + "\n", "utf8");
        // Written: memory keeps only the name (unless a newer answer replaced it meanwhile).
        if (this.entries.get(key) === answer) this.entries.set(key, { file: name });
      })
      .catch(() => {
        // A cache that cannot be written only costs requests next time; the answer stays in memory.
      });
  }

  /** Waits for pending appends. */
  async flush(): Promise<void> {
    await this.queue;
  }

  private append(file: string, line: string): void {
    this.queue = this.queue.then(() => appendFile(file, line, "utf8")).catch(() => {
      // A cache that cannot be written only costs requests next time.
    });
  }

  private largeDir(): string {
    return this.file!.replace(/\.jsonl$/, ".answers");
  }
}

/** The file name a source URL's cache lives under. */
export function sourceNamespace(url: string): string {
  return createHash("sha256").update(url).digest("hex").slice(0, 24);
}

const HEX_NUMBER = /^0x[0-9a-fA-F]+$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;

function isPinnedBlock(tag: unknown): boolean {
  // A hex block number or a block hash (EIP-1898 strings).
  if (typeof tag === "string") return HEX_NUMBER.test(tag);
  if (tag !== null && typeof tag === "object") {
    const t = tag as { blockNumber?: unknown; blockHash?: unknown };
    return (typeof t.blockNumber === "string" && HEX_NUMBER.test(t.blockNumber)) || (typeof t.blockHash === "string" && HASH.test(t.blockHash));
  }
  if (typeof tag === "number") return true;
  return false;
}

function isPinnedRange(filter: unknown): boolean {
  if (filter === null || typeof filter !== "object") return false;
  const f = filter as { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown };
  if (typeof f.blockHash === "string") return HASH.test(f.blockHash);
  const pinned = (v: unknown) => (typeof v === "string" && HEX_NUMBER.test(v)) || typeof v === "number";
  return pinned(f.fromBlock) && pinned(f.toBlock);
}

/**
 * The cache key of a request whose answer cannot change, or undefined when
 * it can (anything about "latest", "pending", ...). `pinHead` also caches
 * `eth_blockNumber`: the fork front pins the head EDR sees to the one of the
 * first run, which is all EDR uses it for once the fork block is fixed.
 */
export function cacheKey(method: string, params: unknown[], options: { pinHead?: boolean } = {}): string | undefined {
  let cacheable = false;
  switch (method) {
    case "eth_chainId":
    case "net_version":
      cacheable = true;
      break;
    case "eth_blockNumber":
      cacheable = options.pinHead === true;
      break;
    case "eth_getBlockByNumber":
    case "eth_getBlockReceipts":
    case "debug_traceBlockByNumber":
    case "trace_block":
    case "eth_getUncleCountByBlockNumber":
    case "eth_getBlockTransactionCountByNumber":
      cacheable = isPinnedBlock(params[0]);
      break;
    case "eth_getBlockByHash":
    case "eth_getTransactionByHash":
    case "eth_getTransactionReceipt":
    case "debug_traceTransaction":
    case "trace_transaction":
      cacheable = typeof params[0] === "string" && HASH.test(params[0]);
      break;
    case "eth_getCode":
    case "eth_getBalance":
    case "eth_getTransactionCount":
      cacheable = isPinnedBlock(params[1]);
      break;
    case "eth_getStorageAt":
    case "eth_getProof":
      cacheable = isPinnedBlock(params[2]);
      break;
    case "eth_call":
      cacheable = isPinnedBlock(params[1]) && params.length <= 2;
      break;
    case "eth_getLogs":
    case "trace_filter":
      cacheable = isPinnedRange(params[0]);
      break;
    default:
      cacheable = false;
  }
  if (!cacheable) return undefined;
  return createHash("sha256").update(JSON.stringify([method, params])).digest("hex");
}

/** True for errors that say a node lacks a method: safe to cache as a capability fact. */
export function isUnsupportedMethodError(error: { code?: number; message?: string }): boolean {
  if (error.code === -32601 || error.code === -32004) return true;
  return /method\b.*\b(not supported|not found|does not exist|not available|unsupported)|unsupported method|unknown method/i.test(
    error.message ?? "",
  );
}
