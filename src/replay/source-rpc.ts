/**
 * The replay's only way to the source chain: the chain's JSON-RPC client
 * (retries, batches) with the source cache in front, and a count of the
 * requests that really went out (the benchmark reports them per replayed
 * transaction).
 */
import { JsonRpcClient, JsonRpcError, type RpcCall } from "../chain/json-rpc.js";
import { cacheKey, type CachedAnswer, isUnsupportedMethodError, RpcCache } from "./rpc-cache.js";

export interface SourceRpcOptions {
  url: string;
  cache?: RpcCache;
  timeoutMs?: number;
  /** Retries after the first attempt. */
  retries?: number;
  /** First backoff delay; doubles each retry (with jitter), or follows Retry-After. */
  baseDelayMs?: number;
  headers?: Record<string, string>;
  /** Cache `eth_blockNumber` too (the fork front does: see `cacheKey`). */
  pinHead?: boolean;
  /** False: read the cache but add nothing to it (the prefetch keeps its answers in the shared source cache). */
  storeAnswers?: boolean;
}

export interface SourceStats {
  /** JSON-RPC calls sent to the source (a batch of 10 counts 10). */
  calls: number;
  /** HTTP requests sent to the source. */
  httpRequests: number;
  /** Calls answered from the cache. */
  cacheHits: number;
  /** Attempts that were retried. */
  retries: number;
}

const GIVE_UP_HINT =
  "Check that the node is up and not rate-limiting you, then run the replay again (a re-run reuses what was already fetched); " +
  "or raise blueGreen.replay.rpc.retries / rpc.timeoutMs.";

export class SourceRpc {
  readonly cache: RpcCache;
  private readonly client: JsonRpcClient;
  private cacheHits = 0;

  constructor(private readonly options: SourceRpcOptions) {
    this.cache = options.cache ?? RpcCache.memory();
    this.client = new JsonRpcClient({
      url: options.url,
      timeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 5,
      baseDelayMs: options.baseDelayMs ?? 250,
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
      name: "source RPC",
      hint: GIVE_UP_HINT,
    });
  }

  get url(): string {
    return this.options.url;
  }

  get stats(): SourceStats {
    const { calls, httpRequests, retries } = this.client.stats;
    return { calls, httpRequests, cacheHits: this.cacheHits, retries };
  }

  /** Another client of the same source and cache, with some options changed (its own stats). */
  derive(overrides: Partial<Omit<SourceRpcOptions, "url" | "cache">>): SourceRpc {
    return new SourceRpc({ ...this.options, ...overrides, cache: this.cache });
  }

  /** EIP-1193 `request`: throws `JsonRpcError` for JSON-RPC errors. */
  async request(args: { method: string; params?: unknown[] | object }): Promise<unknown> {
    const params = Array.isArray(args.params) ? args.params : args.params === undefined ? [] : [args.params];
    const [result] = await this.batch([{ method: args.method, params }]);
    if (result instanceof JsonRpcError) throw result;
    return result;
  }

  /** Sends many calls, batched; each result is a value or a `JsonRpcError`. */
  async batch(calls: RpcCall[]): Promise<Array<unknown | JsonRpcError>> {
    const results: unknown[] = new Array(calls.length);
    const keys = calls.map((c) => cacheKey(c.method, c.params, { pinHead: this.options.pinHead }));
    const missing: number[] = [];
    calls.forEach((_, i) => {
      const key = keys[i];
      const hit = key !== undefined ? this.cache.get(key) : undefined;
      if (hit !== undefined) {
        this.cacheHits++;
        results[i] = "result" in hit ? hit.result : new JsonRpcError(hit.error.message, hit.error.code);
      } else missing.push(i);
    });
    if (missing.length === 0) return results;
    const answers = await this.client.batch(missing.map((i) => calls[i]!));
    missing.forEach((i, j) => {
      const answer = answers[j];
      results[i] = answer;
      const key = keys[i];
      if (key === undefined || this.options.storeAnswers === false) return;
      if (answer instanceof JsonRpcError) {
        if (isUnsupportedMethodError(answer)) this.cache.put(key, { error: { code: answer.code, message: answer.message } } satisfies CachedAnswer);
      } else if (answer !== null && answer !== undefined) this.cache.put(key, { result: answer });
    });
    return results;
  }

  /** Like `batch`, but throws the first error. */
  async batchOrThrow(calls: RpcCall[]): Promise<unknown[]> {
    const results = await this.batch(calls);
    for (const r of results) if (r instanceof JsonRpcError) throw r;
    return results;
  }
}
