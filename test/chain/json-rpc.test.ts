/**
 * The one JSON-RPC client against a scripted local HTTP server: which faults
 * it retries, what it throws once the retries are spent, that a node's error
 * answer reaches the caller as it was sent, and what it counts. No timing
 * is asserted beyond "it finished" or "it failed": the machine is shared.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { expect } from "chai";

import { JsonRpcClient, JsonRpcError, RpcTransportError } from "../../src/chain/json-rpc.js";
import { BlueGreenError } from "../../src/errors.js";

type Reply = { status?: number; body?: unknown; delayMs?: number; headers?: Record<string, string> };
type Handler = (body: any, attempt: number) => Reply;

async function scriptedNode(handler: Handler): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
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
    requests: () => attempt,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ok = (body: any, result: unknown): Reply => ({
  body: Array.isArray(body) ? body.map((b) => ({ jsonrpc: "2.0", id: b.id, result })) : { jsonrpc: "2.0", id: body.id, result },
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected the request to fail"),
    (e: unknown) => e,
  );
}

describe("the JSON-RPC client", function () {
  this.timeout(20_000);

  it("gives up on an endpoint that does not answer in time, with BG_RPC_TIMEOUT", async () => {
    const node = await scriptedNode((body) => ({ delayMs: 2_000, ...ok(body, "0x1") }));
    try {
      const rpc = new JsonRpcClient({ url: node.url, timeoutMs: 100, retries: 1, baseDelayMs: 1 });
      const error = await failure(rpc.request({ method: "eth_blockNumber" }));
      expect(BlueGreenError.is(error, "BG_RPC_TIMEOUT")).to.equal(true);
      expect((error as Error).message).to.match(/did not answer eth_blockNumber after 2 attempts: timed out after 100 ms/);
      expect(rpc.stats.retries).to.equal(1);
    } finally {
      await node.close();
    }
  });

  it("retries after a timeout, then succeeds", async () => {
    const node = await scriptedNode((body, attempt) => (attempt === 0 ? { delayMs: 2_000, ...ok(body, "0x1") } : ok(body, "0x2")));
    try {
      const rpc = new JsonRpcClient({ url: node.url, timeoutMs: 200, baseDelayMs: 1 });
      expect(await rpc.request({ method: "eth_blockNumber" })).to.equal("0x2");
    } finally {
      await node.close();
    }
  });

  it("waits as long as Retry-After says after HTTP 429, not its own backoff, then succeeds", async () => {
    const node = await scriptedNode((body, attempt) => (attempt === 0 ? { status: 429, headers: { "retry-after": "0" } } : ok(body, "0x7a69")));
    try {
      // A backoff of 10 minutes: the request can only finish within the test's timeout if Retry-After is honoured.
      const rpc = new JsonRpcClient({ url: node.url, baseDelayMs: 600_000, maxDelayMs: 600_000 });
      expect(await rpc.request({ method: "eth_chainId" })).to.equal("0x7a69");
      expect(node.requests()).to.equal(2);
      expect(rpc.stats.retries).to.equal(1);
    } finally {
      await node.close();
    }
  });

  it("retries HTTP 500, then succeeds", async () => {
    const node = await scriptedNode((body, attempt) => (attempt === 0 ? { status: 500 } : ok(body, "0x5")));
    try {
      const rpc = new JsonRpcClient({ url: node.url, baseDelayMs: 1 });
      expect(await rpc.request({ method: "eth_blockNumber" })).to.equal("0x5");
      expect(node.requests()).to.equal(2);
    } finally {
      await node.close();
    }
  });

  it("throws a coded error naming the endpoint without its API key once the retry budget is spent", async () => {
    const node = await scriptedNode(() => ({ status: 503 }));
    try {
      const rpc = new JsonRpcClient({ url: `${node.url}/v2/abcdef0123456789abcdef?apikey=s3cret`, baseDelayMs: 1, retries: 2, name: "source RPC" });
      const error = await failure(rpc.request({ method: "eth_getBlockByNumber", params: ["0x1", true] }));
      expect(error).to.be.instanceOf(RpcTransportError);
      expect(BlueGreenError.is(error, "BG_RPC_HTTP")).to.equal(true);
      expect((error as RpcTransportError).attempts).to.equal(3);
      expect((error as Error).message).to.match(/The source RPC http:\/\/127\.0\.0\.1:\d+\/v2\/\*\*\* did not answer eth_getBlockByNumber after 3 attempts: HTTP 503/);
      expect((error as Error).message).to.not.include("abcdef0123456789abcdef");
      expect((error as Error).message).to.not.include("s3cret");
      expect(node.requests()).to.equal(3);
    } finally {
      await node.close();
    }
  });

  it("says BG_RPC_RATE_LIMITED when the endpoint keeps rate-limiting, in HTTP or in JSON-RPC", async () => {
    const node = await scriptedNode((body, attempt) =>
      attempt % 2 === 0 ? { status: 429 } : { body: { jsonrpc: "2.0", id: body.id, error: { code: -32005, message: "rate limit exceeded" } } },
    );
    try {
      const rpc = new JsonRpcClient({ url: node.url, baseDelayMs: 1, retries: 3 });
      const error = await failure(rpc.request({ method: "eth_call", params: [{}, "latest"] }));
      expect(BlueGreenError.is(error, "BG_RPC_RATE_LIMITED")).to.equal(true);
      expect(node.requests()).to.equal(4);
    } finally {
      await node.close();
    }
  });

  it("says BG_RPC_UNREACHABLE when nothing listens", async () => {
    const node = await scriptedNode((body) => ok(body, "0x1"));
    const url = node.url;
    await node.close();
    const rpc = new JsonRpcClient({ url, baseDelayMs: 1, retries: 1 });
    const error = await failure(rpc.request({ method: "eth_chainId" }));
    expect(BlueGreenError.is(error, "BG_RPC_UNREACHABLE")).to.equal(true);
  });

  it("passes a node's JSON-RPC error through with its code and data, without retrying it", async () => {
    const data = "0x08c379a00000000000000000000000000000000000000000000000000000000000000020";
    const node = await scriptedNode((body) => ({ body: { jsonrpc: "2.0", id: body.id, error: { code: 3, message: "execution reverted", data } } }));
    try {
      const rpc = new JsonRpcClient({ url: node.url, baseDelayMs: 1 });
      const error = await failure(rpc.request({ method: "eth_call", params: [{}, "latest"] }));
      expect(error).to.be.instanceOf(JsonRpcError);
      expect(BlueGreenError.is(error)).to.equal(false);
      expect((error as JsonRpcError).code).to.equal(3);
      expect((error as JsonRpcError).data).to.equal(data);
      expect((error as JsonRpcError).message).to.equal("execution reverted");
      expect(node.requests()).to.equal(1);
    } finally {
      await node.close();
    }
  });

  it("counts the calls it sends, in total and per method, a batch counting each call", async () => {
    const node = await scriptedNode((body) => ok(body, "0x1"));
    try {
      const rpc = new JsonRpcClient({ url: node.url });
      const results = await rpc.batch([
        { method: "eth_getBalance", params: ["0x0000000000000000000000000000000000000001", "0x1"] },
        { method: "eth_getBalance", params: ["0x0000000000000000000000000000000000000002", "0x1"] },
        { method: "eth_blockNumber", params: [] },
      ]);
      expect(results).to.deep.equal(["0x1", "0x1", "0x1"]);
      await rpc.request({ method: "eth_chainId" });
      expect(rpc.stats.calls).to.equal(4);
      expect(rpc.stats.httpRequests).to.equal(2);
      expect(rpc.stats.byMethod).to.deep.equal({ eth_getBalance: 2, eth_blockNumber: 1, eth_chainId: 1 });
      expect(node.requests()).to.equal(2);
    } finally {
      await node.close();
    }
  });

  it("wraps another EIP-1193 provider: retries its faults, passes its answers through", async () => {
    let calls = 0;
    const revert = Object.assign(new Error("execution reverted"), { code: 3, data: "0x" });
    const provider = {
      request: async ({ method }: { method: string }) => {
        calls++;
        if (method === "eth_call") throw revert;
        if (calls === 1) throw new Error("socket hang up");
        return "0x9";
      },
    };
    const rpc = new JsonRpcClient({ provider, baseDelayMs: 1, retries: 2 });
    expect(await rpc.request({ method: "eth_blockNumber" })).to.equal("0x9");
    expect(calls).to.equal(2);
    expect(await failure(rpc.request({ method: "eth_call", params: [{}, "latest"] }))).to.equal(revert);
    expect(calls).to.equal(3);
  });
});
