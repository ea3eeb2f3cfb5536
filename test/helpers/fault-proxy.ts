/**
 * A fault-injecting JSON-RPC proxy for tests: it sits in front of a real
 * node (Hardhat, anvil) on a free loopback port and forwards every request,
 * except those a rule picks, which it answers badly:
 *
 * - `"drop"`: the connection is destroyed without an answer (a reset);
 * - `"silence"`: the connection is accepted and never answered (a node that
 *   hangs; the client's own timeout is what ends the request);
 * - `"delay"`: forwarded, but answered after `delayMs`;
 * - `429`, `500`, `503`: an HTTP error status with a short text body.
 *
 * Rules are switchable at run time (`setFaults`, `heal`), so a test can make
 * a node go silent in the middle of a run, and `counts` says what the proxy
 * did, so a test can assert that the faults it planned really happened.
 *
 * ```ts
 * const proxy = await startFaultProxy(node.url, [{ fault: "drop", probability: 0.3 }]);
 * // … point the code under test at proxy.url …
 * proxy.setFaults([{ fault: "silence", match: (r) => r.method === "eth_getLogs" }]);
 * expect(proxy.counts.silenced).to.be.greaterThan(0);
 * await proxy.close();
 * ```
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { Socket } from "node:net";

export type Fault = "drop" | "silence" | "delay" | 429 | 500 | 503;

/** One JSON-RPC request as a rule sees it (each element of a batch). */
export interface RpcRequestView {
  method: string;
  params: unknown[];
}

export interface FaultRule {
  fault: Fault;
  /** Which requests the rule applies to (a batch matches when any element does). Default: every request. */
  match?: (request: RpcRequestView) => boolean;
  /** Applies to every n-th matching request (1: each). Exclusive with `probability`. */
  every?: number;
  /** Applies to each matching request with this probability (0..1), drawn from the proxy's seeded generator. */
  probability?: number;
  /** Fires at most this many times (e.g. 1: only the first matching request fails). Default: no limit. */
  times?: number;
  /** For `"delay"`: milliseconds before the request is forwarded. */
  delayMs?: number;
}

export interface FaultCounts {
  /** Requests received (HTTP POSTs; a batch counts once). */
  requests: number;
  /** Forwarded to the node and answered (including delayed ones). */
  forwarded: number;
  dropped: number;
  silenced: number;
  delayed: number;
  http429: number;
  http500: number;
  http503: number;
}

export interface FaultProxy {
  url: string;
  /** What the proxy did so far; live (read it at any time). */
  readonly counts: FaultCounts;
  /** Replaces the rules from the next request on. The first rule that fires decides. */
  setFaults(rules: FaultRule[]): void;
  /** No faults from now on: every request is forwarded. */
  heal(): void;
  /** Stops the proxy, cutting silenced and delayed requests. */
  close(): Promise<void>;
}

/** Starts the proxy in front of `upstream` (an HTTP JSON-RPC URL). `seed` makes probabilistic faults reproducible. */
export async function startFaultProxy(upstream: string, rules: FaultRule[] = [], options: { seed?: number } = {}): Promise<FaultProxy> {
  const counts: FaultCounts = { requests: 0, forwarded: 0, dropped: 0, silenced: 0, delayed: 0, http429: 0, http500: 0, http503: 0 };
  let active = checked(rules);
  let seen = active.map(() => 0);
  let fired = active.map(() => 0);
  const random = mulberry32(options.seed ?? 1);
  const timers = new Set<NodeJS.Timeout>();
  const held = new Set<Socket>();

  function pick(requests: RpcRequestView[]): FaultRule | undefined {
    let chosen: FaultRule | undefined;
    // Every rule counts every request it matches, whichever rule fires: "every n-th" stays the n-th request overall.
    active.forEach((rule, i) => {
      if (rule.match !== undefined && !requests.some((r) => rule.match!(r))) return;
      const n = ++seen[i]!;
      const due = rule.probability !== undefined ? random() < rule.probability : n % (rule.every ?? 1) === 0;
      if (due && chosen === undefined && fired[i]! < (rule.times ?? Number.POSITIVE_INFINITY)) {
        fired[i]!++;
        chosen = rule;
      }
    });
    return chosen;
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      counts.requests++;
      const body = Buffer.concat(chunks);
      const rule = pick(parseRequests(body));
      const forward = () =>
        fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body })
          .then(async (r) => {
            const text = await r.text();
            if (res.destroyed) return;
            counts.forwarded++;
            res.writeHead(r.status, { "content-type": "application/json" });
            res.end(text);
          })
          .catch(() => req.socket.destroy());
      switch (rule?.fault) {
        case undefined:
          void forward();
          return;
        case "drop":
          counts.dropped++;
          req.socket.destroy();
          return;
        case "silence":
          counts.silenced++;
          held.add(req.socket);
          req.socket.once("close", () => held.delete(req.socket));
          return;
        case "delay": {
          counts.delayed++;
          const timer = setTimeout(() => {
            timers.delete(timer);
            void forward();
          }, rule.delayMs ?? 1_000);
          timers.add(timer);
          return;
        }
        default: {
          const status = rule!.fault as 429 | 500 | 503;
          counts[`http${status}`]++;
          res.writeHead(status, { "content-type": "text/plain" });
          res.end(status === 429 ? "too many requests" : "upstream unavailable");
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setFaults(next) {
      active = checked(next);
      seen = active.map(() => 0);
      fired = active.map(() => 0);
    },
    heal() {
      active = [];
      seen = [];
      fired = [];
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of held) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function checked(rules: FaultRule[]): FaultRule[] {
  for (const r of rules) {
    if (r.every !== undefined && r.probability !== undefined) throw new Error("fault-proxy: a rule takes `every` or `probability`, not both");
    if (r.every !== undefined && (!Number.isInteger(r.every) || r.every < 1)) throw new Error(`fault-proxy: every must be a positive integer, not ${r.every}`);
    if (r.probability !== undefined && !(r.probability >= 0 && r.probability <= 1)) throw new Error(`fault-proxy: probability must be in 0..1, not ${r.probability}`);
  }
  return [...rules];
}

function parseRequests(body: Buffer): RpcRequestView[] {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as unknown;
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return list.map((r) => ({ method: String((r as { method?: unknown }).method ?? ""), params: ((r as { params?: unknown[] }).params ?? []) as unknown[] }));
  } catch {
    return [{ method: "", params: [] }];
  }
}

/** A small seeded generator, so "30% drops" is the same 30% on every run of a test. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
