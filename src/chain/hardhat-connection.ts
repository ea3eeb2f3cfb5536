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

const DEFAULT_NETWORK = "default";

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
      return await request(args);
    } catch (error) {
      throw asNodeError(error, node);
    }
  };
  return connection;
}
