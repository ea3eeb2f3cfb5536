/**
 * Block prestate traces, the prefetch's main path: `debug_traceBlockByNumber`
 * with the prestate tracer, in JSON-RPC batches, reduced to the state before
 * each block (the first value its transactions saw of each key).
 *
 * Tracing is the longest wait of a cold replay against a remote source (the
 * source re-executes every block), so it starts as soon as discovery has
 * read a batch of blocks, while discovery goes on and the forks open; the
 * prefetch takes the results when it knows which blocks its segments need,
 * and traces then whatever was not started early.
 */
import { JsonRpcError } from "../chain/json-rpc.js";
import { quantity } from "../common/format.js";
import type { RpcBlock } from "./chain-data.js";
import { cacheKey, isUnsupportedMethodError } from "./rpc-cache.js";
import type { BlockPrestate, SourceCache, StateFile } from "./source-cache.js";
import type { SourceRpc } from "./source-rpc.js";

const TRACE_BATCH = 10;
/** Trace batches in flight at once: latency, not the source's work, is what they hide. */
const TRACE_PARALLEL = 4;

const PRESTATE_TRACER = { tracer: "prestateTracer", tracerConfig: { diffMode: false, disableCode: false } };

export class PrestateTraces {
  private readonly results = new Map<number, BlockPrestate>();
  private readonly started = new Set<number>();
  private readonly runs: Array<Promise<void>> = [];
  /** Why the source cannot trace, once its first answer said so. */
  private unsupported: string | undefined;
  /** Whether any block was traced by the source (a later failure is one block's, not the tracer's absence). */
  private tracedAny = false;
  cachedBlocks = 0;
  /**
   * Its own client, which keeps no raw answer: a block's prestate trace
   * repeats every contract's code for each transaction (hundreds of kB per
   * block), so only the reduced prestate is kept, in the shared source cache
   * or else in the answer cache, and memory does not grow with the range.
   */
  private readonly tracer: SourceRpc;
  private readonly codes = new Map<string, string>();

  constructor(
    source: SourceRpc,
    private readonly chainId: number,
    private readonly cache?: SourceCache,
  ) {
    this.tracer = source.derive({ storeAnswers: false });
  }

  /** Calls sent to the source for the traces. */
  get requests(): number {
    return this.tracer.stats.calls;
  }

  /** Starts on these blocks (those not started yet); returns at once. */
  start(headers: RpcBlock[]): void {
    const fresh = headers.filter((h) => !this.started.has(Number(BigInt(h.number))));
    for (const h of fresh) this.started.add(Number(BigInt(h.number)));
    if (fresh.length === 0 || this.unsupported !== undefined) return;
    const run = this.trace(fresh);
    // Failures surface from `prestates`, which awaits every run.
    run.catch(() => undefined);
    this.runs.push(run);
  }

  /** Lets go of the prestates once the prefetch has taken what it needs (the replay keeps the object while it runs). */
  forget(): void {
    this.results.clear();
    this.codes.clear();
  }

  /**
   * The prestates of these blocks (a block the source could not trace is
   * missing), or the reason the source has no prestate tracer.
   */
  async prestates(headers: Map<number, RpcBlock>, numbers: number[]): Promise<Map<number, BlockPrestate> | { unsupported: string }> {
    this.start(numbers.map((n) => headers.get(n)!));
    await Promise.all(this.runs);
    if (this.unsupported !== undefined) return { unsupported: this.unsupported };
    const out = new Map<number, BlockPrestate>();
    for (const n of numbers) {
      const p = this.results.get(n);
      if (p !== undefined) out.set(n, p);
    }
    return out;
  }

  private async trace(headers: RpcBlock[]): Promise<void> {
    const toTrace: RpcBlock[] = [];
    for (const header of headers) {
      const n = Number(BigInt(header.number));
      const cached = await this.readKept(n, header.hash);
      if (cached !== undefined) {
        this.results.set(n, cached);
        this.cachedBlocks++;
      } else if (header.transactions.length === 0) {
        this.results.set(n, { accounts: {}, balanceChanged: outsideTransactions(header) });
      } else toTrace.push(header);
    }
    const chunks: RpcBlock[][] = [];
    for (let i = 0; i < toTrace.length; i += TRACE_BATCH) chunks.push(toTrace.slice(i, i + TRACE_BATCH));
    // Until one block is traced, the first batch goes alone: it tells whether the source can trace at all.
    let next = 0;
    if (!this.tracedAny && chunks.length > 0) await this.traceChunk(chunks[next++]!);
    while (next < chunks.length && this.unsupported === undefined) {
      await Promise.all(chunks.slice(next, next + TRACE_PARALLEL).map((c) => this.traceChunk(c)));
      next += TRACE_PARALLEL;
    }
  }

