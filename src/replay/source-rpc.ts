/**
 * The replay's only way to the source chain: JSON-RPC over HTTP with the
 * source cache in front, retries with backoff on timeouts and rate limits,
 * batching, and a count of the requests that really went out (the benchmark
 * reports them per replayed transaction).
 */
import { BlueGreenError } from "../errors.js";
import { cacheKey, type CachedAnswer, isUnsupportedMethodError, RpcCache } from "./rpc-cache.js";

/** A JSON-RPC error answered by the source. */
export class RpcError extends Error {
  constructor(
    message: string,
    public readonly code: number,
    public readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

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

interface RpcCall {
  method: string;
  params: unknown[];
}

interface Reply {
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: RpcError };

/** Why an attempt failed in a way worth retrying, or undefined if it is final. */
type Transient = { reason: string; retryAfterMs?: number };

const BATCH_LIMIT = 100;

export class SourceRpc {
  readonly stats: SourceStats = { calls: 0, httpRequests: 0, cacheHits: 0, retries: 0 };
  readonly cache: RpcCache;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private nextId = 1;

  constructor(private readonly options: SourceRpcOptions) {
    this.cache = options.cache ?? RpcCache.memory();
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 250;
  }

  get url(): string {
    return this.options.url;
  }

  /** Another client of the same source and cache, with some options changed (its own stats). */
  derive(overrides: Partial<Omit<SourceRpcOptions, "url" | "cache">>): SourceRpc {
    return new SourceRpc({ ...this.options, ...overrides, cache: this.cache });
  }

  /** EIP-1193 `request`: throws `RpcError` for JSON-RPC errors. */
  async request(args: { method: string; params?: unknown[] | object }): Promise<unknown> {
    const params = Array.isArray(args.params) ? args.params : args.params === undefined ? [] : [args.params];
    const [outcome] = await this.send([{ method: args.method, params }]);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.result;
  }

  /** Sends many calls, batched; each result is a value or an `RpcError`. */
  async batch(calls: Array<{ method: string; params: unknown[] }>): Promise<Array<unknown | RpcError>> {
    const outcomes = await this.send(calls);
    return outcomes.map((o) => (o.ok ? o.result : o.error));
  }

  /** Like `batch`, but throws the first error. */
  async batchOrThrow(calls: Array<{ method: string; params: unknown[] }>): Promise<unknown[]> {
    const results = await this.batch(calls);
    for (const r of results) if (r instanceof RpcError) throw r;
    return results;
  }

  private async send(calls: RpcCall[]): Promise<Outcome[]> {
    const outcomes: Array<Outcome | undefined> = new Array(calls.length);
    const keys: Array<string | undefined> = calls.map((c) => cacheKey(c.method, c.params, { pinHead: this.options.pinHead }));
    const missing: number[] = [];
    calls.forEach((_, i) => {
      const key = keys[i];
      const hit = key !== undefined ? this.cache.get(key) : undefined;
      if (hit !== undefined) {
        this.stats.cacheHits++;
        outcomes[i] = "result" in hit ? { ok: true, result: hit.result } : { ok: false, error: new RpcError(hit.error.message, hit.error.code) };
      } else missing.push(i);
    });
    for (let start = 0; start < missing.length; start += BATCH_LIMIT) {
      const chunk = missing.slice(start, start + BATCH_LIMIT);
      const answers = await this.sendWithRetry(chunk.map((i) => calls[i]!));
      chunk.forEach((i, j) => {
        const outcome = answers[j]!;
        outcomes[i] = outcome;
        const key = keys[i];
        if (key === undefined) return;
        if (outcome.ok && outcome.result !== null && outcome.result !== undefined) this.cache.put(key, { result: outcome.result });
        else if (!outcome.ok && isUnsupportedMethodError(outcome.error)) {
          this.cache.put(key, { error: { code: outcome.error.code, message: outcome.error.message } } satisfies CachedAnswer);
        }
      });
    }
    return outcomes as Outcome[];
  }

  private async sendWithRetry(calls: RpcCall[]): Promise<Outcome[]> {
    let lastReason = "";
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) this.stats.retries++;
      const result = await this.attempt(calls);
      if (!("transient" in result)) return result.outcomes;
      lastReason = result.transient.reason;
      if (attempt === this.retries) break;
      const backoff = this.baseDelayMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
      await sleep(result.transient.retryAfterMs ?? Math.min(backoff, 30_000));
    }
    const what = calls.length === 1 ? calls[0]!.method : `a batch of ${calls.length} requests (${calls[0]!.method}, ...)`;
    throw new BlueGreenError(
      `The source RPC ${redactUrl(this.options.url)} did not answer ${what} after ${this.retries + 1} attempts: ${lastReason}. ` +
        "Check that the node is up and not rate-limiting you, then run the replay again (a re-run reuses what was already fetched); " +
        "or raise blueGreen.replay.rpc.retries / rpc.timeoutMs.",
    );
  }

