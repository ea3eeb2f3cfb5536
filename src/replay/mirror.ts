/**
 * `bg:mirror`: a local JSON-RPC tee. It forwards every request to the
 * upstream node byte for byte and streams the upstream's answer back
 * unchanged; only after forwarding does it look at the request, and it
 * appends the `eth_sendRawTransaction` and `eth_call` requests that touch
 * the proxy to a capture file (see capture-file.ts).
 *
 * "Touch" is decided without asking anyone: the call or transaction is to
 * the proxy, or its calldata carries the proxy's address as an ABI word (a
 * router's `swap(token, ...)`, a vault's `deposit` through a zap...).
 *
 * The forwarding is a raw HTTP proxy, not the chain's JSON-RPC client: the
 * wallet or bot behind the mirror must get the upstream's bytes, status and
 * headers exactly, batches and errors included, and nothing retried twice
 * (a retried eth_sendRawTransaction is the client's decision, not ours).
 *
 * Lines are written in arrival order and flushed to disk (fsync) as they
 * come, batched when traffic is heavy; `stop()` flushes what is left, so
 * stopping the mirror (Ctrl-C) never loses a line.
 */
import { open, type FileHandle } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";

import { JsonRpcClient, RpcTransportError } from "../chain/json-rpc.js";
import { redactUrl } from "../chain/redact-url.js";
import { addressProblem, checksumMessage } from "../common/address.js";
import { BlueGreenError } from "../errors.js";
import { formatCaptureLine, type CaptureLine } from "./capture-file.js";
import { txRequestFromRaw } from "./chain-data.js";

export interface MirrorOptions {
  /** The node to forward to. */
  upstream: string;
  proxy: string;
  /** The capture file; appended to, created if missing. */
  out: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** How often the chain head is polled (for the blockNumber of each line). Default 2000 ms. */
  headPollMs?: number;
}

export interface MirrorStats {
  requests: number;
  captured: number;
  /** eth_sendTransaction requests to the proxy: the node signs those, so no raw transaction crosses the mirror to capture. */
  unsigned: number;
}

export interface Mirror {
  url: string;
  port: number;
  stats: MirrorStats;
  /** Stops accepting, waits for requests in flight, flushes the capture file. */
  stop(): Promise<void>;
}

interface JsonRpcRequest {
  method?: unknown;
  params?: unknown;
}

/** Starts the tee. Resolves once it listens (and the upstream answered once). */
export async function startMirror(options: MirrorOptions): Promise<Mirror> {
  let upstream: URL;
  try {
    upstream = new URL(options.upstream);
  } catch {
    throw new BlueGreenError("BG_REPLAY_MIRROR_OPTION", `--upstream "${options.upstream}" is not a URL. Pass the http(s) URL of the node to forward to, e.g. --upstream http://127.0.0.1:8545.`);
  }
  if (upstream.protocol !== "http:" && upstream.protocol !== "https:") {
    throw new BlueGreenError("BG_REPLAY_MIRROR_OPTION", `--upstream "${redactUrl(options.upstream)}" is not an http(s) URL. Pass the http(s) URL of the node to forward to.`);
  }
  const problem = addressProblem(options.proxy.trim());
  if (problem === "checksum") throw new BlueGreenError("BG_REPLAY_MIRROR_OPTION", checksumMessage(options.proxy, "--proxy"));
  if (problem !== undefined) {
    throw new BlueGreenError("BG_REPLAY_MIRROR_OPTION", `--proxy "${options.proxy}" is not an address. Pass the proxy's 0x-prefixed address.`);
  }
  const proxy = options.proxy.trim().toLowerCase();
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    throw new BlueGreenError("BG_REPLAY_MIRROR_OPTION", `--port ${options.port} is not a TCP port. Pass a whole number from 1 to 65535 (or 0 for any free port).`);
  }
  // Open the capture file first: a file that cannot be written must stop the mirror before it forwards anything.
  const file = await open(options.out, "a").catch((e: NodeJS.ErrnoException) => {
    throw new BlueGreenError("BG_REPLAY_CAPTURE_WRITE", `Cannot write the capture file ${options.out} (${e.code ?? e.message}). Check that its folder exists and is writable, or pass another --out.`);
  });
  const proxyWord = proxy.slice(2).padStart(64, "0");
  const upstreamRpc = new JsonRpcClient({ url: options.upstream, timeoutMs: 10_000, retries: 0, name: "upstream" });
  let head = await readHead(upstreamRpc).catch(async (e: Error) => {
    await file.close();
    const why = e instanceof RpcTransportError ? e.reason : e.message;
    throw new BlueGreenError("BG_REPLAY_MIRROR_UPSTREAM", `The upstream ${redactUrl(options.upstream)} does not answer eth_blockNumber (${why}). Check --upstream.`);
  });
  const poll = setInterval(() => {
    readHead(upstreamRpc).then(
      (n) => (head = Math.max(head, n)),
      () => undefined,
    );
  }, options.headPollMs ?? 2000);
  poll.unref();

  const writer = new LineWriter(file);
  const stats: MirrorStats = { requests: 0, captured: 0, unsigned: 0 };
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const capture = (body: Buffer) => {
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString("utf8"));
    } catch {
      return;
    }
    const at = new Date().toISOString();
    for (const req of (Array.isArray(doc) ? doc : [doc]) as JsonRpcRequest[]) {
      if (req.method === "eth_sendTransaction" && sentTo(req) === proxy) stats.unsigned++;
      const line = toCaptureLine(req, { proxy, proxyWord, head, at });
      if (line !== undefined) {
        stats.captured++;
        writer.append(formatCaptureLine(line));
      }
    }
  };

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    inFlight++;
    const chunks: Buffer[] = [];
    const headers = { ...req.headers, host: upstream.host };
    delete headers.connection;
    const send = upstream.protocol === "https:" ? httpsRequest : httpRequest;
    const up = send(
      upstream,
      { method: req.method, headers, path: upstream.pathname + upstream.search },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on("error", (e) => {
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32603, message: `bg:mirror: upstream unreachable: ${e.message}` } }));
      } else res.destroy(e);
    });
    req.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      up.write(chunk);
    });
    req.on("end", () => {
      up.end();
      // The request is on its way; now look at it.
      capture(Buffer.concat(chunks));
    });
    res.on("close", () => {
      inFlight--;
      if (inFlight === 0) idle?.();
    });
  };

  const server = createServer(forward);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "EADDRINUSE"
          ? new BlueGreenError("BG_REPLAY_MIRROR_PORT_IN_USE", `Port ${options.port} is in use. Pick another with --port.`)
          : e,
      ),
    );
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    stats,
    stop: async () => {
      clearInterval(poll);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((resolve) => (idle = resolve)), new Promise((r) => setTimeout(r, 5_000))]);
      }
      server.closeAllConnections();
      await closed;
      await writer.close();
    },
  };
}

