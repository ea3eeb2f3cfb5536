/**
 * How every bg:* command connects to its network: through Hardhat, with a
 * deadline on each request to an HTTP node (`blueGreen.rpc.timeout`), so a
 * node that accepts connections but never answers fails the command within
 * that time instead of Hardhat's five minutes. A transport fault of that
 * node becomes a coded error naming it, at the provider itself: whatever
 * reads through the connection (ethers included) gets the same error, and
 * nothing else (a compiler download, say) is ever blamed on the node.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";

import { asNodeError } from "./node-error.js";
import { redactUrl } from "./redact-url.js";
import { transportFaultOf } from "./transport-fault.js";

const DEFAULT_NETWORK = "default";

/** Requests that change nothing on the node: safe to send again. */
const READ_ONLY = /^(eth_(call|chainId|blockNumber|estimateGas|feeHistory|gasPrice|maxPriorityFeePerGas|get\w+)|net_version|web3_clientVersion|debug_trace\w+|trace_\w+)$/;

/**
 * A pooled keep-alive socket the node closed as the request went out (Node's
 * HTTP server drops idle sockets after 5 s; on a loaded machine the client's
 * margin is not always enough): the node never saw the request.
 */
function droppedSocket(error: unknown): boolean {
  const fault = transportFaultOf(error);
  return fault?.kind === "unreachable" && (fault.reason === "UND_ERR_SOCKET" || fault.reason === "ECONNRESET");
}

export async function openConnection(hre: HardhatRuntimeEnvironment, network?: string): Promise<NetworkConnection> {
  // As Hardhat picks it: --network, else its default network.
  const name = network ?? hre.globalOptions.network ?? DEFAULT_NETWORK;
  const config = hre.config.networks[name];
  if (config?.type !== "http") return network === undefined ? hre.network.getOrCreate() : hre.network.create(name);
  const node = `network "${name}" (${redactUrl(await config.url.getUrl())})`;
  // A network configured with a shorter timeout of its own keeps it.
  const timeout = Math.min(config.timeout, hre.config.blueGreen.rpc.timeoutMs);
  const connection = await hre.network.create({ network: name, override: { timeout } });
  const request = connection.provider.request.bind(connection.provider);
  connection.provider.request = async (args) => {
    try {
      return await request(args).catch((error: unknown) => {
        // One more attempt for a read on a dropped socket; anything that sends is never repeated here.
        if (READ_ONLY.test(args.method) && droppedSocket(error)) return request(args);
        throw error;
      });
    } catch (error) {
      throw asNodeError(error, node);
    }
  };
  return connection;
}
