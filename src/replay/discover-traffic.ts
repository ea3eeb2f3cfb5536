/**
 * Traffic discovery: which transactions of a block range touch the proxy
 * (or any proxy of a beacon: every method below takes the whole fleet).
 *
 * - Top-level calls: `to` is the proxy.
 * - Internal calls that made the proxy emit an event: `eth_getLogs`.
 * - Internal calls of any kind, where the source can trace: `trace_filter`
 *   (one request for the range), else `debug_traceBlockByNumber` with the
 *   callTracer (one per block), else `debug_traceTransaction` with the
 *   callTracer (one per transaction not found otherwise).
 *
 * Which of these the source supports is detected, and the result says which
 * were used and what may therefore have been missed.
 */
import { JsonRpcError } from "../chain/json-rpc.js";
import { quantity } from "../common/format.js";
import { BlueGreenError } from "../errors.js";
import { type RpcBlock, type RpcReceipt, type RpcTransaction, toBlockContext, toReceiptFacts, toTxRequest } from "./chain-data.js";
import type { ReplayMode } from "./config.js";
import type { CallFrame } from "./observe.js";
import type { SourceRpc } from "./source-rpc.js";
import type { BlockContext, DiscoveryMethod, ReceiptFacts, TrafficItem } from "./types.js";

export interface DiscoveryOptions {
  source: SourceRpc;
  /** The proxy, or every proxy of a beacon. */
  proxies: string[];
  /** Count the targets per proxy in the summary (a beacon's fleet). */
  perProxy?: boolean;
  fromBlock: number;
  toBlock: number;
  mode: ReplayMode;
  tracing: "auto" | "off";
  log?: (line: string) => void;
  /** Called with each batch of blocks as soon as it is read (the prefetch starts tracing them). */
  onBlocks?: (blocks: RpcBlock[]) => void;
}

export interface DiscoverySummary {
  /** The methods that found transactions or were searched with. */
  used: DiscoveryMethod[];
  /** Tracing methods the source does not support. */
  unavailable: string[];
  /** What the methods used cannot see; empty when every transaction was traced. */
  mayMiss: string;
  /** How many target transactions each method found (one transaction can be found by several). */
  found: Partial<Record<DiscoveryMethod, number>>;
  /** A beacon's fleet: target transactions per proxy (one that reaches several counts for each). */
  proxies?: Record<string, number>;
}

export interface DiscoveryResult {
  /** Replay order: chain order; all transactions of the range in faithful mode, the targets only in fast mode. */
  items: Array<Extract<TrafficItem, { kind: "tx" }>>;
  targets: number;
  blocks: Map<number, BlockContext>;
  realReceipts: Map<string, ReceiptFacts>;
  summary: DiscoverySummary;
}

const BLOCK_BATCH = 50;
const TRACE_BATCH = 20;
/** Addresses per eth_getLogs / trace_filter request: nodes cap the address list. */
const ADDRESS_BATCH = 100;

