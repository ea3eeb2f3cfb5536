/**
 * The fork front: a JSON-RPC endpoint on loopback that the in-process fork
 * reads the source through. It answers from the source cache where it can
 * and forwards the rest through `SourceRpc`, so the fork's requests get the
 * same retries on timeouts and rate limits as the replay's own, and a warm
 * run makes no request to the source (EDR alone still asks for the chain id
 * and the head each time it starts).
 *
 * With prefetched state (`ForkState`), the front answers EDR's account and
 * storage reads at a fork block locally: EDR asks `eth_getBalance`,
 * `eth_getTransactionCount`, `eth_getCode` and `eth_getStorageAt` one key at
 * a time, at the block it is pinned to, and the prefetch already has most of
 * them. What it lacks goes to the source and is remembered for every fork.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { JsonRpcError } from "../chain/json-rpc.js";
import { type ForkState, isStateRead } from "./prefetch.js";
import { cacheKey } from "./rpc-cache.js";
import type { SourceRpc } from "./source-rpc.js";

export interface ForkFront {
  /** The URL to fork from. */
  url: string;
  /**
   * The first source failure the front could not hide (retries spent). The
   * fork only sees a JSON-RPC error, which it may report as a refused
   * transaction; the replay checks this and fails with the real cause.
   */
  readonly failure: Error | undefined;
  close(): Promise<void>;
}

interface JsonRpcRequest {
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

/** Starts the front on a free loopback port. `source` should pin the head (`pinHead: true`). */
export async function startForkFront(source: SourceRpc, state?: ForkState | Promise<ForkState | undefined>): Promise<ForkFront> {
  let failure: Error | undefined;
  const server = createServer((req, res) => {
    void handle(source, state, req, res, (e) => (failure ??= e));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get failure() {
      return failure;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(source: SourceRpc, prefetched: ForkState | Promise<ForkState | undefined> | undefined, req: IncomingMessage, res: ServerResponse, fail: (e: Error) => void): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    reply(res, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
    return;
  }
  const requests = (Array.isArray(doc) ? doc : [doc]) as JsonRpcRequest[];
  const calls = requests.map((r) => ({
    method: typeof r.method === "string" ? r.method : "",
    params: Array.isArray(r.params) ? r.params : r.params === undefined ? [] : [r.params],
  }));
  // State reads wait for the prefetch (it may still be running while the forks start); nothing else does.
  const state = calls.some((c) => isStateRead(c.method)) ? await prefetched : undefined;
  const results: Array<unknown | JsonRpcError> = new Array(calls.length);
  const missing: number[] = [];
  calls.forEach((call, i) => {
    const known = state?.answer(call.method, call.params) ?? headerOfCachedBlock(source, call);
    if (known !== undefined) results[i] = known;
    else missing.push(i);
  });
  try {
    if (missing.length > 0) {
      const answers = await source.batch(missing.map((i) => calls[i]!));
      missing.forEach((i, j) => {
        results[i] = calls[i]!.method === "eth_blockNumber" ? reportedHead(answers[j]) : answers[j];
        if (!(answers[j] instanceof JsonRpcError)) state?.learn(calls[i]!.method, calls[i]!.params, answers[j]);
      });
    }
  } catch (e) {
    // Retries exhausted: the fork sees a JSON-RPC error and fails the request it was serving.
    fail(e as Error);
    const error = { code: -32603, message: (e as Error).message };
    missing.forEach((i) => (results[i] = new JsonRpcError(error.message, error.code)));
  }
  const replies = requests.map((r, i) => {
    const result = results[i];
    return result instanceof JsonRpcError
      ? { jsonrpc: "2.0", id: r.id ?? null, error: { code: result.code, message: result.message, ...(result.data !== undefined ? { data: result.data } : {}) } }
      : { jsonrpc: "2.0", id: r.id ?? null, result: result ?? null };
  });
  reply(res, Array.isArray(doc) ? replies : replies[0]);
}

/**
 * EDR keeps what it reads at its fork block (in memory and in its disk cache)
 * only when the block is deeper below the remote's head than a reorg could
 * reach (128 blocks unless EDR knows the chain). Otherwise it reads the same
 * accounts and slots again for every call on the pending block: a dozen
 * requests for each observation. The front's answers at a block never
 * change (the head is pinned, and a fork reads only its fork block), so it
 * reports the head that far ahead, and a replay of the last few blocks is
 * read once, like one of an older range.
 */
const REPORTED_HEAD_MARGIN = 1024n;

function reportedHead(answer: unknown): unknown {
  return typeof answer === "string" && /^0x[0-9a-fA-F]+$/.test(answer) ? "0x" + (BigInt(answer) + REPORTED_HEAD_MARGIN).toString(16) : answer;
}

/** A block without its transactions, from the same block with them (discovery read most blocks that way). */
function headerOfCachedBlock(source: SourceRpc, call: { method: string; params: unknown[] }): unknown {
  if (call.method !== "eth_getBlockByNumber" || call.params[1] !== false) return undefined;
  const key = cacheKey("eth_getBlockByNumber", [call.params[0], true]);
  const hit = key !== undefined ? source.cache.get(key) : undefined;
  if (hit === undefined || !("result" in hit) || hit.result === null || typeof hit.result !== "object") return undefined;
  const block = hit.result as { transactions?: Array<string | { hash: string }> };
  return { ...block, transactions: (block.transactions ?? []).map((t) => (typeof t === "string" ? t : t.hash)) };
}

function reply(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
