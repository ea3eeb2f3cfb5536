/**
 * Reads the chain block by block for the monitor: the confirmed head, block
 * digests for a range, and where a reorg forked off what was processed.
 *
 * A range is read as one consistent piece of chain: every block's parent is
 * the block before it, and every log belongs to the block of that number as
 * read. If the chain moves under the read, `ChainMovedError` is thrown and
 * nothing of the range is used; the next step re-reads it.
 */
import { quantity as hex } from "../common/format.js";
import { type BlockDigest, type RpcBlock, type RpcLog, type RpcReceipt, type WatchSet, digestBlock, directTransactions } from "./block-digest.js";
import type { RpcClient } from "./rpc-client.js";

export class ChainMovedError extends Error {}

/** Latest block number, and the highest one with `confirmations` blocks on top. */
export async function readHead(rpc: RpcClient, confirmations: number): Promise<{ head: number; confirmed: number }> {
  const head = Number(await rpc.request<string>("eth_blockNumber"));
  return { head, confirmed: head - confirmations };
}

/** A block header (no transactions); undefined when the node does not have it (yet). */
export async function readHeader(rpc: RpcClient, n: number): Promise<RpcBlock | undefined> {
  const block = await rpc.request<RpcBlock | null>("eth_getBlockByNumber", [hex(n), false]);
  return block ?? undefined;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * Digests of blocks `from..to` (inclusive). `parentOfFrom` is the hash the
 * first block must build on (the last processed block's), when known.
 */
export async function readDigests(
  rpc: RpcClient,
  from: number,
  to: number,
  watch: WatchSet,
  parentOfFrom: string | undefined,
  concurrency = 8,
): Promise<BlockDigest[]> {
  if (to < from) return [];
  const numbers = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const addresses = [...watch.entries()].filter(([, first]) => first <= to).map(([a]) => a);
  const [blocks, logs] = await Promise.all([
    mapLimit(numbers, concurrency, async (n) => {
      const block = await rpc.request<RpcBlock | null>("eth_getBlockByNumber", [hex(n), true]);
      if (block === null) throw new ChainMovedError(`block ${n} is not available yet`);
      return block;
    }),
    addresses.length === 0
      ? Promise.resolve([] as RpcLog[])
      : rpc.request<RpcLog[]>("eth_getLogs", [{ fromBlock: hex(from), toBlock: hex(to), address: addresses }]),
  ]);

  let parent = parentOfFrom;
  for (const block of blocks) {
    if (parent !== undefined && block.parentHash.toLowerCase() !== parent.toLowerCase()) {
      throw new ChainMovedError(`block ${Number(block.number)} does not build on ${parent}: the chain reorganised while it was read`);
    }
    parent = block.hash;
  }
  const byNumber = new Map(blocks.map((b) => [Number(b.number), b]));
  const logsByBlock = new Map<number, RpcLog[]>();
  for (const log of logs) {
    const n = Number(log.blockNumber);
    const block = byNumber.get(n);
    if (block === undefined || block.hash.toLowerCase() !== log.blockHash.toLowerCase()) {
      throw new ChainMovedError(`a log of block ${n} belongs to another version of that block: the chain reorganised while it was read`);
    }
    const list = logsByBlock.get(n) ?? [];
    list.push(log);
    logsByBlock.set(n, list);
  }

  const direct = blocks.flatMap((b) => directTransactions(b, watch));
  const receiptList = await mapLimit(direct, concurrency, async (tx) => {
    const receipt = await rpc.request<(RpcReceipt & { blockHash: string }) | null>("eth_getTransactionReceipt", [tx.hash]);
    if (receipt === null) throw new ChainMovedError(`the receipt of ${tx.hash} is gone: the chain reorganised while it was read`);
    return receipt;
  });
  const receipts = new Map(receiptList.map((r) => [r.transactionHash, r]));
  return blocks.map((b) => digestBlock(b, receipts, logsByBlock.get(Number(b.number)) ?? [], watch));
}

/**
 * The highest processed block still on the canonical chain, checking from
 * the newest down. Undefined when none of `processed` is (a reorg deeper
 * than what was kept).
 */
export async function findForkPoint(rpc: RpcClient, processed: Array<{ n: number; hash: string }>): Promise<number | undefined> {
  for (let i = processed.length - 1; i >= 0; i--) {
    const { n, hash } = processed[i]!;
    const onChain = await readHeader(rpc, n);
    if (onChain !== undefined && onChain.hash.toLowerCase() === hash.toLowerCase()) return n;
  }
  return undefined;
}
