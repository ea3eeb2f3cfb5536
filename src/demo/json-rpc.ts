/**
 * Plain JSON-RPC over HTTP to the demo's nodes: an EIP-1193 `request` (what
 * the stage, gates and monitor modules take) and an ethers provider (what
 * the approval modules and contracts take), both without client-side
 * batching or caching, so every read sees the chain as it is now.
 */
import { JsonRpcProvider } from "ethers";

import type { Eip1193Provider } from "../chain/eip1193.js";

export type JsonRpc = Eip1193Provider;

let nextId = 1;

/** EIP-1193 over fetch: one POST per request; JSON-RPC errors are thrown with their code, message and data. */
export function httpJsonRpc(url: string): JsonRpc {
  return {
    async request({ method, params }) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params: params ?? [] }),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status} from ${url} for ${method}`);
      const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
      if (body.error !== undefined) {
        throw Object.assign(new Error(body.error.message), { code: body.error.code, data: body.error.data });
      }
      return body.result;
    },
  };
}

/** An ethers provider for a local node: no batching, no cache, fast receipt polling. */
export function localEthersProvider(url: string, chainId: number): JsonRpcProvider {
  const provider = new JsonRpcProvider(url, chainId, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
  // Blocks are mined on demand: poll for receipts often rather than every 4 seconds.
  provider.pollingInterval = 50;
  return provider;
}