  private async attempt(calls: RpcCall[]): Promise<{ outcomes: Outcome[] } | { transient: Transient }> {
    const ids = calls.map(() => this.nextId++);
    const body =
      calls.length === 1
        ? JSON.stringify({ jsonrpc: "2.0", id: ids[0], method: calls[0]!.method, params: calls[0]!.params })
        : JSON.stringify(calls.map((c, i) => ({ jsonrpc: "2.0", id: ids[i], method: c.method, params: c.params })));
    this.stats.httpRequests++;
    this.stats.calls += calls.length;
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.options.headers },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      const reason =
        err.name === "TimeoutError" || err.name === "AbortError"
          ? `timed out after ${this.timeoutMs} ms`
          : `${err.cause?.code ?? err.message}`;
      return { transient: { reason } };
    }
    if (response.status === 429 || response.status >= 500) {
      await response.text().catch(() => "");
      return { transient: { reason: `HTTP ${response.status}`, ...retryAfter(response) } };
    }
    const text = await response.text();
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      if (!response.ok) return { transient: { reason: `HTTP ${response.status}` } };
      throw new BlueGreenError(`The source RPC ${redactUrl(this.options.url)} answered something that is not JSON: ${text.slice(0, 120)}`);
    }
    const replies = Array.isArray(doc) ? doc : [doc];
    if (calls.length > 1 && !Array.isArray(doc)) {
      // A node without batch support: ask one by one.
      const outcomes: Outcome[] = [];
      for (const call of calls) {
        const one = await this.attempt([call]);
        if ("transient" in one) return one;
        outcomes.push(one.outcomes[0]!);
      }
      return { outcomes };
    }
    const byId = new Map<unknown, Reply>();
    for (const r of replies as Reply[]) byId.set(r?.id, r);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < calls.length; i++) {
      // A single reply with a mangled id is still the answer to the single call.
      const reply = byId.get(ids[i]) ?? (calls.length === 1 ? (replies[0] as Reply | undefined) : undefined);
      if (reply === undefined) return { transient: { reason: `no answer for ${calls[i]!.method} in the batch` } };
      if (reply.error !== undefined) {
        if (isRateLimit(reply.error)) return { transient: { reason: `rate limited (${reply.error.message})` } };
        outcomes.push({ ok: false, error: new RpcError(reply.error.message, reply.error.code, reply.error.data) });
      } else outcomes.push({ ok: true, result: reply.result });
    }
    return { outcomes };
  }
}

function isRateLimit(error: { code: number; message: string }): boolean {
  return error.code === -32005 || error.code === 429 || /rate.?limit|too many requests|exceeded .*(capacity|limit)/i.test(error.message);
}

function retryAfter(response: Response): { retryAfterMs?: number } {
  const header = response.headers.get("retry-after");
  if (header === null) return {};
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return { retryAfterMs: Math.min(seconds * 1000, 60_000) };
  const date = Date.parse(header);
  return Number.isFinite(date) ? { retryAfterMs: Math.max(0, Math.min(date - Date.now(), 60_000)) } : {};
}

/** The URL without credentials or API-key-looking path segments, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = "";
    u.pathname = u.pathname
      .split("/")
      .map((seg) => (seg.length >= 16 && /[0-9]/.test(seg) && /[a-zA-Z]/.test(seg) ? "***" : seg))
      .join("/");
    return u.toString().replace(/\/$/, "");
  } catch {
    return "<source>";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
