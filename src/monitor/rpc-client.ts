/**
 * JSON-RPC for a monitor that must outlive its node: the chain's client
 * around the monitor's provider, so every request has a timeout and
 * transport failures (dropped connections, timeouts, 5xx, a node
 * restarting) are retried with exponential backoff and jitter.
 *
 * An execution revert (of a probe's eth_call) is an answer, not a fault: it
 * is never retried and surfaces as `ExecutionRevertedError`. Every other
 * error is retried: nothing a transport fault does may turn into a
 * measurement.
 */
import type { Eip1193Provider } from "../chain/eip1193.js";
import { JsonRpcClient, RpcTransportError } from "../chain/json-rpc.js";

export { sleep } from "../chain/json-rpc.js";

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
  private readonly stopping = new AbortController();
  private readonly client: JsonRpcClient;

  constructor(
    provider: Eip1193Provider,
    private readonly options: RpcOptions,
  ) {
    this.client = new JsonRpcClient({
      provider,
      isAnswer: isExecutionRevert,
      timeoutMs: options.timeout * 1000,
      retries: options.attempts - 1,
      baseDelayMs: options.backoff * 1000,
      maxDelayMs: options.maxBackoff * 1000,
      signal: this.stopping.signal,
      onRetry: (info) => options.onRetry?.({ method: info.method, attempt: info.attempt, error: info.reason, delay: info.delayMs / 1000 }),
    });
  }

  /** Makes pending backoffs give up at once (shutdown). */
  stop(): void {
    this.stopping.abort();
  }

  async request<T>(method: string, params: unknown[] = []): Promise<T> {
    try {
      return (await this.client.request({ method, params })) as T;
    } catch (error) {
      if (isExecutionRevert(error)) throw new ExecutionRevertedError(describe(error), revertData(error));
      if (error instanceof RpcTransportError) throw new RpcUnavailableError(method, this.options.attempts, error.cause ?? error.reason);
      throw error;
    }
  }
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
