/**
 * The one JSON-RPC client. It speaks HTTP itself (fetch, a timeout per
 * attempt, batches) or wraps another EIP-1193 provider (the monitor's
 * Hardhat connection), and either way it owns the only retry loop: bounded
 * retries with exponential backoff and jitter for faults of the transport
 * (unreachable, timeouts, HTTP 429 honouring Retry-After, 5xx, rate-limit
 * answers), never for a node's real answer.
 *
 * A node's JSON-RPC error (a revert, an unknown method) is an answer: it is
 * not retried and surfaces as `JsonRpcError` with the node's `code` and
 * `data`. Transport faults that outlast the retries surface as a
 * `BlueGreenError` whose code says which fault it was.
 */
import { BlueGreenError } from "../errors.js";
import type { Eip1193Provider } from "./eip1193.js";
import { redactUrl } from "./redact-url.js";
import { FAULT_CODES, type TransportFault, transportFaultOf } from "./transport-fault.js";

/** A JSON-RPC error a node answered: its code, message and data as sent. */
export class JsonRpcError extends Error {
  constructor(
    message: string,
    public readonly code: number,
    public readonly data?: unknown,
  ) {
    super(message);
    this.name = "JsonRpcError";
  }
}

export interface RpcCall {
  method: string;
  params: unknown[];
}


export interface RetryInfo {
  method: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  reason: string;
  delayMs: number;
}

export interface JsonRpcClientOptions {
  /** Milliseconds per attempt; Infinity for none. Default 30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 5. */
  retries?: number;
  /** First backoff; doubles each retry (with jitter), unless Retry-After says otherwise. Default 250 ms. */
  baseDelayMs?: number;
  /** Upper bound of one backoff. Default 30 s. */
  maxDelayMs?: number;
  /** Once aborted, a failed attempt is not retried (shutdown). */
  signal?: AbortSignal;
  /** Told about each attempt that will be retried (logs, metrics). */
  onRetry?: (info: RetryInfo) => void;
  /** How messages name the endpoint, e.g. "source RPC". Default "JSON-RPC endpoint". */
  name?: string;
  /** What to do once the retries are spent; the default says what to check. */
  hint?: string;
}

export interface HttpJsonRpcOptions extends JsonRpcClientOptions {
  url: string;
  headers?: Record<string, string>;
}

export interface WrappedProviderOptions extends JsonRpcClientOptions {
  provider: Eip1193Provider;
  /**
   * Errors of the wrapped provider that are answers, thrown at once. Default:
   * errors with a numeric JSON-RPC code other than a rate limit.
   */
  isAnswer?: (error: unknown) => boolean;
}

export interface RpcStats {
  /** JSON-RPC calls sent, retries included (a batch of 10 counts 10). */
  calls: number;
  /** The same, per method. */
  byMethod: Record<string, number>;
  /** HTTP requests sent (for a wrapped provider: its requests). */
  httpRequests: number;
  /** Attempts that were retried. */
  retries: number;
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: Error };

interface Fault {
  kind: TransportFault;
  reason: string;
  retryAfterMs?: number;
  cause?: Error;
}

type Attempt = { outcomes: Outcome[] } | { fault: Fault };

const BATCH_LIMIT = 100;

/** A transport fault that outlasted the retries; `code` says which fault it was. */
export class RpcTransportError extends BlueGreenError {
  constructor(
    readonly fault: TransportFault,
    /** What the last attempt ran into, e.g. "HTTP 429" or "ECONNREFUSED". */
    readonly reason: string,
    readonly attempts: number,
    message: string,
    options: { hint: string; cause?: Error },
  ) {
    super(FAULT_CODES[fault], message, options);
  }
}

export class JsonRpcClient implements Eip1193Provider {
  readonly stats: RpcStats = { calls: 0, byMethod: {}, httpRequests: 0, retries: 0 };
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private nextId = 1;