/** Discovers the proxy's traffic in `[fromBlock, toBlock]` and fetches what the replay needs of it. */
export async function discoverTraffic(options: DiscoveryOptions): Promise<DiscoveryResult> {
  const { source, fromBlock, toBlock } = options;
  const proxies = new Set(options.proxies.map((p) => p.toLowerCase()));
  if (toBlock < fromBlock) {
    throw new BlueGreenError("BG_REPLAY_OPTION", `--to-block ${toBlock} is before --from-block ${fromBlock}. Give a range with from <= to.`);
  }
  const rawBlocks: RpcBlock[] = [];
  for (let start = fromBlock; start <= toBlock; start += BLOCK_BATCH) {
    const numbers = range(start, Math.min(toBlock, start + BLOCK_BATCH - 1));
    const blocks = (await source.batchOrThrow(numbers.map((n) => ({ method: "eth_getBlockByNumber", params: [quantity(n), true] })))) as Array<RpcBlock | null>;
    blocks.forEach((block, i) => {
      if (block === null) {
        throw new BlueGreenError("BG_REPLAY_BLOCK_MISSING", `The source has no block ${numbers[i]} yet. Pick a range that ends at or before its head.`);
      }
      rawBlocks.push(block);
    });
    options.onBlocks?.(blocks as RpcBlock[]);
  }
  const txs = rawBlocks.flatMap((block) => (block.transactions as RpcTransaction[]).map((tx) => ({ tx, block })));
  const foundBy = new Map<string, Set<DiscoveryMethod>>();
  const reached = new Map<string, Set<string>>();
  const mark = (hash: string, method: DiscoveryMethod, proxy: string) => {
    const key = hash.toLowerCase();
    let set = foundBy.get(key);
    if (set === undefined) foundBy.set(key, (set = new Set()));
    set.add(method);
    let at = reached.get(key);
    if (at === undefined) reached.set(key, (at = new Set()));
    at.add(proxy.toLowerCase());
  };
  const used: DiscoveryMethod[] = ["to", "logs"];
  for (const { tx } of txs) if (proxies.has((tx.to ?? "").toLowerCase())) mark(tx.hash, "to", tx.to!);

  // Independent reads go out together: each is a round trip to a remote source. Faithful mode
  // replays every transaction, so their receipts are read while the proxy's are being found.
  const allReceipts = options.mode === "faithful" ? fetchReceipts(source, txs.map(({ tx, block }) => ({ hash: tx.hash.toLowerCase(), block: Number(BigInt(block.number)) }))) : undefined;
  allReceipts?.catch(() => undefined);
  const [logged, viaFilter] = await Promise.all([
    logTransactions(source, [...proxies], fromBlock, toBlock),
    options.tracing === "auto" ? traceFilter(source, proxies, fromBlock, toBlock) : Promise.resolve(undefined),
  ]);
  for (const { hash, proxy } of logged) mark(hash, "logs", proxy);

  const unavailable: string[] = [];
  let traced = false;
  if (options.tracing === "auto") {
    if (viaFilter !== undefined) {
      for (const { hash, proxy } of viaFilter) mark(hash, "trace_filter", proxy);
      used.push("trace_filter");
      traced = true;
    } else {
      unavailable.push("trace_filter");
      const unfound = txs.filter(({ tx }) => !foundBy.has(tx.hash.toLowerCase()));
      const viaBlocks = await traceBlocks(source, proxies, [...new Set(unfound.map(({ block }) => block.number))]);
      if (viaBlocks !== undefined) {
        for (const { hash, proxy } of viaBlocks) mark(hash, "debug_traceBlockByNumber", proxy);
        used.push("debug_traceBlockByNumber");
        traced = true;
      } else {
        unavailable.push("debug_traceBlockByNumber");
        const viaTxs = await traceTransactions(source, proxies, unfound.map(({ tx }) => tx.hash), options.log);
        if (viaTxs !== undefined) {
          for (const { hash, proxy } of viaTxs) mark(hash, "debug_traceTransaction", proxy);
          used.push("debug_traceTransaction");
          traced = true;
        } else unavailable.push("debug_traceTransaction (callTracer)");
      }
    }
  }

  const blocks = new Map<number, BlockContext>();
  for (const block of rawBlocks) blocks.set(Number(BigInt(block.number)), toBlockContext(block));
  const items: DiscoveryResult["items"] = [];
  let targets = 0;
  for (const { tx, block } of txs) {
    const methods = foundBy.get(tx.hash.toLowerCase());
    const target = methods !== undefined;
    if (target) targets++;
    if (!target && options.mode === "fast") continue;
    items.push({
      kind: "tx",
      hash: tx.hash.toLowerCase(),
      tx: toTxRequest(tx),
      target,
      foundBy: [...(methods ?? [])],
      block: blocks.get(Number(BigInt(block.number)))!,
    });
  }
  const realReceipts = (await allReceipts) ?? (await fetchReceipts(source, items.map((i) => ({ hash: i.hash, block: i.block!.number }))));

  const found: Partial<Record<DiscoveryMethod, number>> = {};
  for (const methods of foundBy.values()) for (const m of methods) found[m] = (found[m] ?? 0) + 1;
  const perProxy: Record<string, number> | undefined = options.perProxy === true ? Object.fromEntries([...proxies].sort().map((p) => [p, 0])) : undefined;
  if (perProxy !== undefined) for (const at of reached.values()) for (const p of at) perProxy[p] = (perProxy[p] ?? 0) + 1;
  const mayMiss = traced
    ? ""
    : options.tracing === "off"
      ? "Tracing was turned off (blueGreen.replay.tracing): transactions that reach the proxy only through another contract and make it emit no event are missed."
      : "The source supports no tracing (trace_filter, debug_traceBlockByNumber, debug_traceTransaction with callTracer): transactions that reach the proxy only through another contract and make it emit no event (a view call, a reverted call) are missed.";
  return { items, targets, blocks, realReceipts, summary: { used, unavailable, mayMiss, found, ...(perProxy !== undefined ? { proxies: perProxy } : {}) } };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

interface Reach {
  hash: string;
  /** The proxy the transaction reached. */
  proxy: string;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Transactions whose logs include one of the proxies', in chunks that shrink if the node refuses wide ranges. */
async function logTransactions(source: SourceRpc, proxies: string[], fromBlock: number, toBlock: number): Promise<Reach[]> {
  const found: Reach[] = [];
  for (const addresses of chunks(proxies, ADDRESS_BATCH)) found.push(...(await logTransactionsOf(source, addresses, fromBlock, toBlock)));
  return found;
}

async function logTransactionsOf(source: SourceRpc, addresses: string[], fromBlock: number, toBlock: number): Promise<Reach[]> {
  const found: Reach[] = [];
  let span = 10_000;
  for (let start = fromBlock; start <= toBlock; ) {
    const end = Math.min(toBlock, start + span - 1);
    try {
      const logs = (await source.request({
        method: "eth_getLogs",
        // One address stays a string: a cached request of a single proxy keeps its key.
        params: [{ address: addresses.length === 1 ? addresses[0] : addresses, fromBlock: quantity(start), toBlock: quantity(end) }],
      })) as Array<{ transactionHash: string; address: string }>;
      for (const log of logs) found.push({ hash: log.transactionHash, proxy: log.address.toLowerCase() });
      start = end + 1;
    } catch (e) {
      if (e instanceof JsonRpcError && span > 1) {
        span = Math.max(1, Math.floor(span / 4));
        continue;
      }
      throw e;
    }
  }
  return found;
}

function unsupported(e: unknown): boolean {
  return e instanceof JsonRpcError;
}

async function traceFilter(source: SourceRpc, proxies: Set<string>, fromBlock: number, toBlock: number): Promise<Reach[] | undefined> {
  const found: Reach[] = [];
  const span = 5_000;
  let first = true;
  for (const addresses of chunks([...proxies], ADDRESS_BATCH)) {
    for (let start = fromBlock; start <= toBlock; start += span) {
      const end = Math.min(toBlock, start + span - 1);
      let traces: Array<{ transactionHash?: string; action?: { to?: string } }>;
      try {
        traces = (await source.request({
          method: "trace_filter",
          params: [{ fromBlock: quantity(start), toBlock: quantity(end), toAddress: addresses }],
        })) as typeof traces;
      } catch (e) {
        if (first && unsupported(e)) return undefined;
        throw e;
      }
      first = false;
      for (const t of traces) {
        const to = (t.action?.to ?? "").toLowerCase();
        if (t.transactionHash !== undefined && proxies.has(to)) found.push({ hash: t.transactionHash, proxy: to });
      }
    }
  }
  return found;
}

/** The proxies a call tree reaches. */
function touched(frame: CallFrame | undefined, proxies: Set<string>, into: Set<string> = new Set()): Set<string> {
  if (frame === undefined) return into;
  const to = (frame.to ?? "").toLowerCase();
  if (proxies.has(to)) into.add(to);
  for (const c of frame.calls ?? []) touched(c, proxies, into);
  return into;
}

async function traceBlocks(source: SourceRpc, proxies: Set<string>, blockNumbers: string[]): Promise<Reach[] | undefined> {
  const hashes: Reach[] = [];
  for (let i = 0; i < blockNumbers.length; i += TRACE_BATCH) {
    const chunk = blockNumbers.slice(i, i + TRACE_BATCH);
    const results = await source.batch(chunk.map((n) => ({ method: "debug_traceBlockByNumber", params: [n, { tracer: "callTracer" }] })));
    for (const result of results) {
      if (result instanceof JsonRpcError) {
        if (i === 0 && hashes.length === 0) return undefined;
        throw new BlueGreenError("BG_REPLAY_SOURCE_FAILED", `The source failed to trace a block: ${result.message}`);
      }
      for (const entry of result as Array<{ txHash?: string; result?: CallFrame }>) {
        if (entry.txHash !== undefined) for (const proxy of touched(entry.result, proxies)) hashes.push({ hash: entry.txHash, proxy });
      }
    }
  }
  return hashes;
}

async function traceTransactions(
  source: SourceRpc,
  proxies: Set<string>,
  txHashes: string[],
  log?: (line: string) => void,
): Promise<Reach[] | undefined> {
  const hashes: Reach[] = [];
  if (txHashes.length > 200) log?.(`tracing ${txHashes.length} transactions one by one to find internal calls (the source has no trace_filter)`);
  for (let i = 0; i < txHashes.length; i += TRACE_BATCH) {
    const chunk = txHashes.slice(i, i + TRACE_BATCH);
    const results = await source.batch(chunk.map((h) => ({ method: "debug_traceTransaction", params: [h, { tracer: "callTracer" }] })));
    for (let j = 0; j < results.length; j++) {
      const result = results[j];
      if (result instanceof JsonRpcError) {
        if (i === 0 && j === 0) return undefined;
        throw new BlueGreenError("BG_REPLAY_SOURCE_FAILED", `The source failed to trace ${chunk[j]}: ${result.message}`);
      }
      for (const proxy of touched(result as CallFrame, proxies)) hashes.push({ hash: chunk[j]!, proxy });
    }
  }
  // With nothing to trace, the capability is unknown but nothing was missed.
  return hashes;
}

/** Real receipts, by block where the source has `eth_getBlockReceipts`, else one by one. */
export async function fetchReceipts(
  source: SourceRpc,
  txs: Array<{ hash: string; block: number }>,
): Promise<Map<string, ReceiptFacts>> {
  const receipts = new Map<string, ReceiptFacts>();
  const wanted = new Set(txs.map((t) => t.hash));
  const blockNumbers = [...new Set(txs.map((t) => t.block))];
  let byBlock = blockNumbers.length > 0;
  for (let i = 0; byBlock && i < blockNumbers.length; i += BLOCK_BATCH) {
    const chunk = blockNumbers.slice(i, i + BLOCK_BATCH);
    const results = await source.batch(chunk.map((n) => ({ method: "eth_getBlockReceipts", params: [quantity(n)] })));
    for (const result of results) {
      if (result instanceof JsonRpcError || !Array.isArray(result)) {
        byBlock = false;
        break;
      }
      for (const receipt of result as RpcReceipt[]) {
        const hash = receipt.transactionHash.toLowerCase();
        if (wanted.has(hash)) receipts.set(hash, toReceiptFacts(receipt));
      }
    }
  }
  const missing = txs.filter((t) => !receipts.has(t.hash));
  for (let i = 0; i < missing.length; i += BLOCK_BATCH) {
    const chunk = missing.slice(i, i + BLOCK_BATCH);
    const results = await source.batch(chunk.map((t) => ({ method: "eth_getTransactionReceipt", params: [t.hash] })));
    results.forEach((result, j) => {
      if (result instanceof JsonRpcError) throw new BlueGreenError("BG_REPLAY_SOURCE_FAILED", `The source failed to return the receipt of ${chunk[j]!.hash}: ${result.message}`);
      if (result !== null) receipts.set(chunk[j]!.hash, toReceiptFacts(result as RpcReceipt));
    });
  }
  return receipts;
}
