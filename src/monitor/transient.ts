/**
 * Which failures of a monitor step are faults of the node or the network,
 * retried from the checkpoint, and which are user errors or bugs, which stop
 * the monitor. Judged on the errors' types and codes, never their wording.
 */
import { HardhatError } from "@nomicfoundation/hardhat-errors";
import { ConnectionRefusedError, RequestTimeoutError, ResponseStatusCodeError } from "@nomicfoundation/hardhat-utils/request";

import { BlueGreenError } from "../errors.js";
import { ChainMovedError } from "./chain-follower.js";
import { RpcUnavailableError, sleep } from "./rpc-client.js";

/** Node's socket errors, and ethers' codes for a node that did not answer properly. */
const TRANSPORT_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "NETWORK_ERROR", "TIMEOUT", "SERVER_ERROR"]);
/** JSON-RPC "limit exceeded": a node's rate limit. */
const RATE_LIMITED = -32005;

export function isTransient(error: unknown): boolean {
  if (error instanceof RpcUnavailableError || error instanceof ChainMovedError) return true;
  if (error instanceof BlueGreenError) return false;
  // The guardian's transactions go through ethers and Hardhat's provider, not the RPC client: look through their causes.
  for (let e: unknown = error, depth = 0; typeof e === "object" && e !== null && depth < 6; depth++) {
    if (e instanceof ConnectionRefusedError || e instanceof RequestTimeoutError) return true;
    if (e instanceof ResponseStatusCodeError && (e.statusCode === 429 || e.statusCode >= 500)) return true;
    if (HardhatError.isHardhatError(e, HardhatError.ERRORS.CORE.NETWORK.CONNECTION_REFUSED)) return true;
    if (HardhatError.isHardhatError(e, HardhatError.ERRORS.CORE.NETWORK.NETWORK_TIMEOUT)) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (TRANSPORT_CODES.has(code) || code.startsWith("UND_ERR"))) return true;
    if (code === RATE_LIMITED) return true;
    const next = e as { cause?: unknown; error?: unknown };
    e = next.cause ?? next.error;
  }
  return false;
}

/** Runs `fn`, retrying transient failures with exponential backoff (seconds). */
export async function retrying<T>(fn: () => Promise<T>, backoff: { backoff: number; maxBackoff: number }, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isTransient(error) || attempt >= attempts) throw error;
      await sleep(backoffDelay(backoff, attempt) * 1000);
    }
  }
}

/** Seconds to wait before retry `attempt` (1-based). */
export function backoffDelay(backoff: { backoff: number; maxBackoff: number }, attempt: number): number {
  return Math.min(backoff.backoff * 2 ** (attempt - 1), backoff.maxBackoff);
}