  /** JSON-RPC over HTTP to `url`. */
  constructor(options: HttpJsonRpcOptions);
  /** Timeouts and retries around another EIP-1193 provider. */
  constructor(options: WrappedProviderOptions);
  constructor(private readonly options: HttpJsonRpcOptions | WrappedProviderOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
  }

  /** The endpoint, as messages may show it (no API key). */
  get endpoint(): string {
    return "url" in this.options ? redactUrl(this.options.url) : "(provider)";
  }

  /** EIP-1193 `request`: throws `JsonRpcError` for a node's error answer. */
  async request(args: { method: string; params?: unknown[] | object }): Promise<unknown> {
    const params = Array.isArray(args.params) ? args.params : args.params === undefined ? [] : [args.params];
    const [outcome] = await this.send([{ method: args.method, params }]);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.result;
  }

  /** Many calls, in batches over HTTP; each result is a value or the node's `JsonRpcError`. */
  async batch(calls: RpcCall[]): Promise<Array<unknown | JsonRpcError>> {
    const outcomes: Outcome[] = [];
    for (let start = 0; start < calls.length; start += BATCH_LIMIT) {
      outcomes.push(...(await this.send(calls.slice(start, start + BATCH_LIMIT))));
    }
    return outcomes.map((o) => (o.ok ? o.result : o.error));
  }