/** The capture line for one JSON-RPC request, or undefined when it does not touch the proxy. */
export function toCaptureLine(
  req: JsonRpcRequest,
  ctx: { proxy: string; proxyWord: string; head: number; at: string },
): CaptureLine | undefined {
  const params = Array.isArray(req.params) ? req.params : [];
  const touches = (to: unknown, data: unknown) =>
    (typeof to === "string" && to.toLowerCase() === ctx.proxy) ||
    (typeof data === "string" && data.toLowerCase().includes(ctx.proxyWord));
  if (req.method === "eth_sendRawTransaction" && typeof params[0] === "string") {
    let decoded;
    try {
      decoded = txRequestFromRaw(params[0]);
    } catch {
      return undefined;
    }
    if (!touches(decoded.tx.to, decoded.tx.data)) return undefined;
    return { kind: "tx", raw: params[0], blockNumber: ctx.head, at: ctx.at };
  }
  if (req.method === "eth_call" && params[0] !== null && typeof params[0] === "object") {
    const call = params[0] as { from?: unknown; to?: unknown; data?: unknown; input?: unknown; value?: unknown; gas?: unknown };
    const data = typeof call.data === "string" ? call.data : typeof call.input === "string" ? call.input : "0x";
    if (typeof call.to !== "string" || !touches(call.to, data)) return undefined;
    const tag = params[1];
    const blockNumber = typeof tag === "string" && /^0x[0-9a-fA-F]+$/.test(tag) ? Number(BigInt(tag)) : ctx.head;
    return {
      kind: "call",
      ...(typeof call.from === "string" ? { from: call.from.toLowerCase() } : {}),
      to: call.to.toLowerCase(),
      data,
      ...(typeof call.value === "string" ? { value: call.value } : {}),
      ...(typeof call.gas === "string" ? { gas: call.gas } : {}),
      blockNumber,
      at: ctx.at,
    };
  }
  return undefined;
}

async function readHead(upstream: JsonRpcClient): Promise<number> {
  const result = await upstream.request({ method: "eth_blockNumber" });
  if (typeof result !== "string") throw new Error(`eth_blockNumber answered ${JSON.stringify(result)}`);
  return Number(BigInt(result));
}

/**
 * Appends lines in order and makes them durable: each batch of waiting lines
 * is written and fsynced before the next, so a burst costs one fsync.
 */
class LineWriter {
  private waiting: string[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly file: FileHandle) {}

  append(line: string): void {
    this.waiting.push(line + "\n");
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.join("");
      this.waiting = [];
      await this.file.write(batch);
      await this.file.datasync();
    }
    this.flushing = undefined;
  }

  async close(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    await this.file.sync();
    await this.file.close();
  }
}

/** The `to` of an `eth_sendTransaction` request, lower-case. */
function sentTo(req: JsonRpcRequest): string | undefined {
  const tx = Array.isArray(req.params) ? (req.params[0] as { to?: unknown } | undefined) : undefined;
  return typeof tx?.to === "string" ? tx.to.toLowerCase() : undefined;
}
