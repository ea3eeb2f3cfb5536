/**
 * The monitor's first request, the chain id, goes through the same retry
 * budget as every other (a dropped request at start-up is as ordinary as
 * one later), and a node that never answers is named, with what to check.
 */
import type { Eip1193Provider } from "../chain/eip1193.js";
import { BlueGreenError } from "../errors.js";
import { redactUrl } from "../chain/redact-url.js";
import { RpcClient, type RpcOptions, describe } from "./rpc-client.js";

/** Which node the monitor talks to, for the message when it does not answer. */
export interface NodeRef {
  network: string;
  /** The network's URL (redacted before it is shown); absent for in-process networks. */
  url?: string;
}

export async function readChainId(provider: Eip1193Provider, rpc: RpcOptions, node: NodeRef): Promise<number> {
  const client = new RpcClient(provider, rpc);
  try {
    return Number(BigInt(await client.request<string>("eth_chainId")));
  } catch (error) {
    const where = node.url !== undefined ? ` at ${redactUrl(node.url)}` : "";
    throw new BlueGreenError(
      "BG_MONITOR_NODE_UNREACHABLE",
      `The node of network "${node.network}"${where} did not answer eth_chainId after ${rpc.attempts} attempt(s) (last error: ${lastError((error as Error).cause ?? error)}).`,
      {
        hint:
          `Check that the node is running and reachable from here, and that networks.${node.network}.url in hardhat.config.ts is right; ` +
          "blueGreen.monitor.rpc sets the attempts, timeout and backoff.",
        cause: error as Error,
      },
    );
  } finally {
    client.stop();
  }
}

/**
 * The node's own error, first line, with the HTTP status when one is in its
 * causes (Hardhat's message leaves it out). The connection's coded wrapper
 * (chain/node-error.ts) is looked through: this message names the node already.
 */
function lastError(wrapped: unknown): string {
  let error = wrapped;
  while (BlueGreenError.is(error) && error.cause !== undefined) error = error.cause;
  for (let e: unknown = error, depth = 0; typeof e === "object" && e !== null && depth < 6; depth++) {
    const status = (e as { statusCode?: unknown }).statusCode;
    if (typeof status === "number") return `HTTP ${status}: ${describe(error)}`;
    e = (e as { cause?: unknown }).cause;
  }
  return describe(error);
}