  private async traceChunk(chunk: RpcBlock[]): Promise<void> {
    const calls = chunk.map((h) => ({ method: "debug_traceBlockByNumber", params: [quantity(BigInt(h.number)), PRESTATE_TRACER] }));
    const results = await this.tracer.batch(calls);
    results.forEach((result, j) => {
      // A capability fact, kept as any client keeps it (a warm run does not ask again).
      if (result instanceof JsonRpcError && isUnsupportedMethodError(result)) {
        this.tracer.cache.put(cacheKey(calls[j]!.method, calls[j]!.params)!, { error: { code: result.code, message: result.message } });
      }
    });
    for (let j = 0; j < chunk.length; j++) {
      const header = chunk[j]!;
      const result = results[j];
      const prestate = result instanceof JsonRpcError ? undefined : reducePrestate(result, header, this.codes);
      if (prestate === undefined) {
        if (!this.tracedAny && j === 0) {
          this.unsupported =
            result instanceof JsonRpcError
              ? `the source has no prestate tracer (${isUnsupportedMethodError(result) ? "debug_traceBlockByNumber is not supported" : result.message})`
              : "the source's prestate trace has an unknown shape";
          return;
        }
        // One block the source cannot trace: the forks read its keys lazily.
        continue;
      }
      this.tracedAny = true;
      const n = Number(BigInt(header.number));
      this.results.set(n, prestate);
      await this.keep(n, header.hash, prestate);
    }
  }

  private async readKept(number: number, hash: string): Promise<BlockPrestate | undefined> {
    if (this.cache !== undefined) return this.cache.readPrestate(this.chainId, { number, hash });
    const hit = this.tracer.cache.get(answerKey(this.chainId, hash));
    return hit !== undefined && "result" in hit ? (hit.result as BlockPrestate) : undefined;
  }

  private async keep(number: number, hash: string, prestate: BlockPrestate): Promise<void> {
    if (this.cache !== undefined) await this.cache.writePrestate(this.chainId, { number, hash }, prestate);
    else this.tracer.cache.put(answerKey(this.chainId, hash), { result: prestate });
  }
}

/** Where the answer cache keeps a block's reduced prestate (by block hash: a reorged block is traced again). */
function answerKey(chainId: number, blockHash: string): string {
  return `prestate:${chainId}:${blockHash.toLowerCase()}`;
}

/** Balances a block changes outside its transactions: the coinbase's reward, withdrawals. */
function outsideTransactions(header: RpcBlock): string[] {
  const withdrawals = ((header as { withdrawals?: Array<{ address: string }> }).withdrawals ?? []).map((w) => w.address.toLowerCase());
  return [header.miner.toLowerCase(), ...withdrawals];
}

/** The first value each of the block's transactions saw of each key: the state before the block. */
export function reducePrestate(result: unknown, header: RpcBlock, codes?: Map<string, string>): BlockPrestate | undefined {
  try {
    return reduce(result, header, codes);
  } catch {
    // A value that is not a hex quantity: the block counts as untraced, its keys are read by the forks.
    return undefined;
  }
}

function reduce(result: unknown, header: RpcBlock, codes?: Map<string, string>): BlockPrestate | undefined {
  if (!Array.isArray(result)) return undefined;
  const accounts: StateFile = {};
  for (const entry of result as Array<{ result?: unknown }>) {
    const pre = entry?.result;
    if (pre === null || typeof pre !== "object") return undefined;
    for (const [rawAddress, raw] of Object.entries(pre as Record<string, { balance?: string; nonce?: number | string; code?: string; storage?: Record<string, string> }>)) {
      if (raw === null || typeof raw !== "object") return undefined;
      const address = rawAddress.toLowerCase();
      let account = accounts[address];
      if (account === undefined) {
        // Omitted fields are empty (the tracer leaves out a zero nonce, empty code and storage).
        account = accounts[address] = {
          ...(raw.balance !== undefined ? { balance: quantity(BigInt(raw.balance)) } : {}),
          nonce: quantity(BigInt(raw.nonce ?? 0)),
          code: interned(raw.code ?? "0x", codes),
        };
      }
      for (const [slot, value] of Object.entries(raw.storage ?? {})) (account.storage ??= {})[slotKey(slot)] ??= word(value);
    }
  }
  return { accounts, balanceChanged: outsideTransactions(header) };
}

/** One copy of each contract's code however many blocks' prestates hold it (a busy contract is in every block). */
function interned(code: string, codes: Map<string, string> | undefined): string {
  if (codes === undefined || code.length < 3) return code;
  const known = codes.get(code);
  if (known !== undefined) return known;
  codes.set(code, code);
  return code;
}

export function slotKey(slot: unknown): string {
  try {
    return "0x" + BigInt(slot as string).toString(16).padStart(64, "0");
  } catch {
    return String(slot);
  }
}

export function word(value: string): string {
  return "0x" + BigInt(value).toString(16).padStart(64, "0");
}
