/**
 * The source client against a scripted HTTP server (a unit test: the real
 * nodes are in twin-replay.test.ts): retries with backoff on rate limits and
 * timeouts, a clear failure after the last retry, the cache, batches.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { JsonRpcError } from "../../src/chain/json-rpc.js";
import { isUserFacingError } from "../../src/errors.js";
import { cacheKey, RpcCache } from "../../src/replay/rpc-cache.js";
import { SourceRpc } from "../../src/replay/source-rpc.js";

type Handler = (body: any, attempt: number) => { status?: number; body?: unknown; delayMs?: number; headers?: Record<string, string> };

async function scriptedNode(handler: Handler): Promise<{ url: string; calls: () => number; close: () => Promise<void> }> {
  let attempt = 0;
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (d: Buffer) => (text += d.toString()));
    req.on("end", () => {
      const reply = handler(JSON.parse(text), attempt++);
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
        res.end(JSON.stringify(reply.body ?? null));
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => attempt,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ok = (body: any, result: unknown) => ({ body: Array.isArray(body) ? body.map((b) => ({ jsonrpc: "2.0", id: b.id, result })) : { jsonrpc: "2.0", id: body.id, result } });

describe("the source RPC client", function () {
  it("retries a rate-limited request with backoff, then succeeds", async () => {
    const node = await scriptedNode((body, attempt) => (attempt < 2 ? { status: 429, headers: { "retry-after": "0" } } : ok(body, "0x7a69")));
    try {
      const rpc = new SourceRpc({ url: node.url, baseDelayMs: 1 });
      expect(await rpc.request({ method: "eth_chainId" })).to.equal("0x7a69");
      expect(node.calls()).to.equal(3);
      expect(rpc.stats.retries).to.equal(2);
    } finally {
      await node.close();
    }
  });

  it("retries JSON-RPC rate-limit errors and timeouts", async () => {
    const node = await scriptedNode((body, attempt) =>
      attempt === 0
        ? { body: { jsonrpc: "2.0", id: body.id, error: { code: -32005, message: "rate limit exceeded" } } }
        : attempt === 1
          ? { delayMs: 500, ...ok(body, "0x1") }
          : ok(body, "0x2"),
    );
    try {
      const rpc = new SourceRpc({ url: node.url, baseDelayMs: 1, timeoutMs: 100 });
      expect(await rpc.request({ method: "eth_blockNumber" })).to.equal("0x2");
      expect(rpc.stats.retries).to.equal(2);
    } finally {
      await node.close();
    }
  });

  it("fails with a message that says what to do once the retries are spent", async () => {
    const node = await scriptedNode(() => ({ status: 503 }));
    try {
      const rpc = new SourceRpc({ url: node.url + "/v2/abcdef0123456789abcdef", baseDelayMs: 1, retries: 2 });
      const error = await rpc.request({ method: "eth_getBlockByNumber", params: ["0x1", true] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isUserFacingError(error)).to.equal(true);
      expect((error as Error).message).to.match(/did not answer eth_getBlockByNumber after 3 attempts: HTTP 503/);
      expect((error as Error).message).to.match(/run the replay again/);
      expect((error as Error).message).to.not.include("abcdef0123456789abcdef");
      expect(node.calls()).to.equal(3);
    } finally {
      await node.close();
    }
  });

  it("passes JSON-RPC errors through without retrying them", async () => {
    const node = await scriptedNode((body) => ({ body: { jsonrpc: "2.0", id: body.id, error: { code: -32000, message: "execution reverted" } } }));
    try {
      const rpc = new SourceRpc({ url: node.url, baseDelayMs: 1 });
      const error = await rpc.request({ method: "eth_call", params: [{}, "latest"] }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(JsonRpcError);
      expect(node.calls()).to.equal(1);
    } finally {
      await node.close();
    }
  });

  it("answers requests about pinned blocks from the cache, on disk, and sends batches", async () => {
    const node = await scriptedNode((body) => ok(body, { number: "0x5" }));
    const dir = await mkdtemp(path.join(tmpdir(), "bg-rpc-cache-"));
    try {
      const first = new SourceRpc({ url: node.url, cache: await RpcCache.open(dir, node.url) });
      const results = await first.batchOrThrow([
        { method: "eth_getBlockByNumber", params: ["0x5", false] },
        { method: "eth_getBlockByNumber", params: ["0x6", false] },
        { method: "eth_getBlockByNumber", params: ["latest", false] },
      ]);
      expect(results).to.have.length(3);
      expect(node.calls()).to.equal(1);
      expect(first.stats.calls).to.equal(3);
      await first.cache.flush();

      const second = new SourceRpc({ url: node.url, cache: await RpcCache.open(dir, node.url) });
      await second.request({ method: "eth_getBlockByNumber", params: ["0x5", false] });
      await second.request({ method: "eth_getBlockByNumber", params: ["0x6", false] });
      expect(second.stats.calls).to.equal(0);
      await second.request({ method: "eth_getBlockByNumber", params: ["latest", false] });
      expect(second.stats.calls).to.equal(1);
    } finally {
      await node.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps a large answer in a file of its own, not in memory, and reads it back (in this process and the next)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "bg-rpc-cache-"));
    try {
      const cache = await RpcCache.open(dir, "http://source.example");
      const block = { number: "0x7", transactions: Array.from({ length: 40 }, (_, i) => ({ hash: "0x" + i.toString(16).padStart(64, "0"), input: "0x" + "ab".repeat(68) })) };
      cache.put("big", { result: block });
      cache.put("small", { result: "0x1" });
      await cache.flush();
      const jsonl = await readFile(path.join(dir, (await readdir(dir)).find((f) => f.endsWith(".jsonl"))!), "utf8");
      // The line names the file; the block itself is not in the lines, nor (once written) in memory.
      expect(jsonl).to.not.include("ab".repeat(68));
      expect(jsonl).to.include('"k":"small","a":{"result":"0x1"}');
      const answers = (await readdir(dir)).find((f) => f.endsWith(".answers"))!;
      expect(await readdir(path.join(dir, answers))).to.have.length(1);
      expect(cache.get("big")).to.deep.equal({ result: block });
      const next = await RpcCache.open(dir, "http://source.example");
      expect(next.get("big")).to.deep.equal({ result: block });
      expect(next.get("small")).to.deep.equal({ result: "0x1" });
      // A file removed by hand is a miss, asked again, not an error.
      await rm(path.join(dir, answers), { recursive: true });
      expect(next.get("big")).to.equal(undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("knows which requests cannot change", () => {
    expect(cacheKey("eth_getStorageAt", ["0x1", "0x0", "0x10"])).to.be.a("string");
    expect(cacheKey("eth_getStorageAt", ["0x1", "0x0", "latest"])).to.equal(undefined);
    expect(cacheKey("eth_getLogs", [{ fromBlock: "0x1", toBlock: "0x2" }])).to.be.a("string");
    expect(cacheKey("eth_getLogs", [{ fromBlock: "0x1", toBlock: "latest" }])).to.equal(undefined);
    expect(cacheKey("eth_blockNumber", [])).to.equal(undefined);
    expect(cacheKey("eth_blockNumber", [], { pinHead: true })).to.be.a("string");
    expect(cacheKey("eth_sendRawTransaction", ["0x00"])).to.equal(undefined);
  });
});
