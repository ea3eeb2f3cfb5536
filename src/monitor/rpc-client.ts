/**
 * JSON-RPC for a monitor that must outlive its node: every request has a
 * timeout, and transport failures (dropped connections, timeouts, 5xx, a
 * node restarting) are retried with exponential backoff and jitter.
 *
 * An execution revert (of a probe's eth_call) is an answer, not a fault: it
 * is never retried and surfaces as `ExecutionRevertedError`. Nothing a
 * transport fault does may turn into a measurement.
 */
import type { Eip1193Provider } from "../chain/eip1193.js";

export interface RpcOptions {
  /** Seconds per attempt. */
  timeout: number;
  /** Attempts per request. */
  attempts: number;
  /** Seconds before the first retry; doubles each time. */
  backoff: number;
  /** Upper bound of one backoff, seconds. */
  maxBackoff: number;
  /** Told about each failed attempt (for logs and metrics). */
  onRetry?: (info: { method: string; attempt: number; error: string; delay: number }) => void;
}

/** A call reverted: the node answered, the EVM said no. */
export class ExecutionRevertedError extends Error {
  constructor(
    message: string,
    public readonly data?: string,
  ) {
    super(message);
  }
}

/** The node could not be reached or did not answer in time, after every attempt. */
export class RpcUnavailableError extends Error {
  constructor(
    public readonly method: string,
    public readonly attempts: number,
    cause: unknown,
  ) {
    super(`${method} failed ${attempts} time(s): ${describe(cause)}`, { cause });
  }
}

export class RpcClient {
  private stopped = false;

  constructor(
    private readonly provider: Eip1193Provider,
    private readonly options: RpcOptions,
  ) {}

  /** Makes pending backoffs give up at once (shutdown). */
  stop(): void {
    this.stopped = true;
  }

  async request<T>(method: string, params: unknown[] = []): Promise<T> {
    let delay = this.options.backoff;
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      try {
        return (await withTimeout(this.provider.request({ method, params }), this.options.timeout, method)) as T;
      } catch (error) {
        if (isExecutionRevert(error)) throw new ExecutionRevertedError(describe(error), revertData(error));
        lastError = error;
        if (attempt === this.options.attempts || this.stopped) break;
        const wait = Math.min(delay, this.options.maxBackoff) * (0.75 + Math.random() * 0.5);
        this.options.onRetry?.({ method, attempt, error: describe(error), delay: wait });
        await sleep(wait * 1000);
        delay *= 2;
      }
    }
    throw new RpcUnavailableError(method, this.options.attempts, lastError);
  }
}

function withTimeout<T>(promise: Promise<T>, seconds: number, method: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${method} timed out after ${seconds}s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Reverts are recognised by JSON-RPC code 3 (geth, anvil), or by the
 * "revert" wording Hardhat and others use; revert data alone is not enough,
 * since some nodes attach data to other errors.
 */
export function isExecutionRevert(error: unknown): boolean {
  for (let e = error as Record<string, unknown> | undefined, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    if (e.code === 3 || e.code === "CALL_EXCEPTION") return true;
    const message = typeof e.message === "string" ? e.message : "";
    if (/execution reverted|reverted with|VM Exception while processing transaction: revert|invalid opcode/i.test(message)) return true;
    e = (e.cause ?? e.error) as Record<string, unknown> | undefined;
  }
  return false;
}

function revertData(error: unknown): string | undefined {
  for (let e = error as Record<string, unknown> | undefined, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    if (typeof e.data === "string" && e.data.startsWith("0x")) return e.data;
    if (typeof e.data === "object" && e.data !== null && typeof (e.data as { data?: unknown }).data === "string") {
      return (e.data as { data: string }).data;
    }
    e = (e.cause ?? e.error) as Record<string, unknown> | undefined;
  }
  return undefined;
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message.split("\n")[0]!;
  if (typeof error === "object" && error !== null && "message" in error) return String((error as { message: unknown }).message);
  return String(error);
}
