/**
 * Which failures of a monitor step are faults of the node or the network,
 * retried from the checkpoint, and which are user errors or bugs, which stop
 * the monitor. Judged on the errors' types and codes, never their wording.
 */
import { isNodeFault } from "../chain/node-error.js";
import { isRetryable, transportFaultOf } from "../chain/transport-fault.js";
import { BlueGreenError } from "../errors.js";
import { ChainMovedError } from "./chain-follower.js";
import { RpcUnavailableError, sleep } from "./rpc-client.js";

export function isTransient(error: unknown): boolean {
  if (error instanceof RpcUnavailableError || error instanceof ChainMovedError) return true;
  // Ours are decisions, except a node's fault coded at the connection: that one is the node's, like any other.
  if (BlueGreenError.is(error) && !isNodeFault(error)) return false;
  // The guardian's transactions go through ethers and Hardhat's provider, not the RPC client: the classifier looks through their causes.
  const fault = transportFaultOf(error);
  return fault !== undefined && isRetryable(fault);
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
