/**
 * JSON-RPC plumbing for the monitor tests: a plain EIP-1193 provider over
 * HTTP (no client-side retries, so faults reach the monitor as they are).
 * Faults themselves come from test/helpers/fault-proxy.ts.
 */
import type { Eip1193Provider } from "../../src/chain/eip1193.js";

let nextId = 1;

/** EIP-1193 over fetch: one POST per request; JSON-RPC errors are thrown with their code, message and data. */
export function httpEip1193(url: string): Eip1193Provider {
  return {
    async request({ method, params }) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params: params ?? [] }),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}`);
      const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
      if (body.error !== undefined) {
        throw Object.assign(new Error(body.error.message), { code: body.error.code, data: body.error.data });
      }
      return body.result;
    },
  };
}