  private async send(calls: RpcCall[]): Promise<Outcome[]> {
    let fault: Fault | undefined;
    let attempts = 0;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) this.stats.retries++;
      attempts++;
      const result = "url" in this.options ? await this.postOnce(this.options, calls) : await this.askOnce(this.options, calls);
      if ("outcomes" in result) return result.outcomes;
      fault = result.fault;
      if (attempt === this.retries || this.options.signal?.aborted === true) break;
      const backoff = Math.min(this.baseDelayMs * 2 ** attempt, this.maxDelayMs) * (0.75 + Math.random() * 0.5);
      const delayMs = fault.retryAfterMs ?? backoff;
      this.options.onRetry?.({ method: calls[0]!.method, attempt: attempt + 1, reason: fault.reason, delayMs });
      await sleep(delayMs);
    }
    throw this.spent(calls, fault!, attempts);
  }

  private spent(calls: RpcCall[], fault: Fault, attempts: number): RpcTransportError {
    const what = calls.length === 1 ? calls[0]!.method : `a batch of ${calls.length} requests (${calls[0]!.method}, ...)`;
    return new RpcTransportError(
      fault.kind,
      fault.reason,
      attempts,
      `The ${this.options.name ?? "JSON-RPC endpoint"} ${this.endpoint} did not answer ${what} after ${attempts} attempts: ${fault.reason}.`,
      {
        hint: this.options.hint ?? "Check that the node is up, reachable from here and not rate-limiting you, then try again.",
        ...(fault.cause !== undefined ? { cause: fault.cause } : {}),
      },
    );
  }

  private count(calls: RpcCall[]): void {
    this.stats.httpRequests++;
    this.stats.calls += calls.length;
    for (const c of calls) this.stats.byMethod[c.method] = (this.stats.byMethod[c.method] ?? 0) + 1;
  }

  private async postOnce(options: HttpJsonRpcOptions, calls: RpcCall[]): Promise<Attempt> {
    const ids = calls.map(() => this.nextId++);
    const body =
      calls.length === 1
        ? JSON.stringify({ jsonrpc: "2.0", id: ids[0], method: calls[0]!.method, params: calls[0]!.params })
        : JSON.stringify(calls.map((c, i) => ({ jsonrpc: "2.0", id: ids[i], method: c.method, params: c.params })));
    this.count(calls);
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...options.headers },
        body,
        ...(Number.isFinite(this.timeoutMs) ? { signal: AbortSignal.timeout(this.timeoutMs) } : {}),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      return err.name === "TimeoutError" || err.name === "AbortError"
        ? { fault: { kind: "timeout", reason: `timed out after ${this.timeoutMs} ms`, cause: err } }
        : { fault: { kind: "unreachable", reason: `${err.cause?.code ?? err.message}`, cause: err } };
    }
    if (response.status === 429 || response.status >= 500) {
      await response.text().catch(() => "");
      return { fault: { kind: response.status === 429 ? "rate-limited" : "http", reason: `HTTP ${response.status}`, ...retryAfter(response) } };
    }
    const text = await response.text();
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      if (!response.ok) return { fault: { kind: "http", reason: `HTTP ${response.status}` } };
      throw new BlueGreenError("BG_RPC_BAD_RESPONSE", `The ${options.name ?? "JSON-RPC endpoint"} ${this.endpoint} answered something that is not JSON: ${text.slice(0, 120)}`, {
        hint: "Check that the URL is the node's JSON-RPC endpoint.",
      });
    }
    const replies = Array.isArray(doc) ? doc : [doc];
    if (calls.length > 1 && !Array.isArray(doc)) {
      // A node without batch support: ask one by one.
      const outcomes: Outcome[] = [];
      for (const call of calls) {
        const one = await this.postOnce(options, [call]);
        if ("fault" in one) return one;
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
      if (reply === undefined) return { fault: { kind: "bad-response", reason: `no answer for ${calls[i]!.method} in the batch` } };
      if (reply.error !== undefined) {
        if (isRateLimitAnswer(reply.error)) return { fault: { kind: "rate-limited", reason: `rate limited (${reply.error.message})` } };
        outcomes.push({ ok: false, error: new JsonRpcError(reply.error.message, reply.error.code, reply.error.data) });
      } else outcomes.push({ ok: true, result: reply.result });
    }
    return { outcomes };
  }

  private async askOnce(options: WrappedProviderOptions, calls: RpcCall[]): Promise<Attempt> {
    const isAnswer = options.isAnswer ?? isJsonRpcAnswer;
    const outcomes: Outcome[] = [];
    for (const call of calls) {
      this.count([call]);
      try {
        outcomes.push({ ok: true, result: await withTimeout(options.provider.request(call), this.timeoutMs) });
      } catch (error) {
        if (error instanceof TimedOut) return { fault: { kind: "timeout", reason: error.message, cause: error } };
        if (isAnswer(error)) {
          outcomes.push({ ok: false, error: error instanceof Error ? error : new Error(String(error)) });
          continue;
        }
        const rateLimited = isRateLimitAnswer(error as { code?: unknown; message?: unknown });
        // What the wrapped provider's own error types say; a fault it does not type is taken as the node being out of reach.
        const kind = rateLimited ? "rate-limited" : (transportFaultOf(error)?.kind ?? "unreachable");
        return { fault: { kind, reason: firstLine(error), cause: error instanceof Error ? error : new Error(firstLine(error)) } };
      }
    }
    return { outcomes };
  }
}

interface Reply {
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/**
 * Providers answer rate limits in-band too: EIP-1474's -32005, a 429 code,
 * or only in the wording of the message (which is the node's, not ours).
 */
function isRateLimitAnswer(error: { code?: unknown; message?: unknown } | null | undefined): boolean {
  if (error === null || error === undefined) return false;
  const message = typeof error.message === "string" ? error.message : "";
  return error.code === -32005 || error.code === 429 || /rate.?limit|too many requests|exceeded .*(capacity|limit)/i.test(message);
}

function isJsonRpcAnswer(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" && !isRateLimitAnswer(error as { code: number; message?: unknown });
}

function retryAfter(response: Response): { retryAfterMs?: number } {
  const header = response.headers.get("retry-after");
  if (header === null) return {};
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return { retryAfterMs: Math.min(seconds * 1000, 60_000) };
  const date = Date.parse(header);
  return Number.isFinite(date) ? { retryAfterMs: Math.max(0, Math.min(date - Date.now(), 60_000)) } : {};
}

class TimedOut extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function firstLine(error: unknown): string {
  if (error instanceof Error) return error.message.split("\n")[0]!;
  if (typeof error === "object" && error !== null && "message" in error) return String((error as { message: unknown }).message);
  return String(error);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
