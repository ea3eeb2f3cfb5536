/**
 * How every bg:* command connects to its network: through Hardhat, with a
 * deadline on each request to an HTTP node (`blueGreen.rpc.timeout`), so a
 * node that accepts connections but never answers fails the command within
 * that time instead of Hardhat's five minutes. The node is remembered, so an
 * error about it can name it.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";

import { redactUrl } from "./redact-url.js";

const DEFAULT_NETWORK = "default";

/** The node a command talks to, for messages: `network "mainnet" (https://…)`. */
let lastNode: string | undefined;

export function describeNode(): string {
  return lastNode ?? "the network";
}

export async function openConnection(hre: HardhatRuntimeEnvironment, network?: string): Promise<NetworkConnection> {
  // As Hardhat picks it: --network, else its default network.
  const name = network ?? hre.globalOptions.network ?? DEFAULT_NETWORK;
  const config = hre.config.networks[name];
  if (config?.type !== "http") return network === undefined ? hre.network.getOrCreate() : hre.network.create(name);
  const url = await config.url.getUrl();
  lastNode = `network "${name}" (${redactUrl(url)})`;
  // A network configured with a shorter timeout of its own keeps it.
  const timeout = Math.min(config.timeout, hre.config.blueGreen.rpc.timeoutMs);
  return hre.network.create({ network: name, override: { timeout } });
}
