/**
 * JSON-RPC plumbing for the monitor tests: a plain EIP-1193 provider over
 * HTTP (no client-side retries, so faults reach the monitor as they are),
 * and a faulty JSON-RPC proxy in front of a real node that drops or delays
 * requests on a fixed, reproducible pattern.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";

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

export interface FaultPlan {
  /** Every n-th request has its connection destroyed without an answer (0: never). */
  dropEvery: number;
  /** Every n-th request is answered after `delayMs` (0: never). */
  delayEvery: number;
  delayMs: number;
  /** Every n-th request is answered with HTTP 503 (0: never). */
  failEvery?: number;
}

export interface FaultyRpc {
  url: string;
  counts: { requests: number; dropped: number; delayed: number; failed: number };
  close(): Promise<void>;
}

/** Starts a JSON-RPC proxy on a free loopback port, forwarding to `upstream` except for the planned faults. */
export async function startFaultyRpc(upstream: string, plan: FaultPlan): Promise<FaultyRpc> {
  const counts = { requests: 0, dropped: 0, delayed: 0, failed: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const n = ++counts.requests;
      if (plan.dropEvery > 0 && n % plan.dropEvery === 0) {
        counts.dropped++;
        req.socket.destroy();
        return;
      }
      if (plan.failEvery !== undefined && plan.failEvery > 0 && n % plan.failEvery === 0) {
        counts.failed++;
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("upstream unavailable");
        return;
      }
      const forward = () =>
        fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) })
          .then(async (r) => {
            const text = await r.text();
            if (!res.destroyed) {
              res.writeHead(r.status, { "content-type": "application/json" });
              res.end(text);
            }
          })
          .catch(() => req.socket.destroy());
      if (plan.delayEvery > 0 && n % plan.delayEvery === 0) {
        counts.delayed++;
        const timer = setTimeout(() => {
          timers.delete(timer);
          void forward();
        }, plan.delayMs);
        timers.add(timer);
        return;
      }
      void forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
