/**
 * The approval modules' one edge to ethers. Their callers hand them an
 * EIP-1193 provider, like every other part of the domain; Safe and timelock
 * contracts are driven through ethers, so each provider gets one ethers
 * adapter, shared by every module that reads through it.
 */
import { BrowserProvider } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";

const adapters = new WeakMap<Eip1193Provider, BrowserProvider>();

export function ethersProvider(env: { provider: Eip1193Provider; chainId: number }): BrowserProvider {
  let adapted = adapters.get(env.provider);
  if (adapted === undefined) {
    // No request cache: a read right after a send must see the send (nonces, Safe state).
    adapted = new BrowserProvider(env.provider, env.chainId, { cacheTimeout: -1, pollingInterval: 250 });
    adapters.set(env.provider, adapted);
  }
  return adapted;
}
